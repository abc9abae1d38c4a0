"""Fixtures of the example scenarios (examples/<system>/rules.yaml): a test module names its
example in ``EXAMPLE`` and gets the local stack serving that rules file for the whole module
(one switch, no stack restart), the bundled rules again afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gamification import runtime
from gamification.domain.rules import Rules, load_rules

from ..conftest import Environments

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def example_rules_file(name: str) -> Path:
    """``examples/<name>/rules.yaml``."""
    return EXAMPLES / name / "rules.yaml"


@pytest.fixture(scope="module")
def example_rules(request: Any, local_api: Any, streams: Any) -> Iterator[Rules]:
    """Serve the module's ``EXAMPLE`` rules from every execution environment of the local
    stack (and from this process's engine, for use cases a test calls directly). The stream
    is drained before and after, so board and inbox projections of other modules' tenants
    are made under their own rules."""
    rules = load_rules(example_rules_file(request.module.EXAMPLE))
    engine = runtime.engine()
    original = engine.rules
    environments = Environments(local_api)
    streams.wait_until_drained(timeout=300)
    engine.rules = rules
    environments.call("tests.environment_hooks:use_rules", rules)
    try:
        yield rules
    finally:
        streams.wait_until_drained(timeout=300)
        engine.rules = original
        environments.reset()
