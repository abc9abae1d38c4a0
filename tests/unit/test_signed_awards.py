"""Pure decisions for signed awards (docs/replay.md): penalties, variable amounts, cap-exempt actions, the floor,
net-of-day cap accounting and the starting balance (no I/O)."""

from __future__ import annotations

import pytest

from tools.local import lambdas

lambdas.use_layer()

from gamification.domain.awards import DayUsage, decide_xp, xp_bonus_coins  # noqa: E402
from gamification.domain.board_projection import entry_of  # noqa: E402
from gamification.domain.errors import DailyXpCapReached, ValidationFailed  # noqa: E402
from gamification.domain.ledger import plan_reversal  # noqa: E402
from gamification.domain.rules import RulesError, parse_rules  # noqa: E402

from ..signed_rules import SIGNED_RULES  # noqa: E402

BASE = SIGNED_RULES
RULES = parse_rules(BASE)


def decide(action, total=100, gained=0, amount=None):
    return decide_xp(RULES, action, total, DayUsage(gained, {}), 60, amount=amount)


def test_a_penalty_is_a_negative_award_that_frees_room_under_the_cap():
    d = decide("downvoted", gained=200)  # cap used up: a penalty still applies
    assert (d.amount, d.cap_amount, d.capped, d.floored) == (-2, -2, False, False)
    assert d.xp_gained_after == 198


def test_a_gain_after_a_penalty_uses_the_freed_room():
    d = decide("upvoted", gained=198)
    assert (d.amount, d.capped) == (2, True)


def test_the_cap_refuses_a_gain_when_used_up():
    with pytest.raises(DailyXpCapReached):
        decide("upvoted", gained=200)


def test_cap_exempt_actions_neither_count_nor_are_cut():
    d = decide("accepted", gained=200)
    assert (d.amount, d.cap_amount, d.capped, d.enforced_cap) == (15, 0, False, None)


def test_the_floor_cuts_a_penalty():
    d = decide("downvoted", total=2)
    assert (d.amount, d.floored) == (-1, True)
    d = decide("downvoted", total=1)
    assert (d.amount, d.floored) == (0, True)


def test_variable_amounts_within_bounds():
    assert decide("bounty_won", amount=100).amount == 100
    assert decide("bounty_offered", total=1000, amount=-100).amount == -100
    for action, amount in (("bounty_won", None), ("bounty_won", 501), ("bounty_won", 49), ("upvoted", 10)):
        with pytest.raises(ValidationFailed) as exc:
            decide(action, amount=amount)
        assert exc.value.details["field"] == "amount"


def test_a_bounty_offer_cannot_take_the_total_below_the_floor():
    d = decide("bounty_offered", total=60, amount=-100)
    assert (d.amount, d.floored) == (-59, True)


def test_xp_bonus_coins_follow_penalties_but_never_below_zero():
    assert xp_bonus_coins(10, 100, 90) == -1
    assert xp_bonus_coins(10, 100, 50, balance=2) == -2
    assert xp_bonus_coins(10, 95, 105) == 1


@pytest.mark.parametrize(
    "patch, field",
    [
        ({"actions": {"a": {"xp": 1, "min": 0, "max": 2}}}, "actions.a"),
        ({"actions": {"a": {"min": 5}}}, "actions.a"),
        ({"actions": {"a": {"min": 5, "max": 1}}}, "actions.a"),
        ({"xp": {"start": 0, "floor": 1}}, "xp"),
    ],
)
def test_bad_rules_name_the_field(patch, field):
    with pytest.raises(RulesError) as exc:
        parse_rules({**BASE, **patch})
    assert f"{field}:" in str(exc.value)


def test_defaults_keep_v1_files_unchanged():
    rules = parse_rules({k: v for k, v in BASE.items() if k != "xp"})
    assert (rules.xp.start, rules.xp.floor) == (0, 0)


from gamification.domain.errors import ActionLimitReached  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st

STEP = st.one_of(
    st.tuples(st.sampled_from(["upvoted", "downvoted", "accepted"]), st.none()),
    st.tuples(st.just("bounty_won"), st.integers(50, 500)),
    st.tuples(st.just("bounty_offered"), st.integers(-500, -50)),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(STEP, max_size=80))
def test_any_day_keeps_the_floor_and_the_net_cap(steps):
    total, usage = RULES.xp.start, DayUsage(0, {})
    for action, amount in steps:
        try:
            d = decide_xp(RULES, action, total, usage, 60, amount=amount)
        except (DailyXpCapReached, ActionLimitReached):
            assert action == "upvoted" and usage.xp_gained >= 200
            continue
        if RULES.actions[action].cap_exempt:
            assert d.amount == d.requested or d.floored  # never cut by the cap
        total += d.amount
        usage = DayUsage(usage.xp_gained + d.cap_amount, {**usage.action_counts, action: d.count_after})
        assert total >= RULES.xp.floor
        assert usage.xp_gained <= 200


def _award(xp):
    return {"pk": "T#t#U#u", "sk": "XP#2026-11-21T12:00:00.000000Z#e1", "xp": xp, "action": "upvoted",
            "reason": "upvoted", "occurred_at": "2026-11-21T12:00:00.000000Z"}  # fmt: skip


@pytest.mark.parametrize(
    "total, floor, xp, floored",
    [
        (1, 1, 0, True),  # at the floor: nothing left to take back
        (9, 1, -8, True),  # cut to what the floor leaves
        (11, 1, -10, False),  # room enough: the whole award
        (0, 1, 0, True),  # below the floor already: never a gain
        (5, None, -10, False),  # no floor
    ],
)
def test_a_reversal_stops_at_the_floor_like_a_penalty(total, floor, xp, floored):
    plan = plan_reversal(_award(10), None, cap_exempt=False, board_reasons=frozenset(), total_xp=total, xp_floor=floor)
    assert (plan.xp, plan.floored, plan.xp_requested) == (xp, floored, -10)
    # The day's XP and the boards move by the amount the compensating entry records.
    assert plan.cap_xp == plan.board_xp == plan.xp


def test_a_reversal_of_a_penalty_gives_it_back_whatever_the_floor():
    plan = plan_reversal(_award(-8), None, cap_exempt=True, board_reasons=frozenset(), total_xp=1, xp_floor=1)
    assert (plan.xp, plan.floored, plan.cap_xp, plan.board_xp) == (8, False, 0, 8)


def test_the_board_projection_of_a_floored_reversal_is_its_entrys_amount():
    item = {**_award(-8), "sk": "XP#2026-11-21T13:00:00.000000Z#e2", "kind": "reversal", "reason": "fraud",
            "board_delta": -8, "board_occurred_at": "2026-11-21T12:00:00.000000Z"}  # fmt: skip
    assert entry_of(item).amount == item["xp"] == -8
