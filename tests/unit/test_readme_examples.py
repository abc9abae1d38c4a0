"""The README's response examples are what the engine answers: each is replayed here on the
in-memory store with the bundled rules and compared field by field (the README shortens ids
to their first characters and lists with a trailing ``"…"``)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from gamification.api.reversal_models import ReversalRequest
from gamification.api.models import AwardXpRequest
from gamification.dal import keys
from gamification.domain.rules import load_rules
from gamification.usecases.engine import Engine
from gamification.usecases.ledger import Ledger

README = Path(__file__).resolve().parents[2] / "README.md"
ELIDED = "…"


def example_after(marker: str) -> Any:
    """The first ```json block of the README after the line containing ``marker``."""
    lines = README.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if marker in line)
    begin = next(i for i in range(start, len(lines)) if lines[i].strip() == "```json")
    end = next(i for i in range(begin + 1, len(lines)) if lines[i].strip() == "```")
    return json.loads("\n".join(lines[begin + 1 : end]))


def assert_shows(example: Any, real: Any, path: str = "") -> None:
    """``example`` is ``real`` as the README shows it: the same keys and values, an id cut
    to a prefix ending in "…", a list cut by a final "…" item."""
    if isinstance(example, dict):
        assert isinstance(real, dict) and set(example) == set(real), (path, sorted(example), sorted(real))
        for k in example:
            assert_shows(example[k], real[k], f"{path}.{k}")
    elif isinstance(example, list):
        shown = example[:-1] if example and example[-1] == ELIDED else example
        assert isinstance(real, list) and len(shown) <= len(real), path
        if shown is example:
            assert len(example) == len(real), path
        for i, item in enumerate(shown):
            assert_shows(item, real[i], f"{path}[{i}]")
    elif isinstance(example, str) and example.endswith(ELIDED):
        assert isinstance(real, str) and real.startswith(example[: -len(ELIDED)]), (path, example, real)
    else:
        assert example == real, (path, example, real)


def test_the_reversal_example_is_a_reversal_response(store):
    """alice earns 50 XP twice (level 2, 10 bonus coins); the second award is reversed."""
    now = datetime(2026, 11, 21, 9, 30, tzinfo=timezone.utc)
    engine = Engine(load_rules(None), store, now=lambda: now, max_attempts=5, retry_budget_s=5)
    for _ in range(2):
        engine.award_xp("game", "alice", AwardXpRequest(action="paid_char_sold"), None)
    pk = keys.user_pk("game", "alice")
    last = max(sk for (p, sk) in store.items if p == pk and sk.startswith("XP#"))
    real = Ledger(engine).reverse("game", "alice", keys.entry_id(last), ReversalRequest(reason="fraud"), None).body
    assert_shows(example_after("/reversal -H"), real)
