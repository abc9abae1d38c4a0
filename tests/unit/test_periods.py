"""Periods and windows in a time zone (docs/api.md; the exam-prep coin system's windows day / ISO week / forever)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from gamification.domain.periods import (
    iana_zones,
    is_iana_zone,
    local_date,
    local_midnight,
    next_window_start,
    window_end,
    window_key,
    window_start,
)
from hypothesis import given
from hypothesis import strategies as st

UTC = ZoneInfo("UTC")


@pytest.mark.parametrize(
    "d, day, week, month",
    [
        (date(2026, 11, 21), "2026-11-21", "2026-W47", "2026-11"),
        (date(2026, 12, 31), "2026-12-31", "2026-W53", "2026-12"),
        (date(2027, 1, 3), "2027-01-03", "2026-W53", "2027-01"),  # ISO week-year differs from the year
        (date(2027, 1, 4), "2027-01-04", "2027-W01", "2027-01"),
        (date(2024, 12, 30), "2024-12-30", "2025-W01", "2024-12"),
    ],
)
def test_keys(d, day, week, month):
    assert (window_key("day", d), window_key("week", d), window_key("month", d)) == (day, week, month)
    assert window_key("forever", d) == "all"


def test_local_day_depends_on_the_zone():
    instant = datetime(2026, 11, 21, 23, 30, tzinfo=timezone.utc)
    assert local_date(instant, UTC) == date(2026, 11, 21)
    assert local_date(instant, ZoneInfo("Asia/Tokyo")) == date(2026, 11, 22)
    assert local_date(instant, ZoneInfo("America/Los_Angeles")) == date(2026, 11, 21)
    with pytest.raises(ValueError):
        local_date(datetime(2026, 1, 1), UTC)


def test_window_ends_across_dst():
    ny = ZoneInfo("America/New_York")
    # 2026-03-08 is 23 hours long in New York; 2026-11-01 is 25 hours long.
    assert window_end("day", date(2026, 3, 8), ny) - local_midnight(date(2026, 3, 8), ny) == timedelta(hours=23)
    assert window_end("day", date(2026, 11, 1), ny) - local_midnight(date(2026, 11, 1), ny) == timedelta(hours=25)
    assert window_end("forever", date(2026, 11, 1), ny) is None


def test_midnight_that_does_not_exist():
    # Santiago skips 00:00-01:00 when DST starts (2026-09-06): the day starts at 01:00 local.
    scl = ZoneInfo("America/Santiago")
    start = local_midnight(date(2026, 9, 6), scl)
    assert local_date(start, scl) == date(2026, 9, 6)
    assert local_date(start - timedelta(seconds=1), scl) == date(2026, 9, 5)


ZONES = st.sampled_from(["UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kolkata", "Pacific/Apia"])
DATES = st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31))


@given(DATES, st.sampled_from(["day", "week", "month"]))
def test_a_window_contains_exactly_its_dates(d, window):
    start, nxt = window_start(window, d), next_window_start(window, d)
    assert start <= d < nxt
    assert window_key(window, start) == window_key(window, d) == window_key(window, nxt - timedelta(days=1))
    assert window_key(window, nxt) != window_key(window, d)
    assert window_key(window, start - timedelta(days=1)) != window_key(window, d)


@given(DATES, ZONES)
def test_local_midnight_starts_the_local_date(d, zone_name):
    zone = ZoneInfo(zone_name)
    start = local_midnight(d, zone)
    assert local_date(start, zone) == d
    assert local_date(start - timedelta(seconds=1), zone) == d - timedelta(days=1)


def test_the_accepted_zones_are_the_iana_names_whatever_the_host_has():
    """The one list of PUT /v1/users/{id}/timezone and the rules file's ``timezone``: the tz
    database's zones (the ``tzdata`` package), not the host's zoneinfo files."""
    zones = iana_zones()
    assert {"UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Etc/GMT+5"} <= zones
    for name in ("localtime", "posixrules", "Factory", "posix/Europe/Berlin", "right/UTC", "", "Mars/Olympus"):
        assert not is_iana_zone(name), name
    assert not is_iana_zone(None) and not is_iana_zone(5)
    assert iana_zones() is zones  # computed once
    for name in sorted(zones)[::50]:
        assert ZoneInfo(name).key == name
