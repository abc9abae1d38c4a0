"""Streaks: the compact state, updated one event at a time, against a brute-force model
computed from the full set of active dates (hypothesis), across DST changes, time-zone
changes, late and out-of-order events, and freezes."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gamification.domain.periods import local_date
from gamification.domain.streak_rules import Freezes, Reward, StreakRule
from gamification.domain.streaks import StreakGap, StreakState, window_days

ZONES = ["America/New_York", "Europe/London", "Australia/Lord_Howe", "Pacific/Kiritimati", "Pacific/Pago_Pago", "UTC"]
MAX_AGE = timedelta(hours=48)
WINDOW = window_days(MAX_AGE)


def model(rule: StreakRule, active: set[date], today: date) -> dict:
    """The streak straight from the definition, walking every date from the first activity."""
    f = rule.freezes
    start, every, cap = (f.start, f.earn_every_days, f.max) if f else (0, None, 0)
    run = longest = 0
    freezes = start
    status: dict[date, str] = {}
    if active:
        today = max(today, max(active))  # a date recorded in a zone ahead of today's
        d, end = min(active), max(today, max(active))
        while d <= end:
            if d in active:
                run += 1
                longest = max(longest, run)
                if every and run % every == 0:
                    freezes = min(cap, freezes + 1)
                status[d] = "active"
            elif d >= today:
                status[d] = "missed"  # today is not over: it spends nothing
            elif run and freezes:
                freezes -= 1
                status[d] = "frozen"
            else:
                run = 0
                status[d] = "missed"
            d += timedelta(days=1)
    return {
        "current": run,
        "longest": longest,
        "last_active_date": max(active) if active else None,
        "today_active": today in active,
        "at_risk": run > 0 and today not in active,
        "freezes_available": freezes if active else 0,
        "history": [(today - timedelta(days=i), status.get(today - timedelta(days=i), "missed")) for i in range(14)],
        "milestones": {n for n in rule.milestones if n <= longest},
    }


def run_without_freezes(active: set[date], today: date) -> int:
    """Independent check for rules without freezes: consecutive active dates ending today or yesterday."""
    d = today if today in active else today - timedelta(days=1)
    n = 0
    while d in active:
        n += 1
        d -= timedelta(days=1)
    return n


def as_dict(view) -> dict:
    return {
        "current": view.current,
        "longest": view.longest,
        "last_active_date": view.last_active_date,
        "today_active": view.today_active,
        "at_risk": view.at_risk,
        "freezes_available": view.freezes_available,
        "history": view.history,
    }


rules_strategy = st.builds(
    StreakRule,
    freezes=st.one_of(
        st.none(),
        st.builds(
            lambda start, every, extra: Freezes(start=start, earn_every_days=every, max=start + extra),
            st.integers(0, 2),
            st.one_of(st.none(), st.integers(1, 5)),
            st.integers(0, 2),
        ),
    ),
    milestones=st.dictionaries(st.integers(1, 12), st.just(Reward(coins=5)), max_size=4),
)

#: One recorded award: hours the clock moves on first, how late the event is (minutes, within
#: max_event_age), and the user's zone when it is recorded (a zone change in between).
events_strategy = st.lists(
    st.tuples(st.integers(0, 60), st.integers(0, int(MAX_AGE.total_seconds() // 60)), st.sampled_from(ZONES)),
    min_size=1,
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(
    rule=rules_strategy,
    events=events_strategy,
    start=st.datetimes(min_value=datetime(2026, 2, 20), max_value=datetime(2026, 11, 10)),
    tail_hours=st.integers(0, 24 * 6),
)
def test_the_compact_state_matches_the_model_after_every_event(rule, events, start, tail_hours):
    now = start.replace(tzinfo=timezone.utc)
    state = StreakState()
    active: set[date] = set()
    paid: list[int] = []
    reached: set[int] = set()
    zone = "UTC"
    for advance_h, late_min, zone in events:
        now += timedelta(hours=advance_h)
        occurred = now - timedelta(minutes=late_min)
        day = local_date(occurred, ZoneInfo(zone))  # the date keeps the zone it was recorded in
        today = local_date(now, ZoneInfo(zone))
        update = state.record(rule, day, today, WINDOW)
        assert not update.ignored
        assert update.extended == (day not in active)
        active.add(day)
        state = update.state
        paid += update.milestones
        expected = model(rule, active, today)
        assert as_dict(state.view(rule, today)) == {k: v for k, v in expected.items() if k != "milestones"}
        # Each milestone once, when the history first reaches it; a paid one stays paid even
        # if a late event later rewrites the run it was paid for.
        reached |= expected["milestones"]
        assert sorted(paid) == sorted(reached)
        if rule.freezes is None:
            # A date recorded in a zone ahead of today's may lie after today: it counts.
            assert state.view(rule, today).current == run_without_freezes(active, max(today, *active))
    # Later, with no more activity: the view moves on with the calendar (freezes run out).
    later = local_date(now + timedelta(hours=tail_hours), ZoneInfo(zone))
    expected = model(rule, active, later)
    assert as_dict(state.view(rule, later)) == {k: v for k, v in expected.items() if k != "milestones"}


@settings(max_examples=100, deadline=None)
@given(
    rule=rules_strategy,
    offsets=st.lists(st.integers(0, 40), min_size=1, max_size=30),
    order=st.randoms(use_true_random=False),
)
def test_the_order_of_events_within_the_window_does_not_matter(rule, offsets, order):
    first = date(2026, 3, 1)
    dates = [first + timedelta(days=o) for o in offsets]
    today = max(dates)
    window = window_days(timedelta(days=45))  # every date is within max_event_age of today
    shuffled = list(dates)
    order.shuffle(shuffled)
    a, b = StreakState(), StreakState()
    for d in sorted(dates):  # a: oldest first; b: any order
        a = a.record(rule, d, today, window).state
    for d in shuffled:
        b = b.record(rule, d, today, window).state
    assert a.view(rule, today) == b.view(rule, today)
    # Recorded oldest first, the milestones paid are exactly those the final history reaches.
    # In another order a late event can rewrite the history a payment was made on (see
    # test_a_paid_milestone_stays_paid...): a milestone paid stays paid, nothing else differs.
    longest = a.view(rule, today).longest
    assert a.paid == {n for n in rule.milestones if n <= longest}
    assert a.paid <= b.paid


def test_a_paid_milestone_stays_paid_when_a_late_event_rewrites_the_run_it_was_paid_for():
    """docs/streaks.md: the start freeze is granted at the first activity ever. Dates 6, then
    4 (the freeze bridges 5): a run of 2, milestone 2 paid. A late event on date 0 then becomes
    the first activity: the freeze goes to the gap after it, and no run of 2 is left in the
    history. The view says so; the payment is not taken back."""
    rule = StreakRule(freezes=Freezes(start=1, max=1), milestones={1: Reward(coins=1), 2: Reward(coins=5)})
    d0 = date(2026, 3, 1)
    today = d0 + timedelta(days=6)
    window = window_days(timedelta(days=45))
    state = StreakState()
    paid: list[int] = []
    for offset in (6, 4, 0):
        update = state.record(rule, d0 + timedelta(days=offset), today, window)
        state, paid = update.state, paid + list(update.milestones)
    assert paid == [1, 2]
    view = state.view(rule, today)
    assert (view.current, view.longest) == (1, 1)
    assert state.paid == {1, 2}
    # Recorded in the order they happened, the same dates never pay milestone 2.
    ordered = StreakState()
    for offset in (0, 4, 6):
        ordered = ordered.record(rule, d0 + timedelta(days=offset), today, window).state
    assert ordered.view(rule, today) == view and ordered.paid == {1}


@pytest.mark.parametrize(
    "zone, first",
    [
        ("America/New_York", date(2026, 3, 5)),  # spring forward 2026-03-08
        ("America/New_York", date(2026, 10, 29)),  # fall back 2026-11-01
        ("Europe/London", date(2026, 3, 26)),  # 2026-03-29
        ("Europe/London", date(2026, 10, 22)),  # 2026-10-25
        ("Australia/Lord_Howe", date(2026, 4, 2)),  # half an hour back, 2026-04-05
        ("Australia/Lord_Howe", date(2026, 10, 1)),  # half an hour on, 2026-10-04
    ],
)
@pytest.mark.parametrize("local_time", [(0, 10), (23, 50), (1, 45), (2, 15)])
def test_dst_never_breaks_a_streak(zone, first, local_time):
    rule = StreakRule()
    tz = ZoneInfo(zone)
    state = StreakState()
    for i in range(7):
        wall = datetime.combine(first + timedelta(days=i), datetime.min.time(), tzinfo=tz).replace(
            hour=local_time[0], minute=local_time[1]
        )
        instant = wall.astimezone(timezone.utc)
        day, today = local_date(instant, tz), local_date(instant, tz)
        state = state.record(rule, day, today, WINDOW).state
    view = state.view(rule, today)
    assert (view.current, view.longest, view.today_active) == (7, 7, True)


def test_a_zone_change_keeps_past_dates():
    rule = StreakRule()
    berlin, tokyo = ZoneInfo("Europe/Berlin"), ZoneInfo("Asia/Tokyo")
    state = StreakState()
    # 23:30 in Berlin on 2026-06-01 (Tokyo: already 06-02), then the user moves to Tokyo.
    first = datetime(2026, 6, 1, 21, 30, tzinfo=timezone.utc)
    state = state.record(rule, local_date(first, berlin), local_date(first, berlin), WINDOW).state
    second = datetime(2026, 6, 2, 1, 0, tzinfo=timezone.utc)  # Tokyo 06-02 10:00
    update = state.record(rule, local_date(second, tokyo), local_date(second, tokyo), WINDOW)
    assert update.extended and update.state.view(rule, date(2026, 6, 2)).current == 2
    assert update.state.active_dates() == {date(2026, 6, 1), date(2026, 6, 2)}


def test_freezes_bridge_the_oldest_gap_first_and_do_not_add():
    rule = StreakRule(freezes=Freezes(start=1, earn_every_days=3, max=2))
    d = date(2026, 5, 1)
    active = {d, d + timedelta(1), d + timedelta(3), d + timedelta(5)}  # gaps on day 2 and day 4
    state = StreakState()
    for a in sorted(active):
        state = state.record(rule, a, d + timedelta(5), WINDOW).state
    view = state.view(rule, d + timedelta(5))
    # start 1 freeze: spent on day 2; 3rd active date (day 3) earns one: spent on day 4.
    assert view.current == 4 and view.freezes_available == 0
    statuses = dict(view.history)
    assert statuses[d + timedelta(2)] == "frozen" and statuses[d + timedelta(4)] == "frozen"
    # A late event closes the oldest gap: the freeze it saved is left for later.
    state = state.record(rule, d + timedelta(2), d + timedelta(5), WINDOW).state
    view = state.view(rule, d + timedelta(5))
    assert view.current == 5 and view.freezes_available == 1


def test_at_risk_and_a_lost_streak():
    rule = StreakRule()
    d = date(2026, 5, 1)
    state = StreakState().record(rule, d, d, WINDOW).state
    assert state.view(rule, d).at_risk is False
    assert state.view(rule, d + timedelta(1)).at_risk is True
    lost = state.view(rule, d + timedelta(2))
    assert (lost.current, lost.longest, lost.at_risk) == (0, 1, False)


def test_milestones_pay_once_per_length_even_on_a_second_run():
    rule = StreakRule(milestones={2: Reward(coins=5)})
    d = date(2026, 5, 1)
    state, paid = StreakState(), []
    for a in (d, d + timedelta(1), d + timedelta(5), d + timedelta(6)):  # two runs of 2
        update = state.record(rule, a, a, WINDOW)
        state, paid = update.state, paid + list(update.milestones)
    assert paid == [2]


def test_the_state_survives_storage_and_stays_small():
    rule = StreakRule(freezes=Freezes(start=1, earn_every_days=7, max=2), milestones={7: Reward(xp=5)})
    state = StreakState()
    d = date(2026, 1, 1)
    for i in range(400):
        state = state.record(rule, d + timedelta(i), d + timedelta(i), WINDOW).state
    item = state.to_item()
    assert StreakState.from_item(item) == state
    assert len(repr(item)) < 200 and item["longest"] == 400 - WINDOW
    assert state.view(rule, d + timedelta(399)).longest == 400


def test_an_event_older_than_the_window_is_ignored():
    rule = StreakRule()
    d = date(2026, 5, 30)
    state = StreakState().record(rule, d, d, WINDOW).state
    update = state.record(rule, d - timedelta(days=WINDOW), d, WINDOW)
    assert update.ignored and not update.extended and update.state == state


@settings(max_examples=200, deadline=None)
@given(
    rule=rules_strategy,
    offsets=st.sets(st.integers(0, 20), min_size=1, max_size=12),
    gap=st.integers(1, 10),
)
def test_the_gap_before_a_return_matches_the_model(rule, offsets, gap):
    """``gap_before`` (what ``streak.freeze_used`` / ``streak.lost`` report) against the
    model: the frozen dates and the first missed date between the last activity and the
    return, and the run that date broke."""
    d = date(2026, 3, 1)
    active = {d + timedelta(days=o) for o in offsets}
    last = max(active)
    state = StreakState()
    for a in sorted(active):
        state = state.record(rule, a, last, WINDOW).state
    back = last + timedelta(days=gap)
    statuses = dict(model(rule, active, back)["history"])
    between = [last + timedelta(days=i) for i in range(1, gap)]
    frozen = tuple(x for x in between if statuses[x] == "frozen")
    missed = [x for x in between if statuses[x] == "missed"]
    result = state.gap_before(rule, back)
    assert result.frozen == frozen
    assert result.lost_on == (missed[0] if missed else None)
    assert result.lost == (model(rule, active, last)["current"] if missed else 0)


def test_a_return_after_a_freeze_and_after_a_break():
    rule = StreakRule(freezes=Freezes(start=1, max=1))
    d = date(2026, 5, 1)
    state = StreakState()
    for a in (d, d + timedelta(1), d + timedelta(2)):
        state = state.record(rule, a, a, WINDOW).state
    assert state.gap_before(rule, d + timedelta(3)) == StreakGap()  # the next date: nothing missed
    one_missed = state.gap_before(rule, d + timedelta(4))
    assert one_missed == StreakGap(frozen=(d + timedelta(3),))
    two_missed = state.gap_before(rule, d + timedelta(5))
    assert two_missed == StreakGap(frozen=(d + timedelta(3),), lost=3, lost_on=d + timedelta(4))
