"""What every use case runs with: the rules, the store, the clock and the retry policy
(:class:`gamification.usecases.engine.Engine` provides it)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from gamification.dal.protocol import Store
from gamification.domain.awards import check_event_time
from gamification.usecases.retry import Retry

if TYPE_CHECKING:  # annotations only
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
