"""Pure rules of topics (docs/topics.md): the tier arithmetic, the minimum, decay, max XP,
the cap, fixed-interval and FSRS spaced repetition, levels, locks, and the rules checks."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gamification.domain.rules import RulesError, load_rules, parse_rules
from gamification.domain.topic_rules import Topic
from gamification.domain.topics import (
    base_award,
    decide_attempt,
    earliest_due,
    fixed_review,
    fsrs_review,
    is_early,
    missing_prerequisites,
    move_due,
    multiplier,
    tier_of,
    topic_level,
)

FRACTIONS = Topic(
    title="Fractions", base_xp=10, daily_full_tasks=5, daily_half_tasks=5, multiplier_full=1.0,
    multiplier_half=0.5, multiplier_low=0.1, multiplier_early=0.5, min_xp_percent=10,
    level_thresholds=(0, 50, 150, 300, 500), review_intervals=(1, 3, 7, 14, 30), max_xp=1000,
)  # fmt: skip


def test_the_documented_day_of_twelve_correct_attempts():
    xp = [base_award(FRACTIONS, n, early=False) for n in range(1, 13)]
    assert xp == [10] * 5 + [5] * 5 + [1, 1]
    assert [tier_of(FRACTIONS, n) for n in (1, 5, 6, 10, 11)] == ["full", "full", "half", "half", "low"]


def test_an_early_review_is_multiplied_and_never_below_the_minimum():
    assert base_award(FRACTIONS, 1, early=True) == 5  # 10 x 1.0 x 0.5
    assert base_award(FRACTIONS, 11, early=True) == 1  # 0.1 x 0.5 = 0.05 -> the 10 % minimum
    assert multiplier(FRACTIONS, 11, early=True) == Decimal("0.1")


def test_decay_shrinks_each_correct_attempt_of_the_day_down_to_the_minimum():
    t = FRACTIONS.model_copy(update={"daily_xp_decay": 0.5, "base_xp": 100})
    assert [base_award(t, n, False) for n in range(1, 6)] == [100, 50, 25, 12, 10]  # 10 % floor


tiers = st.builds(
    Topic,
    title=st.just("t"),
    base_xp=st.integers(0, 10_000),
    daily_full_tasks=st.integers(0, 20),
    daily_half_tasks=st.integers(0, 20),
    multiplier_full=st.floats(0, 10, allow_nan=False).map(lambda x: round(x, 3)),
    multiplier_half=st.floats(0, 10, allow_nan=False).map(lambda x: round(x, 3)),
    multiplier_low=st.floats(0, 10, allow_nan=False).map(lambda x: round(x, 3)),
    multiplier_early=st.floats(0, 10, allow_nan=False).map(lambda x: round(x, 3)),
    daily_xp_decay=st.sampled_from([0.0, 0.01, 0.1, 0.25, 0.5, 0.9]),
    min_xp_percent=st.integers(0, 100),
)


@settings(deadline=None)
@given(tiers, st.integers(1, 60), st.booleans())
def test_xp_is_the_floor_of_base_times_the_documented_multiplier(topic, n, early):
    tier = {"full": topic.multiplier_full, "half": topic.multiplier_half, "low": topic.multiplier_low}[tier_of(topic, n)]
    m = Decimal(str(tier)) * (Decimal(str(topic.multiplier_early)) if early else 1)
    m *= (1 - Decimal(str(topic.daily_xp_decay))) ** (n - 1)
    m = max(m, Decimal(str(topic.min_xp_percent)) / 100)
    assert base_award(topic, n, early) == math.floor(topic.base_xp * m)
    assert base_award(topic, n, early) >= math.floor(topic.base_xp * topic.min_xp_percent / 100)


@settings(deadline=None)
@given(tiers, st.integers(1, 60))
def test_tiers_follow_the_daily_counts(topic, n):
    expected = "full" if n <= topic.daily_full_tasks else "half" if n <= topic.daily_full_tasks + topic.daily_half_tasks else "low"
    assert tier_of(topic, n) == expected


@settings(deadline=None)
@given(st.integers(0, 1000), st.integers(0, 2000), st.one_of(st.none(), st.integers(-50, 500)), st.booleans())
def test_an_attempt_never_passes_max_xp_nor_the_cap(daily_before, topic_xp, cap_room, correct):
    d = decide_attempt(FRACTIONS, correct=correct, daily_before=daily_before, early=False, topic_xp=topic_xp, cap_room=cap_room)
    assert 0 <= d.amount <= d.requested
    if not correct:
        assert d.amount == 0 and d.n == 0 and d.tier is None
        return
    assert d.n == daily_before + 1
    assert topic_xp + d.amount <= max(FRACTIONS.max_xp, topic_xp)
    if cap_room is not None:
        assert d.amount <= max(cap_room, 0)
    assert d.amount == min(d.requested, max(FRACTIONS.max_xp - topic_xp, 0), max(cap_room, 0) if cap_room is not None else 10**9)


@settings(deadline=None)
@given(st.lists(st.booleans(), max_size=40))
def test_fixed_intervals_climb_on_correct_answers_and_reset_on_wrong_ones(answers):
    today, stage = date(2026, 3, 1), 0
    for correct in answers:
        review = fixed_review(FRACTIONS, stage, correct, today)
        if correct:
            assert review.next_review_date == today + timedelta(days=FRACTIONS.review_intervals[stage])
            assert review.stage == min(stage + 1, len(FRACTIONS.review_intervals) - 1)
        else:
            assert review == type(review)(0, today + timedelta(days=1))
        stage, today = review.stage, review.next_review_date
    assert 0 <= stage < len(FRACTIONS.review_intervals)


def test_a_review_on_its_date_is_not_early():
    assert is_early(date(2026, 1, 5), date(2026, 1, 4))
    assert not is_early(date(2026, 1, 5), date(2026, 1, 5))
    assert not is_early(None, date(2026, 1, 5))


@settings(deadline=None)
@given(st.lists(st.tuples(st.integers(0, 9), st.integers(0, 60)), max_size=60))
def test_the_topic_review_date_is_always_the_earliest_of_its_tasks(moves):
    tasks: dict[int, str] = {}
    due: dict[str, int] = {}
    for task, offset in moves:
        new = (date(2026, 1, 1) + timedelta(days=offset)).isoformat()
        due = move_due(due, tasks.get(task), new)
        tasks[task] = new
        assert sum(due.values()) == len(tasks)
        assert earliest_due(due) == min(tasks.values())
    if not tasks:
        assert earliest_due(due) is None


def test_fsrs_schedules_in_days_good_lengthens_again_shortens():
    t = FRACTIONS.model_copy(update={"scheduler": "fsrs"})
    at, today, card, stage, gaps = datetime(2026, 3, 1, 12, tzinfo=timezone.utc), date(2026, 3, 1), None, 0, []
    for correct in (True, True, True):
        review, card = fsrs_review(t, card, correct, at, today, stage)
        gaps.append((review.next_review_date - today).days)
        stage, today = review.stage, review.next_review_date
        at = datetime.combine(today, datetime.min.time(), timezone.utc) + timedelta(hours=12)
    assert stage == 3 and gaps[0] >= 1 and gaps[0] < gaps[1] < gaps[2]
    lapse, _ = fsrs_review(t, card, False, at, today, stage)
    assert lapse.stage == 0 and 1 <= (lapse.next_review_date - today).days < gaps[2]
    # Deterministic: the same history gives the same schedule (no fuzz).
    assert fsrs_review(t, None, True, at, today, 0) == fsrs_review(t, None, True, at, today, 0)


def test_higher_desired_retention_reviews_sooner():
    at, today = datetime(2026, 3, 1, 12, tzinfo=timezone.utc), date(2026, 3, 1)
    card = None
    for _ in range(3):
        _, card = fsrs_review(FRACTIONS.model_copy(update={"scheduler": "fsrs"}), card, True, at, today, 0)
    low = fsrs_review(FRACTIONS.model_copy(update={"scheduler": "fsrs", "desired_retention": 0.8}), card, True, at, today, 0)[0]
    high = fsrs_review(FRACTIONS.model_copy(update={"scheduler": "fsrs", "desired_retention": 0.97}), card, True, at, today, 0)[0]
    assert high.next_review_date < low.next_review_date


@settings(deadline=None)
@given(st.integers(0, 2000))
def test_topic_level_counts_thresholds_at_or_below(xp):
    assert topic_level(FRACTIONS, xp) == sum(1 for t in FRACTIONS.level_thresholds if t <= xp)


def test_missing_prerequisites_by_level():
    rules = load_rules()
    assert missing_prerequisites(rules.topics, "fractions", {}) == ["whole_numbers"]
    assert missing_prerequisites(rules.topics, "fractions", {"whole_numbers": 49}) == ["whole_numbers"]
    assert missing_prerequisites(rules.topics, "fractions", {"whole_numbers": 50}) == []


# ---- rules checks --------------------------------------------------------------------------


def _rules(**topics):
    return {"version": 1, "levels": [{"level": 1, "name": "A", "xp": 0}], "actions": {}, "topics": topics}


def _t(**extra):
    return {"title": "T", "base_xp": 10, **extra}


@pytest.mark.parametrize(
    ("topics", "message"),
    [
        ({"a": _t(level_thresholds=[0, 50, 50])}, "topics.a.level_thresholds: thresholds must be strictly ascending"),
        ({"a": _t(level_thresholds=[])}, "topics.a.level_thresholds"),
        ({"a": _t(review_intervals=[])}, "topics.a.review_intervals"),
        ({"a": _t(review_intervals=[0, 3])}, "topics.a.review_intervals.0"),
        ({"a": _t(multiplier_full=11)}, "topics.a.multiplier_full"),
        ({"a": _t(multiplier_early=-0.5)}, "topics.a.multiplier_early"),
        ({"a": _t(daily_xp_decay=1)}, "topics.a.daily_xp_decay"),
        ({"a": _t(min_xp_percent=101)}, "topics.a.min_xp_percent"),
        ({"a": _t(max_xp=0)}, "topics.a.max_xp"),
        ({"a": _t(base_xp=-1)}, "topics.a.base_xp"),
        ({"a": _t(scheduler="sm2")}, "topics.a.scheduler"),
        ({"a": _t(scheduler="fsrs", desired_retention=1.2)}, "topics.a.desired_retention"),
        ({"a": _t(requires={"b": 2})}, "topics.a.requires.b: unknown topic 'b'"),
        ({"a": _t(requires={"a": 1})}, "topics.a.requires.a: a topic cannot require itself"),
        ({"a": _t(requires={"b": 9}), "b": _t()}, "topics.a.requires.b: level 9 does not exist"),
        ({"a": _t(requires={"b": 1}), "b": _t(requires={"c": 1}), "c": _t(requires={"a": 1})},
         "prerequisite cycle a -> b -> c -> a"),
        ({"Bad-Name": _t()}, "topics.Bad-Name"),
        ({"a": _t(unknown_field=1)}, "topics.a.unknown_field"),
        ({"a": {"base_xp": 10}}, "topics.a.title"),
    ],
)
def test_bad_topic_rules_name_the_field(topics, message):
    with pytest.raises(RulesError) as err:
        parse_rules(_rules(**topics))
    assert message in str(err.value), str(err.value)


def test_the_example_math_rules_load():
    rules = load_rules("examples/math_topics/rules.yaml")
    assert rules.topics["linear_equations"].scheduler == "fsrs"
    assert rules.topics["percentages"].requires == {"fractions": 2, "decimals": 2}
