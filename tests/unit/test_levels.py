"""Level arithmetic (Progressive Flow, the KPI tracker: level from XP, XP for the next level, progress)."""

from __future__ import annotations

import pytest
from gamification.domain.levels import level_for_xp, progress_for_xp
from gamification.domain.rules import load_rules
from hypothesis import given
from hypothesis import strategies as st

RULES = load_rules()


@pytest.mark.parametrize(
    "xp, level", [(0, 1), (99, 1), (100, 2), (299, 2), (300, 3), (700, 4), (1499, 4), (1500, 5), (3000, 6), (10**9, 6)]
)
def test_level_for_xp(xp, level):
    assert level_for_xp(RULES, xp).level == level


def test_progress_inside_a_level_and_at_the_top():
    p = progress_for_xp(RULES, 150)
    assert (p.level.level, p.xp_into_level, p.xp_for_next_level, p.progress) == (2, 50, 200, 0.25)
    top = progress_for_xp(RULES, 5000)
    assert (top.level.level, top.xp_into_level, top.xp_for_next_level, top.progress) == (6, 2000, None, 1.0)


@given(st.integers(min_value=0, max_value=10**7))
def test_level_thresholds_bracket_the_total(xp):
    level = level_for_xp(RULES, xp)
    assert level.xp <= xp
    if level.level < len(RULES.levels):
        assert xp < RULES.levels[level.level].xp
    p = progress_for_xp(RULES, xp)
    assert 0.0 <= p.progress <= 1.0


@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=0, max_value=10**4))
def test_more_xp_never_lowers_the_level(xp, more):
    assert level_for_xp(RULES, xp + more).level >= level_for_xp(RULES, xp).level
