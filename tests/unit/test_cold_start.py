"""Cold start: what a function's import and the process settings load (module sets, never
wall-clock times; the times are measured by ``make bench``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from gamification import settings

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "common" / "python"

_LOADED = """
import importlib.util, json, sys
sys.path.insert(0, {layer!r})
spec = importlib.util.spec_from_file_location("app", {path!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(json.dumps(sorted(sys.modules)))
"""


def _modules_after_import(function: str) -> set[str]:
    env = {**os.environ, "TABLE_NAME": "cold-start", "AWS_DEFAULT_REGION": "us-east-1"}
    env.pop("LAMBDA_TASK_ROOT", None)
    code = _LOADED.format(layer=str(LAYER), path=str(ROOT / "functions" / function / "app.py"))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout))


def _prefixed(modules: set[str], *prefixes: str) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in prefixes or m in prefixes or m.startswith(prefixes))


def test_no_function_imports_pydantic_settings_or_dotenv():
    for function in ("authorizer", "award_xp", "get_levels"):
        assert _prefixed(_modules_after_import(function), "pydantic_settings", "dotenv") == [], function


def test_the_authorizer_imports_no_rules_yaml_or_leaderboards():
    loaded = _modules_after_import("authorizer")
    assert _prefixed(
        loaded, "yaml", "gamification.domain.rules", "gamification.domain.leaderboards", "gamification.dal.board_store"
    ) == []


@pytest.mark.parametrize("function", ["webhooks", "deliver_webhooks", "notifications"])
def test_the_webhook_and_inbox_functions_import_no_rules_models(function):
    # Their routes never read the rules: neither the rules models nor the ledger and award
    # maths that would bring them.
    loaded = _modules_after_import(function)
    assert _prefixed(loaded, "gamification.domain.rules", "gamification.domain.ledger", "gamification.domain.awards") == []


@pytest.mark.parametrize("function", ["get_ledger", "spend_coins"])
def test_the_ledger_history_and_spend_functions_load_no_reversal_path(function):
    # A reversal moves back boards, topics and levels; a page of history or a spend does not.
    loaded = _modules_after_import(function)
    assert _prefixed(
        loaded,
        "gamification.usecases.reversals",
        "gamification.api.reversal_models",
        "gamification.domain.ledger",
        "gamification.domain.leaderboards",
        "gamification.domain.topics",
        "gamification.domain.rules",
        "gamification.usecases.engine",
    ) == []


def test_the_ledger_history_loads_no_write_path():
    loaded = _modules_after_import("get_ledger")
    assert _prefixed(
        loaded, "gamification.usecases.spending", "gamification.usecases.idempotency", "gamification.usecases.optimistic"
    ) == []


#: The progression routes' functions and the module of each one's models.
PROGRESSION_MODELS = {
    "get_streak": "gamification.api.streak_models",
    "get_achievements": "gamification.api.achievement_models",
    "get_achievement_catalogue": "gamification.api.catalogue_models",
    "set_active_badge": "gamification.api.badge_models",
    "set_timezone": "gamification.api.timezone_models",
}


@pytest.mark.parametrize("function", sorted(PROGRESSION_MODELS))
def test_a_progression_function_creates_only_its_routes_models_and_loads_no_award_path(function):
    loaded = _modules_after_import(function)
    assert PROGRESSION_MODELS[function] in loaded
    others = [m for f, m in PROGRESSION_MODELS.items() if f != function]
    assert _prefixed(loaded, *others, "gamification.domain.awards", "gamification.domain.rules") == []
    assert "gamification.usecases.progression" not in loaded  # the award path (after_award)


@pytest.mark.parametrize(
    "function", ["delete_user", "get_dashboard", "topic_attempt", "get_ledger", "spend_coins", "reverse_entry"]
)
def test_functions_whose_rules_come_from_the_engine_import_no_rules_models(function):
    # They read the rules the first request builds (runtime.engine()); importing them is
    # for annotations only.
    assert _prefixed(_modules_after_import(function), "gamification.domain.rules") == []


def test_the_topic_attempt_function_loads_no_other_awards_models_nor_the_topic_reads():
    loaded = _modules_after_import("topic_attempt")
    assert _prefixed(
        loaded,
        "gamification.api.award_models",
        "gamification.usecases.award_xp",
        "gamification.api.topic_read_models",
        "gamification.usecases.topic_reads",
    ) == []


@pytest.mark.parametrize("function", ["get_topics", "get_reviews"])
def test_the_topic_read_functions_create_no_attempt_models(function):
    assert _prefixed(_modules_after_import(function), "gamification.api.topic_models") == []


def test_the_dashboard_creates_of_the_read_models_only_the_profile_it_embeds():
    loaded = _modules_after_import("get_dashboard")
    assert "gamification.api.profile_models" in loaded
    assert _prefixed(loaded, "gamification.api.read_models", "gamification.usecases.reads") == []


def test_the_profile_read_loads_neither_the_other_reads_models_nor_the_award_path():
    # The profile and dashboard functions' first request runs it (Engine.profile).
    code = f"import json, sys; sys.path.insert(0, {str(LAYER)!r}); import gamification.usecases.profile; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout))
    assert _prefixed(loaded, "gamification.api.read_models", "gamification.domain.awards") == []
    assert "gamification.usecases.progression" not in loaded


def test_the_stream_and_delivery_functions_create_no_api_models():
    for function in ("domain_events", "deliver_webhooks"):
        loaded = _modules_after_import(function)
        assert _prefixed(loaded, "gamification.api.notification_models", "gamification.api.webhook_models") == [], function


def test_the_rules_models_import_none_of_the_sections_maths():
    code = f"import json, sys; sys.path.insert(0, {str(LAYER)!r}); import gamification.domain.rules; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout))
    assert _prefixed(loaded, "gamification.domain.streaks", "gamification.domain.achievements", "gamification.domain.topics") == []


def test_settings_read_the_environment_like_pydantic_settings(monkeypatch):
    # Variable names are case-insensitive, the alias wins over the field name, values are
    # converted and checked by the fields.
    monkeypatch.setenv("TABLE_NAME", "games")
    monkeypatch.setenv("gamification_max_write_attempts", "7")
    monkeypatch.setenv("RETRY_BUDGET_SECONDS", "1.5")
    monkeypatch.delenv("GAMIFICATION_RETRY_BUDGET_SECONDS", raising=False)
    env = settings.environment()
    assert (env.table_name, env.max_write_attempts, env.retry_budget_seconds) == ("games", 7, 1.5)
    monkeypatch.setenv("GAMIFICATION_RETRY_BUDGET_SECONDS", "2.5")
    assert settings.environment().retry_budget_seconds == 2.5


def test_settings_refuse_bad_values_and_a_missing_table(monkeypatch):
    monkeypatch.setenv("GAMIFICATION_MAX_WRITE_ATTEMPTS", "0")
    with pytest.raises(ValidationError, match="max_write_attempts|GAMIFICATION_MAX_WRITE_ATTEMPTS"):
        settings.environment()
    monkeypatch.delenv("GAMIFICATION_MAX_WRITE_ATTEMPTS")
    monkeypatch.delenv("TABLE_NAME", raising=False)
    settings.get_settings.cache_clear()
    try:
        with pytest.raises(ValidationError, match="TABLE_NAME"):
            settings.get_settings()
    finally:
        settings.get_settings.cache_clear()


def test_the_engine_loads_a_use_case_only_when_called():
    # A read route's first request builds the engine and calls reads: it must not load the
    # award path or the leaderboard reader.
    code = (
        f"import json, sys; sys.path.insert(0, {str(LAYER)!r}); "
        "import gamification.usecases.engine, gamification.usecases.reads; print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout))
    assert _prefixed(
        loaded,
        "gamification.usecases.award_xp",
        "gamification.usecases.award_coins",
        "gamification.usecases.optimistic",
        "gamification.usecases.boards",
        "gamification.dal.board_store",
        "gamification.domain.leaderboards",
    ) == []


# ---- cold start: a handler's import loads only what its route needs ------------------------

FUNCTIONS = sorted(p.parent.name for p in (ROOT / "functions").glob("*/app.py"))


@pytest.mark.parametrize("function", FUNCTIONS)
def test_no_function_imports_yaml_the_rules_models_or_the_xray_sdk_at_import(function):
    # Outside Lambda tracing is off, so no X-Ray SDK; the rules file and its models load with
    # the engine on first use (CONTRIBUTING.md, "Cold start"), so no PyYAML and no rules
    # models at import.
    loaded = _modules_after_import(function)
    assert _prefixed(loaded, "yaml", "aws_xray_sdk", "gamification.domain.rules") == [], function


_FROZEN_DATACLASSES = """
import dataclasses, importlib.util, json, sys
sys.path.insert(0, {layer!r})
made = []
process = dataclasses._process_class
def record(cls, *args, **kwargs):
    made.append((cls.__module__, cls.__qualname__, dict(zip(("init", "repr", "eq", "order", "unsafe_hash", "frozen"), args)).get("frozen", kwargs.get("frozen"))))
    return process(cls, *args, **kwargs)
dataclasses._process_class = record
spec = importlib.util.spec_from_file_location("app", {path!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(json.dumps([f"{{m}}.{{q}}" for m, q, frozen in made if m.startswith("gamification") and frozen]))
"""


@pytest.mark.parametrize("function", FUNCTIONS)
def test_no_function_compiles_a_frozen_dataclass_of_ours_at_import(function):
    # A dataclass compiles its generated methods from source at every import (about 4x a
    # NamedTuple's cost, CONTRIBUTING.md "Cold start"): value records are NamedTuples.
    env = {**os.environ, "TABLE_NAME": "cold-start", "AWS_DEFAULT_REGION": "us-east-1"}
    env.pop("LAMBDA_TASK_ROOT", None)
    code = _FROZEN_DATACLASSES.format(layer=str(LAYER), path=str(ROOT / "functions" / function / "app.py"))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == [], function


def test_the_rules_models_are_built_on_first_use_not_at_import():
    code = (
        f"import json, sys; sys.path.insert(0, {str(LAYER)!r}); "
        "from gamification.domain import rules; "
        "before = rules.Rules.__pydantic_complete__; rules.load_rules(); "
        "print(json.dumps([before, rules.Rules.__pydantic_complete__, 'yaml' in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == [False, True, True]
