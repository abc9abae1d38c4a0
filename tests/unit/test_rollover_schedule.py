"""The instant a scheduled roll-over runs at (usecases/rollover.py ``scheduled_instant``):
the event's time, never more than ``MAX_EVENT_AHEAD`` ahead of the function's clock."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from gamification.usecases.rollover import MAX_EVENT_AHEAD, EventTimeAhead, RolloverReport, scheduled_instant

NOW = datetime(2026, 11, 24, 0, 5, tzinfo=timezone.utc)


def at(delta: timedelta) -> dict[str, str]:
    return {"time": (NOW + delta).isoformat().replace("+00:00", "Z")}


def test_the_event_time_is_taken_unless_it_is_more_than_five_minutes_ahead_of_the_clock():
    assert MAX_EVENT_AHEAD == timedelta(minutes=5)
    assert scheduled_instant({}, NOW) == NOW
    assert scheduled_instant(at(timedelta(days=-3)), NOW) == NOW - timedelta(days=3)  # a late or replayed run
    assert scheduled_instant(at(MAX_EVENT_AHEAD), NOW) == NOW + MAX_EVENT_AHEAD  # clock skew
    with pytest.raises(EventTimeAhead, match="more than 300 s ahead of the clock") as refused:
        scheduled_instant(at(MAX_EVENT_AHEAD + timedelta(seconds=1)), NOW)
    report = RolloverReport.refused(refused.value)
    assert (report.now, report.tenants, report.finalised, report.prizes_paid) == ("2026-11-24T00:05:00.000000Z", 0, [], 0)
    assert report.skipped == str(refused.value)


@pytest.mark.parametrize("raw", ["2026-11-24T00:05:00", "soon"])
def test_a_time_without_an_offset_or_not_a_time_is_an_error(raw):
    with pytest.raises(ValueError):
        scheduled_instant({"time": raw}, NOW)
