"""Periods and windows: local day, ISO week, month, computed from an instant and a time zone.

Source: docs/api.md "Periods (day, ISO week, month) are computed from the event time in the
configured time zone"; the exam-prep coin system's windows ``day`` (same calendar day), ``week`` (same ISO week),
``forever``. Keys are stable strings used in DynamoDB sort keys:

- day ``2026-11-21``, week ``2026-W47`` (ISO 8601 week-year), month ``2026-11``,
  forever / all_time ``all``.

All functions are pure; instants must be timezone-aware.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from importlib import resources
from zoneinfo import ZoneInfo, available_timezones

FOREVER_KEY = "all"

#: Names a zone list may hold that are no place's time: the host's ``localtime`` and
#: ``posixrules`` files (whatever zone the machine is set to) and the tz database's
#: ``Factory`` ("local time zone must be set").
NOT_PLACE_ZONES = frozenset({"localtime", "posixrules", "Factory"})


@lru_cache(maxsize=1)
def iana_zones() -> frozenset[str]:
    """Every time zone name the engine accepts (``Europe/Berlin``, ``UTC``...): the IANA tz
    database's zones as the ``tzdata`` package lists them (a dependency of the layer, so the
    same list on every host), without :data:`NOT_PLACE_ZONES`. Computed once. Without
    ``tzdata``, the host's zones (``zoneinfo.available_timezones``) less the same names."""
    try:
        names = frozenset(resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8").split())
    except (ModuleNotFoundError, OSError):  # pragma: no cover - tzdata is a pinned dependency
        names = frozenset(available_timezones())
    return names - NOT_PLACE_ZONES


def is_iana_zone(name: object) -> bool:
    """True if ``name`` is one of :func:`iana_zones`."""
    return isinstance(name, str) and name in iana_zones()

#: Leaderboard period name -> coin window name (they share keys).
PERIOD_WINDOW = {"daily": "day", "weekly": "week", "monthly": "month", "all_time": "forever"}


def format_duration(span: timedelta) -> str:
    """``timedelta(hours=48)`` -> ``"2d"``: a rules-file duration (``max_event_age``) in the
    largest unit that fits evenly."""
    seconds = int(span.total_seconds())
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def local_date(instant: datetime, zone: ZoneInfo) -> date:
    """The calendar date of ``instant`` (aware) in ``zone``."""
    if instant.tzinfo is None:
        raise ValueError("instant must be timezone-aware")
    return instant.astimezone(zone).date()


def day_key(d: date) -> str:
    """``YYYY-MM-DD`` for a local date."""
    return d.isoformat()


def window_start(window: str, d: date) -> date | None:
    """First local date of the ``window`` (day/week/month) containing ``d``; None for forever."""
    if window == "day":
        return d
    if window == "week":
        return d - timedelta(days=d.isoweekday() - 1)
    if window == "month":
        return d.replace(day=1)
    if window == "forever":
        return None
    raise ValueError(f"unknown window {window!r}")


def window_key(window: str, d: date) -> str:
    """Stable key of the ``window`` containing local date ``d``."""
    if window == "day":
        return d.isoformat()
    if window == "week":
        year, week, _ = d.isocalendar()
        return f"{year}-W{week:02d}"
    if window == "month":
        return f"{d.year:04d}-{d.month:02d}"
    if window == "forever":
        return FOREVER_KEY
    raise ValueError(f"unknown window {window!r}")


def next_window_start(window: str, d: date) -> date | None:
    """First local date after the ``window`` containing ``d``; None for forever."""
    if window == "day":
        return d + timedelta(days=1)
    if window == "week":
        return window_start("week", d) + timedelta(days=7)  # type: ignore[operator]
    if window == "month":
        return (d.replace(day=28) + timedelta(days=4)).replace(day=1)
    if window == "forever":
        return None
    raise ValueError(f"unknown window {window!r}")


def local_midnight(d: date, zone: ZoneInfo) -> datetime:
    """The UTC instant at which local date ``d`` starts in ``zone``.

    On a DST gap at midnight (e.g. America/Santiago) the day starts at the first valid
    local time, which ``fold=0`` plus a UTC round trip gives.
    """
    local = datetime.combine(d, time(0), tzinfo=zone)
    return local.astimezone(timezone.utc).astimezone(zone).astimezone(timezone.utc)


def day_end(d: date, zone: ZoneInfo) -> datetime:
    """UTC instant when local date ``d`` ends in ``zone`` (when its limits reset)."""
    return local_midnight(d + timedelta(days=1), zone)


def window_end(window: str, d: date, zone: ZoneInfo) -> datetime | None:
    """UTC instant when the ``window`` containing ``d`` ends (next one starts); None forever."""
    nxt = next_window_start(window, d)
    return None if nxt is None else local_midnight(nxt, zone)
