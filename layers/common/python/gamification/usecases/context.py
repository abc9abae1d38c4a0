"""What every use case runs with: the rules, the store, the clock and the retry policy
(:class:`gamification.usecases.engine.Engine` provides it); and two steps that every award
(XP, coins, a topic attempt) takes alike: the instant it counts at, and the opening balance
of a profile it creates."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from gamification.dal import items
from gamification.dal.protocol import Store
from gamification.domain.awards import check_event_time
from gamification.usecases.retry import Retry

if TYPE_CHECKING:  # annotations only: the rules load with the engine, on the first request
    from gamification.dal.store import Transaction
    from gamification.domain.rules import Rules


class Context(Protocol):
    """``now`` returns an aware UTC instant; ``backfill`` accepts events older than the
    rules' ``max_event_age`` (operator tools only, never the HTTP API)."""

    rules: Rules
    store: Store
    now: Callable[[], datetime]
    backfill: bool

    @property
    def retry(self) -> Retry: ...


def event_time(ctx: Context, occurred_at: datetime | None, now: datetime) -> datetime:
    """The instant an award counts at (default: now). Raises ValidationFailed (400) when
    ``occurred_at`` is in the future or older than ``max_event_age`` (unless backfilling)."""
    if occurred_at is None:
        return now
    check_event_time(occurred_at, now, ctx.rules, backfill=ctx.backfill)
    return occurred_at


def opening_balance(
    ctx: Context, tx: Transaction, tenant: str, user_id: str, occurred: datetime, now: datetime, event_id: str
) -> int:
    """For a profile about to be created: the rules' starting XP, recorded as a
    ``starting_balance`` ledger entry in ``tx``. Returns the XP to add (0: none)."""
    start = ctx.rules.xp.start
    if start:
        tx.put_new(*items.starting_balance(tenant, user_id, xp=start, first_event=occurred, now=now, event_id=event_id))
    return start
