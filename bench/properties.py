"""Property tests (hypothesis) for periods, windows and level arithmetic.

Each property is a plain function of generated values plus its strategies; :func:`run`
executes one with a given number of examples and counts them, so the reliability report and
the fast test subset (tests/reliability) run the very same properties.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tools.local import lambdas

lambdas.use_layer()

from gamification.domain.awards import DayUsage, decide_xp, xp_bonus_coins  # noqa: E402
from gamification.domain.errors import ActionLimitReached, DailyXpCapReached  # noqa: E402
from gamification.domain.levels import level_for_xp, progress_for_xp  # noqa: E402
from gamification.domain.periods import (  # noqa: E402
    day_key,
    local_date,
    local_midnight,
    window_end,
    window_key,
    window_start,
)
from gamification.domain.rules import load_rules, parse_rules  # noqa: E402

#: Zones with the awkward cases: DST at midnight (Santiago, Havana), half-hour and 45-minute
#: offsets (Kolkata, Chatham), 30-minute DST (Lord Howe), a skipped day (Apia, 2011-12-30),
#: the date line (Kiritimati), ordinary DST (New York, London, Berlin) and UTC.
ZONES = [
    "UTC", "America/Santiago", "America/Havana", "Asia/Kolkata", "Pacific/Chatham", "Australia/Lord_Howe",
    "Pacific/Apia", "Pacific/Kiritimati", "America/New_York", "Europe/London", "Europe/Berlin",
    "America/Sao_Paulo", "Asia/Tehran",
]
WINDOWS = ["day", "week", "month"]

instants = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2100, 12, 31), timezones=st.just(timezone.utc)
)
zones = st.sampled_from(ZONES).map(ZoneInfo)
TICK = timedelta(microseconds=1)


@st.composite
def near_midnight(draw: Any) -> tuple[datetime, ZoneInfo]:
    """An instant within 3 hours of a local midnight (where windows turn over and where
    DST sometimes happens), in one of the awkward zones."""
    zone = ZoneInfo(draw(st.sampled_from(ZONES)))
    d = draw(st.dates(date(1995, 1, 1), date(2060, 12, 31)))
    offset = draw(st.integers(min_value=-3 * 3600 * 10**6, max_value=3 * 3600 * 10**6))
    return local_midnight(d, zone) + timedelta(microseconds=offset), zone




def window_contains_its_instant(t: datetime, zone: ZoneInfo, window: str) -> None:
    """The window of an instant starts at or before it and ends after it; the instant just
    before the end is in the same window and the end itself is in the next one."""
    d = local_date(t, zone)
    start = local_midnight(window_start(window, d), zone)
    end = window_end(window, d, zone)
    assert start <= t < end, (start, t, end)
    key = window_key(window, d)
    assert window_key(window, local_date(end - TICK, zone)) == key
    assert window_key(window, local_date(end, zone)) != key
    assert window_key(window, local_date(start, zone)) == key


def window_keys_are_ordered(t1: datetime, t2: datetime, zone: ZoneInfo, window: str) -> None:
    """Later instants never map to an earlier window; equal keys mean the same window."""
    a, b = sorted((t1, t2))
    ka, kb = window_key(window, local_date(a, zone)), window_key(window, local_date(b, zone))
    assert ka <= kb, (a, b, ka, kb)  # keys sort like their windows (ISO week-year included)
    if ka == kb:
        assert window_end(window, local_date(a, zone), zone) == window_end(window, local_date(b, zone), zone)


def day_keys_round_trip(d: date) -> None:
    assert date.fromisoformat(day_key(d)) == d
    year, week, weekday = d.isocalendar()
    assert window_key("week", d) == f"{year}-W{week:02d}"
    monday = window_start("week", d)
    assert monday.isoweekday() == 1 and 0 <= (d - monday).days < 7
    assert window_key("month", d) == d.strftime("%Y-%m")


def _ladder(gaps: list[int]) -> Any:
    xp, levels = 0, []
    for i, gap in enumerate([0, *gaps]):
        xp += gap
        levels.append({"level": i + 1, "name": f"L{i + 1}", "xp": xp})
    return parse_rules({"version": 1, "levels": levels, "actions": {"a": {"xp": 1}}})


ladders = st.lists(st.integers(min_value=1, max_value=10_000), min_size=0, max_size=12).map(_ladder)


def level_arithmetic(rules: Any, total: int) -> None:
    """The level held is the highest threshold reached; progress is consistent with it."""
    level = level_for_xp(rules, total)
    assert level.xp <= total
    nxt = next((lv for lv in rules.levels if lv.level == level.level + 1), None)
    assert nxt is None or total < nxt.xp
    p = progress_for_xp(rules, total)
    assert p.level == level and p.xp_into_level == total - level.xp
    assert 0.0 <= p.progress <= 1.0
    if nxt is None:
        assert p.xp_for_next_level is None and p.progress == 1.0
    else:
        assert p.xp_for_next_level == nxt.xp - level.xp
    assert level_for_xp(rules, total + 1).level >= level.level  # monotonic
    for lv in rules.levels:  # a threshold itself holds its level, with no progress into it
        assert level_for_xp(rules, lv.xp).level == lv.level


def xp_bonus_telescopes(ratio: int, awards: list[int]) -> None:
    """However XP arrives, bonus coins add up to floor(total / ratio)."""
    total = coins = 0
    for amount in awards:
        coins += xp_bonus_coins(ratio, total, total + amount)
        total += amount
    assert coins == (total // ratio if ratio else 0)


BUNDLED = load_rules(None)


def xp_decision_respects_limits(action: str, total: int, gained: int, count: int) -> None:
    """An allowed award never passes the cap or the action's limit, and is cut only by the cap."""
    rule = BUNDLED.actions[action]
    try:
        d = decide_xp(BUNDLED, action, total, DayUsage(gained, {action: count}), 60)
    except ActionLimitReached:
        assert rule.daily_limit is not None and count >= rule.daily_limit
        return
    except DailyXpCapReached:
        cap = BUNDLED.daily_xp_cap(level_for_xp(BUNDLED, total).level)
        assert cap is not None and gained >= cap
        return
    assert rule.daily_limit is None or count < rule.daily_limit
    if d.cap is not None:
        assert gained + d.amount <= max(d.cap, gained)
        assert d.amount == min(rule.xp, d.cap - gained)
    else:
        assert d.amount == rule.xp
    assert d.capped == (d.amount < rule.xp)


@dataclass(frozen=True)
class Property:
    name: str
    check: Callable[..., None]
    strategies: dict[str, st.SearchStrategy]


PROPERTIES = [
    Property("window_contains_its_instant", window_contains_its_instant,
             {"t": instants, "zone": zones, "window": st.sampled_from(WINDOWS)}),
    Property("window_keys_are_ordered", window_keys_are_ordered,
             {"t1": instants, "t2": instants, "zone": zones, "window": st.sampled_from(WINDOWS)}),
    Property("window_near_midnight", lambda case, window: window_contains_its_instant(*case, window),
             {"case": near_midnight(), "window": st.sampled_from(WINDOWS)}),
    Property("day_keys_round_trip", day_keys_round_trip, {"d": st.dates(date(1900, 1, 1), date(2200, 12, 31))}),
    Property("level_arithmetic", level_arithmetic,
             {"rules": ladders | st.just(BUNDLED), "total": st.integers(min_value=0, max_value=200_000)}),
    Property("xp_bonus_telescopes", xp_bonus_telescopes,
             {"ratio": st.integers(0, 1000), "awards": st.lists(st.integers(0, 5000), max_size=50)}),
    Property("xp_decision_respects_limits", xp_decision_respects_limits,
             {"action": st.sampled_from(sorted(BUNDLED.actions)), "total": st.integers(0, 10_000),
              "gained": st.integers(0, 600), "count": st.integers(0, 25)}),
]


def run(prop: Property, examples: int) -> dict[str, Any]:
    """Run ``prop`` on ``examples`` generated inputs; ``failures`` is 0 or 1 (hypothesis stops
    at the first failure and shrinks it to ``counterexample``)."""
    seen = 0

    @settings(
        max_examples=examples, deadline=None, database=None, derandomize=False,
        phases=[Phase.explicit, Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck),
    )
    @given(**prop.strategies)
    def test(**kwargs: Any) -> None:
        nonlocal seen
        seen += 1
        prop.check(**kwargs)

    try:
        test()
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return {"examples": seen, "failures": 1, "counterexample": f"{type(exc).__name__}: {exc}"[:2000]}
    return {"examples": seen, "failures": 0}


def run_all(examples_each: int) -> dict[str, Any]:
    results = {p.name: run(p, examples_each) for p in PROPERTIES}
    return {
        "examples": sum(r["examples"] for r in results.values()),
        "failures": sum(r["failures"] for r in results.values()),
        "properties": results,
    }
