"""Daily streaks on local dates: the walk of the rules' ``streaks:`` section (its models are
:mod:`gamification.domain.streak_rules`) and a compact per-user state.

Source: docs/streaks.md (the KPI tracker's current/longest streak and last activity, the
learning platform's streak tracking), refined as follows:

- A local date is *active* when the user has at least one accepted qualifying XP award whose
  ``occurred_at`` falls on it, in the user's time zone at the time the award is recorded. A
  date keeps the zone it was recorded in: changing zone never rewrites past dates.
- Dates are walked oldest first. An active date adds one to the run (the first activity
  ever also grants ``freezes.start`` freezes; every ``earn_every_days``-th active date of a
  run earns one more, never more than ``max``). A missed date of a live run spends one
  freeze if one is left (the date is *frozen*: the run goes on but does not grow), else the
  run ends. Today is never missed: it is not over yet.
- ``current`` is the run still alive today; ``longest`` the longest run ever; a milestone
  (``milestones: {7: {coins: 50}}``) is paid once per user, the first time a run reaches it,
  and stays paid even if a late event older than the first activity later shortens that run
  (docs/streaks.md).
- A late event (within ``max_event_age``) makes its own date active and may close a gap.

The state (:class:`StreakState`) is updated from one event without reading any history: it
keeps a bitmap of the active dates of a window ending at the newest active date, and the
counters of the walk up to the window's first date (``base``). The window is at least
``max_event_age`` (in days) plus a margin wide, so any event the API accepts lands in it.
Everything here is pure; dates are ``datetime.date`` (local dates, no zone attached).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

if TYPE_CHECKING:  # annotations only: the rules load with the engine, on the first request
    from gamification.domain.streak_rules import StreakRule

#: Dates of history the streak route shows (newest first).
HISTORY_DAYS = 14
#: Extra days of window beyond max_event_age: zones differ by up to 26 h, plus rounding.
WINDOW_MARGIN_DAYS = 3
#: The window never holds fewer dates than this (history plus margin).
MIN_WINDOW_DAYS = HISTORY_DAYS + WINDOW_MARGIN_DAYS
#: Ledger reason prefix of milestone rewards: ``streak_milestone:7``.
MILESTONE_REASON = "streak_milestone"

Status = Literal["active", "frozen", "missed"]


# ---- the walk --------------------------------------------------------------------------


class Counters(NamedTuple):
    """The walk's state after some date: ``run`` active dates of the live run (0: none),
    ``freezes`` available, ``longest`` run so far, ``started`` (any activity yet)."""

    run: int = 0
    freezes: int = 0
    longest: int = 0
    started: bool = False


class Walker(NamedTuple):
    """The transition of one date (see the module docstring)."""

    start: int = 0
    earn_every: int | None = None
    max_freezes: int = 0

    def step(self, c: Counters, active: bool) -> tuple[Counters, Status]:
        """The counters after one date that was ``active`` or not, and its status."""
        if active:
            freezes = c.freezes if c.started else self.start
            run = c.run + 1
            if self.earn_every and run % self.earn_every == 0:
                freezes = min(self.max_freezes, freezes + 1)
            return Counters(run, freezes, max(c.longest, run), True), "active"
        if c.run and c.freezes:
            return c._replace(freezes=c.freezes - 1), "frozen"
        return c._replace(run=0), "missed"

    def walk(self, c: Counters, first: date, last: date, active: set[date], today: date) -> Iterator[tuple[date, Counters, Status]]:
        """Walk ``first``..``last`` inclusive from ``c``; ``today`` is skipped unless active
        (it is not over). Yields (date, counters after it, status)."""
        d = first
        while d <= last:
            if d in active or d < today:
                c, status = self.step(c, d in active)
            else:
                status = "missed"
            yield d, c, status
            d += timedelta(days=1)


def rule_walker(rule: StreakRule) -> Walker:
    """The date-by-date walk ``rule`` defines."""
    f = rule.freezes
    if f is None:
        return Walker()  # no freezes: none granted, none earned
    return Walker(start=f.start, earn_every=f.earn_every_days, max_freezes=f.max)


def window_days(max_event_age: timedelta) -> int:
    """Width (dates) of the state's window for rules accepting events ``max_event_age`` old."""
    return max(MIN_WINDOW_DAYS, math.ceil(max_event_age / timedelta(days=1)) + WINDOW_MARGIN_DAYS)


# ---- the per-user state ----------------------------------------------------------------


class StreakView(NamedTuple):
    """A user's streak as of local date ``today``.

    ``current``: active dates of the live run (0: none); ``longest``: longest run ever;
    ``last_active_date``; ``today_active``; ``at_risk``: ``current > 0`` and today not
    active; ``freezes_available``; ``history``: (date, status) of the last 14 dates, newest
    first.
    """

    current: int
    longest: int
    last_active_date: date | None
    today_active: bool
    at_risk: bool
    freezes_available: int
    history: list[tuple[date, Status]]


class StreakState(NamedTuple):
    """One user's streak, compact: ``bits`` (bit i: date ``base + i`` was active) and the
    walk's counters before ``base``; ``paid`` the milestone lengths already paid.

    Stored as a small map on the profile item (:meth:`to_item` / :meth:`from_item`).
    """

    base: date | None = None
    bits: int = 0
    before: Counters = Counters()
    paid: frozenset[int] = frozenset()

    # ---- storage ----

    def to_item(self) -> dict[str, Any]:
        """A DynamoDB-friendly map (strings and small numbers)."""
        return {
            "base": self.base.isoformat() if self.base else None,
            "bits": format(self.bits, "x"),
            "run": self.before.run,
            "freezes": self.before.freezes,
            "longest": self.before.longest,
            "started": self.before.started,
            "paid": sorted(self.paid),
        }

    @classmethod
    def from_item(cls, item: dict[str, Any] | None) -> "StreakState":
        """Inverse of :meth:`to_item`; None or an empty map is a user without activity."""
        if not item or not item.get("base"):
            return cls()
        return cls(
            base=date.fromisoformat(item["base"]),
            bits=int(item.get("bits") or "0", 16),
            before=Counters(int(item["run"]), int(item["freezes"]), int(item["longest"]), bool(item["started"])),
            paid=frozenset(int(n) for n in item.get("paid") or ()),
        )

    # ---- reading ----

    def active_dates(self) -> set[date]:
        """Active dates inside the window."""
        if self.base is None:
            return set()
        out, bits, i = set(), self.bits, 0
        while bits:
            if bits & 1:
                out.add(self.base + timedelta(days=i))
            bits >>= 1
            i += 1
        return out

    @property
    def last_active_date(self) -> date | None:
        """The newest active date (None: never active)."""
        if self.base is None or not self.bits:
            return None
        return self.base + timedelta(days=self.bits.bit_length() - 1)

    def is_active(self, d: date) -> bool:
        """True when local date ``d`` is active (inside the window)."""
        if self.base is None or d < self.base:
            return False
        return bool(self.bits >> (d - self.base).days & 1)

    def view(self, rule: StreakRule, today: date) -> StreakView:
        """The streak as of local date ``today`` (freezes spent on missed dates up to yesterday).

        When the newest active date lies after ``today`` (recorded in a zone ahead of the
        user's current one), the view is as of that date."""
        last = self.last_active_date
        if last is None or self.base is None:
            history = [(today - timedelta(days=i), "missed") for i in range(HISTORY_DAYS)]
            return StreakView(0, self.before.longest, None, False, False, 0, history)  # type: ignore[arg-type]
        # A date recorded in a zone ahead of today's may lie after today: it is then "today".
        today = until = max(today, last)
        active = self.active_dates()
        statuses: dict[date, Status] = {}
        c = self.before
        for d, c, status in rule_walker(rule).walk(c, self.base, until, active, today):
            statuses[d] = status
        history = [(d, statuses.get(d, "missed")) for d in (today - timedelta(days=i) for i in range(HISTORY_DAYS))]
        today_active = today in active
        current = c.run
        return StreakView(
            current=current,
            longest=c.longest,
            last_active_date=last,
            today_active=today_active,
            at_risk=current > 0 and not today_active,
            freezes_available=c.freezes,
            history=history,
        )

    def gap_before(self, rule: StreakRule, day: date) -> "StreakGap":
        """What the dates between the newest active date and local date ``day`` did to the
        run, for ``day`` about to become active: ``frozen`` dates (one freeze spent on each)
        and ``lost`` (length of the run that broke on ``lost_on``; 0: none). Empty when
        ``day`` is not after the newest active date plus one (nothing was missed)."""
        last = self.last_active_date
        if last is None or self.base is None or day <= last + timedelta(days=1):
            return StreakGap()
        frozen: list[date] = []
        lost, lost_on = 0, None
        c = self.before
        for d, after, status in rule_walker(rule).walk(self.before, self.base, day - timedelta(days=1), self.active_dates(), day):
            if d > last and status == "frozen":
                frozen.append(d)
            elif d > last and status == "missed" and c.run and not lost:
                lost, lost_on = c.run, d
            c = after
        return StreakGap(tuple(frozen), lost, lost_on)

    # ---- writing ----

    def record(self, rule: StreakRule, day: date, today: date, window: int) -> "StreakUpdate":
        """Mark local date ``day`` active (an accepted qualifying award on it) as of ``today``.

        ``window``: :func:`window_days` of the rules. A date older than the window's first
        date cannot change the sealed past and is ignored (``ignored``; only an operator's
        backfill can send one). Returns the new state, whether the date became active for the
        first time (``extended``) and milestones reached for the first time (``milestones``,
        ascending lengths).
        """
        if self.base is not None and day < self.base:
            return StreakUpdate(self, False, (), ignored=True)
        if self.is_active(day):
            return StreakUpdate(self, False, ())
        walker = rule_walker(rule)
        base, bits, before = self.base, self.bits, self.before
        if base is None:
            base, bits = day - timedelta(days=window - 1), 0
        elif day < base:  # pragma: no cover - excluded above
            raise AssertionError
        bits |= 1 << (day - base).days
        # Slide the window so that it ends at the newest active date: fold the dates that
        # leave it into the counters (they are sealed: no accepted event can reach them).
        newest = base + timedelta(days=bits.bit_length() - 1)
        new_base = newest - timedelta(days=window - 1)
        if new_base > base:
            shift = (new_base - base).days
            folded = {base + timedelta(days=i) for i in range(shift) if bits >> i & 1}
            for _, before, _ in walker.walk(before, base, new_base - timedelta(days=1), folded, date.max):
                pass
            bits >>= shift
            base = new_base
        state = StreakState(base, bits, before, self.paid)
        longest = state.view(rule, today).longest
        reached = tuple(n for n in rule.milestones if n <= longest and n not in self.paid)
        if reached:
            state = state._replace(paid=self.paid | frozenset(reached))
        return StreakUpdate(state, True, reached)


class StreakGap(NamedTuple):
    """Result of :meth:`StreakState.gap_before`: local dates ``frozen`` (a freeze spent on
    each, oldest first) and the run of ``lost`` active dates that broke on ``lost_on``."""

    frozen: tuple[date, ...] = ()
    lost: int = 0
    lost_on: date | None = None


class StreakUpdate(NamedTuple):
    """Result of :meth:`StreakState.record`."""

    state: StreakState
    extended: bool
    milestones: tuple[int, ...] = ()
    ignored: bool = False

