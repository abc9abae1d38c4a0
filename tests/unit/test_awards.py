"""Pure award decisions (docs/api.md, the XP route's order of checks; the exam-prep coin system's coins)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import yaml
from gamification.domain.awards import DayUsage, check_event_time, decide_xp, resolve_reward, xp_bonus_coins
from gamification.domain.errors import (
    ActionLimitReached,
    DailyXpCapReached,
    UnknownAction,
    UnknownReward,
    ValidationFailed,
)
from gamification.domain.rules import DEFAULT_RULES_FILE, load_rules, parse_rules

RULES = load_rules()


def test_unknown_action_comes_first():
    with pytest.raises(UnknownAction):
        decide_xp(RULES, "fly", 0, DayUsage(10**6, {"fly": 99}), 60)


def test_action_limit_before_cap():
    usage = DayUsage(150, {"create_character": 2})
    with pytest.raises(ActionLimitReached) as exc:
        decide_xp(RULES, "create_character", 0, usage, 60)
    assert str(exc.value) == "Daily limit reached for create_character (2/day)"
    assert exc.value.retry_after == 60 and exc.value.status == 429


def test_cap_of_the_level_held_before_the_award():
    with pytest.raises(DailyXpCapReached) as exc:
        decide_xp(RULES, "forked", 0, DayUsage(150, {}), 60)
    assert str(exc.value) == "Daily EXP cap reached (150 EXP/day for level 1)"
    # level 3 (300 XP) has a 300 cap: 150 gained leaves room
    assert decide_xp(RULES, "forked", 300, DayUsage(150, {}), 60).amount == 10


def test_partial_award():
    d = decide_xp(RULES, "paid_char_sold", 0, DayUsage(130, {}), 60)
    assert (d.amount, d.requested, d.capped, d.cap_amount, d.xp_gained_after) == (20, 50, True, 20, 150)
    assert d.enforced_cap == 150 and d.limit is None and d.count_after == 1


def test_cap_exempt_action_is_neither_cut_nor_counted():
    data = yaml.safe_load(DEFAULT_RULES_FILE.read_text())
    data["actions"]["bonus"] = {"xp": 40, "cap_exempt": True}
    rules = parse_rules(data)
    d = decide_xp(rules, "bonus", 0, DayUsage(150, {}), 60)
    assert (d.amount, d.capped, d.cap_amount, d.enforced_cap, d.cap) == (40, False, 0, None, 150)


@pytest.mark.parametrize("before, after, coins", [(0, 9, 0), (0, 10, 1), (9, 10, 1), (95, 125, 3), (100, 100, 0)])
def test_xp_bonus_coins(before, after, coins):
    assert xp_bonus_coins(10, before, after) == coins
    assert xp_bonus_coins(0, before, after) == 0


def test_resolve_reward():
    assert resolve_reward(RULES, "daily_login", None, None)[1] == 10
    assert resolve_reward(RULES, "daily_goal", None, "hard")[1] == 40
    assert resolve_reward(RULES, "variant_clear", "math9-v3", None)[1] == 30
    with pytest.raises(UnknownReward):
        resolve_reward(RULES, "xp_bonus", None, None)
    for reason, scope, tier in [
        ("variant_clear", None, None),
        ("daily_login", "x", None),
        ("daily_goal", None, None),
        ("daily_goal", None, "legendary"),
        ("daily_login", None, "easy"),
    ]:
        with pytest.raises(ValidationFailed):
            resolve_reward(RULES, reason, scope, tier)


def test_event_time_bounds():
    now = datetime(2026, 11, 21, 12, tzinfo=timezone.utc)
    check_event_time(now + timedelta(minutes=5), now, RULES)
    check_event_time(now - timedelta(hours=48), now, RULES)
    for bad in (now + timedelta(minutes=5, seconds=1), now - timedelta(hours=48, seconds=1)):
        with pytest.raises(ValidationFailed):
            check_event_time(bad, now, RULES)
