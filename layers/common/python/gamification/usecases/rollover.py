"""Scheduled period roll-over: freeze every ended board period's top N and pay its prizes.

A period is *ended* for the roll-over once ``end + max_event_age + SKEW`` has passed: before
that a late event (``occurred_at`` up to ``max_event_age`` old) could still move the board,
so a snapshot taken earlier would not be final. Live boards never depend on this job.

Per tenant (from the registry), board and ending period (daily/weekly/monthly) a cursor
holds the last finalised period key. A run finalises, oldest first, every ended period after
the cursor (or from the tenant's ``first_seen`` minus ``max_event_age``), at most
``max_periods`` per board period per run, and moves the cursor after each one:

1. snapshot: one item ``{entries: [{rank, user_id, score}], finalised_at, ...}`` created
   with ``attribute_not_exists`` (immutable; a repeated run reads the existing one);
2. prizes: ``prizes[i]`` coins to rank ``i+1``, each paid once by a once-marker
   (``ONCE#leaderboard_prize#{board}.{period}.{rank}#{period_key}``) written with
   ``attribute_not_exists`` in the same transaction as the coin ledger entry and balance;
3. cursor: conditional on the value read, so two overlapping runs never skip a period.

Running it twice does nothing more; running late or after missed runs catches up. Running
early is refused: a scheduled event's time more than :data:`MAX_EVENT_AHEAD` ahead of the
clock runs nothing (:func:`scheduled_instant`; docs/leaderboards.md, "Roll-over").
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from gamification.dal import items, keys
from gamification.dal.board_store import BoardStore
from gamification.dal.store import Store, WriteConflict, version_of
from gamification.domain.leaderboards import ENDING_PERIODS, ended_periods, next_period_day, ranked
from gamification.domain.periods import local_date
from gamification.usecases.boards import BoardRef, LeaderboardReader
from gamification.usecases.retry import Retry

if TYPE_CHECKING:  # annotations only: the rules load with the engine, on the first request
    from gamification.domain.rules import Rules

PRIZE_REASON = "leaderboard_prize"
#: Clock skew allowed between the functions that award and the roll-over.
SKEW = timedelta(minutes=1)
#: How far a scheduled event's ``time`` may be ahead of the roll-over's own clock: the
#: scheduler stamps the scheduled instant and invokes at or after it, so a real event is
#: never ahead by more than the clocks' skew; 5 minutes, as for an event's ``occurred_at``
#: (docs/api.md). A later time is refused (:func:`scheduled_instant`).
MAX_EVENT_AHEAD = timedelta(minutes=5)
#: Optimistic attempts per prize (each: one read, one transaction), and their time budget.
MAX_PRIZE_ATTEMPTS = 20
PRIZE_RETRY_BUDGET_S = 30.0


@dataclass
class RolloverReport:
    """What one run did: ``finalised`` ``[{tenant, board, period, period_key}]``, prizes
    paid; ``skipped`` says why a run refused to start."""

    now: str
    tenants: int = 0
    finalised: list[dict[str, str]] = field(default_factory=list)
    prizes_paid: int = 0
    #: Why the run did nothing at all (an event time ahead of the clock), else None.
    skipped: str | None = None

    @classmethod
    def refused(cls, error: EventTimeAhead) -> RolloverReport:
        """The report of a run refused by :func:`scheduled_instant`: nothing done."""
        return cls(now=keys.stamp(error.clock), skipped=str(error))


class Rollover:
    """Finalises ended board periods for registered tenants. ``max_periods`` bounds one
    run's work per (tenant, board, period); the next run continues from the cursor."""

    def __init__(self, rules: Rules, store: Store, max_periods: int = 400) -> None:
        self.rules = rules
        self.store = store
        self.boards = BoardStore(store)
        self.reader = LeaderboardReader(rules, store)
        self.max_periods = max_periods

    @property
    def grace(self) -> timedelta:
        """How long after its end a period can still receive awards (plus clock skew)."""
        return self.rules.max_event_age + SKEW

    def run(self, now: datetime, tenants: list[str] | None = None) -> RolloverReport:
        """Finalise every ended period of every board for ``tenants`` (default: the registry)."""
        registry = {str(t["tenant_id"]): t for t in self.boards.tenants()}
        report = RolloverReport(now=keys.stamp(now))
        for tenant in tenants if tenants is not None else sorted(registry):
            entry = registry.get(tenant)
            first_seen = datetime.fromisoformat(entry["first_seen"].replace("Z", "+00:00")) if entry else now
            report.tenants += 1
            self.run_tenant(tenant, first_seen, now, report)
        return report

    def run_tenant(self, tenant: str, first_seen: datetime, now: datetime, report: RolloverReport) -> None:
        """Catch up one tenant's boards (see the module docstring)."""
        zone = self.rules.zone
        for name, board in self.rules.leaderboards.items():
            for period in board.periods:
                if period not in ENDING_PERIODS:
                    continue
                ck = keys.rollover_cursor_key(tenant, name, period)
                seen = self.boards.cursor(ck)
                start = (
                    next_period_day(period, seen) if seen else local_date(first_seen - self.rules.max_event_age, zone)
                )
                for pkey in ended_periods(period, start, now, zone, self.grace, self.max_periods):
                    report.prizes_paid += self.finalise(tenant, name, period, pkey, now)
                    if not self.boards.advance_cursor(ck, seen, pkey, now):
                        break  # another run is on this board period; it will carry on
                    seen = pkey
                    report.finalised.append({"tenant": tenant, "board": name, "period": period, "period_key": pkey})

    def finalise(self, tenant: str, board: str, period: str, period_key: str, now: datetime) -> int:
        """Snapshot one ended board period (once) and pay its prizes (each once).
        Returns the number of prizes paid by this call."""
        rule = self.rules.leaderboards[board]
        sk = keys.board_snapshot_key(tenant, board, period, period_key)
        snap = self.boards.snapshot(sk)
        if snap is None:
            ref = BoardRef(tenant, board, period, period_key, rule.shards)
            entries = ranked(self.reader.top(ref, rule.snapshot_size))
            attrs = {
                "board": board,
                "period": period,
                "period_key": period_key,
                "metric": rule.metric,
                "entries": entries,
                "size": len(entries),
                "finalised_at": keys.stamp(now),
            }
            if not self.boards.put_snapshot(sk, attrs):
                snap = self.boards.snapshot(sk)
            else:
                snap = attrs
        assert snap is not None
        paid = 0
        for entry, amount in zip(snap["entries"], rule.prizes):
            rank = int(entry["rank"])
            paid += self.pay_prize(tenant, str(entry["user_id"]), f"{board}.{period}.{rank}", period_key, amount, now)
        return paid

    def pay_prize(self, tenant: str, user_id: str, scope: str, period_key: str, amount: int, now: datetime) -> int:
        """``amount`` coins once per (scope, period_key): once-marker + coin ledger entry +
        balance in one transaction, like a once-per-window coin reward. 1 if paid now, 0 if
        it had been paid. Prize coins do not count on ``coins`` boards (no feedback loop)."""
        k_profile = keys.profile_key(tenant, user_id)
        k_once = keys.once_key(tenant, user_id, PRIZE_REASON, scope, period_key)
        retry = Retry(MAX_PRIZE_ATTEMPTS, PRIZE_RETRY_BUDGET_S, lambda: WriteConflict(["PrizeContention"]))
        for _ in retry.attempts():
            profile, marker = self.store.get_many([k_profile, k_once])
            if marker:
                return 0
            balance = int(profile.get("coins_balance", 0)) if profile else 0
            event_id = uuid.uuid4().hex
            tx = self.store.transaction()
            tx.put_new(*items.once_marker(
                tenant, user_id, reason=PRIZE_REASON, scope=scope, window_key=period_key, event_id=event_id, now=now
            ))  # fmt: skip
            tx.put_new(*items.coin_entry(
                tenant, user_id, event_id=event_id, occurred=now, recorded=now, reason=PRIZE_REASON, amount=amount,
                balance=balance + amount, scope=scope, window_key=period_key,
            ))  # fmt: skip
            tx.bump_profile(k_profile, version_of(profile), user_id=user_id, now=now, coins=amount)
            try:
                self.store.commit(tx)
            except WriteConflict:
                continue
            return 1
        raise AssertionError("unreachable: Retry.attempts raises when exhausted")


class EventTimeAhead(ValueError):
    """A scheduled event whose ``time`` is more than :data:`MAX_EVENT_AHEAD` past the clock:
    a run at that instant would take periods still running for ended (their snapshot frozen
    incomplete, their prizes paid early), so nothing is run."""

    def __init__(self, event_time: datetime, clock: datetime) -> None:
        super().__init__(
            f"event time {keys.stamp(event_time)} is more than {int(MAX_EVENT_AHEAD.total_seconds())} s ahead of "
            f"the clock ({keys.stamp(clock)}); roll-over skipped, nothing written"
        )
        self.event_time, self.clock = event_time, clock


def scheduled_instant(event: dict[str, Any], now: datetime) -> datetime:
    """The instant a scheduled event stands for: its ``time`` (RFC 3339, as EventBridge and
    EventBridge Scheduler send it), else ``now`` (the function's clock). An earlier time is
    taken as it is (a late or replayed run: ``make invoke`` with events/rollover.json).

    Raises ValueError for a bad ``time``, :class:`EventTimeAhead` for one more than
    :data:`MAX_EVENT_AHEAD` ahead of ``now``."""
    raw = (event or {}).get("time")
    if not raw:
        return now
    instant = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    if instant.tzinfo is None:
        raise ValueError(f"event time has no offset: {raw}")
    if instant > now + MAX_EVENT_AHEAD:
        raise EventTimeAhead(instant, now)
    return instant
