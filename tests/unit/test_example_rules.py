"""Every example rules file (examples/<system>/rules.yaml) loads, has its README, and keeps
its source system's numbers; the scenario tests in tests/examples/ walk their stories."""

from __future__ import annotations

from pathlib import Path

import pytest
from gamification.domain.rules import load_rules

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SYSTEMS = ["exam_prep", "mikoshi", "progressive_flow", "kpi_tracker", "math_topics", "stackexchange"]


def test_every_example_with_rules_is_listed():
    assert sorted(p.parent.name for p in EXAMPLES.glob("*/rules.yaml")) == sorted(SYSTEMS)


@pytest.mark.parametrize("system", SYSTEMS)
def test_the_example_loads_and_has_a_readme_that_serves_it(system):
    load_rules(EXAMPLES / system / "rules.yaml")
    readme = (EXAMPLES / system / "README.md").read_text()
    assert "rules.yaml" in readme


def test_exam_prep_keeps_the_coin_rewards_and_the_xp_bonus():
    coins = load_rules(EXAMPLES / "exam_prep" / "rules.yaml").coins
    assert coins.xp_ratio == 10
    rewards = coins.rewards
    assert (rewards["daily_login"].amount, rewards["daily_login"].window) == (10, "day")
    assert (rewards["daily_goal"].tiers, rewards["daily_goal"].window) == ({"easy": 15, "medium": 25, "hard": 40}, "day")
    assert (rewards["variant_clear"].amount, rewards["variant_clear"].window, rewards["variant_clear"].scoped) == (30, "forever", True)
    assert rewards["weekly_goal"].window == "week"


def test_mikoshi_keeps_its_actions_limits_and_caps():
    rules = load_rules(EXAMPLES / "mikoshi" / "rules.yaml")
    assert {name: (a.xp, a.daily_limit) for name, a in rules.actions.items()} == {
        "daily_chat": (20, 1), "create_character": (30, 2), "create_scene": (15, 2), "create_persona": (15, 2),
        "character_liked": (5, 20), "forked": (10, None), "paid_char_sold": (50, None),
    }  # fmt: skip
    assert [rules.daily_xp_cap(level) for level in range(1, 7)] == [150, 150, 300, 300, 500, 500]
    assert [(lv.name, lv.xp) for lv in rules.levels[:2]] == [("Newbie", 0), ("Creator", 100)]
    assert rules.coins.xp_ratio == 0 and rules.coins.rewards == {}
    assert all(a.badge for a in rules.achievements.values())


def test_progressive_flow_has_the_four_board_periods_and_five_levels_per_challenge():
    rules = load_rules(EXAMPLES / "progressive_flow" / "rules.yaml")
    assert list(rules.leaderboards["xp"].periods) == ["daily", "weekly", "monthly", "all_time"]
    assert all(len(t.level_thresholds) == 5 for t in rules.topics.values())
    assert rules.topics["rate_limiter"].requires == {"url_shortener": 3}
    assert rules.streaks.daily is not None
