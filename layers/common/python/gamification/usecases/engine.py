"""The engine facade: one object per rules file and table that the handlers, the runtime
and the operator tools call. Each method is one use case, in its own module:

- :func:`gamification.usecases.award_xp.award_xp` and
  :func:`gamification.usecases.award_coins.award_coins`: two DynamoDB round trips in the
  common case (one strongly consistent ``BatchGetItem``, one conditional
  ``TransactWriteItems``), on the read -> decide -> commit skeleton of
  :mod:`gamification.usecases.optimistic`; a request that keeps losing races gets
  :class:`~gamification.domain.errors.Contention` (503), safe to retry with the same
  ``Idempotency-Key`` (:mod:`gamification.usecases.idempotency`);
- :mod:`gamification.usecases.reads`: limits, levels, leaderboard; :mod:`gamification.usecases.profile`.

Every method returns an :class:`~gamification.usecases.outcome.Outcome` holding the typed
response model. Each method imports its use case on first call: a function serves one route,
so a read route never loads the award path (optimistic writes, idempotency, board updates)
and a non-leaderboard route never loads the leaderboard reader (cold start).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from gamification import clock
from gamification.domain.errors import Contention
from gamification.usecases.outcome import Outcome
from gamification.usecases.retry import Retry

if TYPE_CHECKING:  # annotations only: a route that builds an Engine creates its own route's models, not all of these
    from gamification.api.models import (
        AwardCoinsRequest,
        AwardCoinsResponse,
        AwardXpRequest,
        AwardXpResponse,
        LeaderboardResponse,
        LevelsResponse,
        LimitsResponse,
        ProfileResponse,
    )
    from gamification.dal.protocol import Store
    from gamification.domain.rules import Rules


def _contention() -> Contention:
    return Contention("Too many concurrent updates for this user; retry with the same Idempotency-Key")


class Engine:
    """The gamification engine for one rules file over one table.

    ``now`` is injectable (tests, replays). Optimistic retries stop after ``max_attempts``
    or ``retry_budget_s`` seconds, whichever comes first (503 ``contention``).
    ``backfill`` (default off; only the replay/import tools turn it on, never the HTTP API)
    accepts events older than the rules' ``max_event_age``: each still counts on its own
    day, under that day's limits and caps.
    """

    def __init__(
        self,
        rules: Rules,
        store: Store,
        now: Callable[[], datetime] | None = None,
        max_attempts: int = 40,
        retry_budget_s: float = 5.0,
        *,
        backfill: bool = False,
    ) -> None:
        self.rules = rules
        self.store = store
        self.now = now or (lambda: clock.now())
        self.max_attempts = max_attempts
        self.retry_budget_s = retry_budget_s
        self.backfill = backfill

    @property
    def retry(self) -> Retry:
        """The retry policy of one request (jittered, bounded in attempts and time)."""
        return Retry(self.max_attempts, self.retry_budget_s, _contention)

    def award_xp(
        self, tenant: str, user_id: str, req: AwardXpRequest, idempotency_key: str | None
    ) -> Outcome[AwardXpResponse]:
        """See :func:`gamification.usecases.award_xp.award_xp`."""
        from gamification.usecases.award_xp import award_xp

        return award_xp(self, tenant, user_id, req, idempotency_key)

    def award_coins(
        self, tenant: str, user_id: str, req: AwardCoinsRequest, idempotency_key: str | None
    ) -> Outcome[AwardCoinsResponse]:
        """See :func:`gamification.usecases.award_coins.award_coins`."""
        from gamification.usecases.award_coins import award_coins

        return award_coins(self, tenant, user_id, req, idempotency_key)

    def limits(self, tenant: str, user_id: str, on: date | None = None) -> Outcome[LimitsResponse]:
        """See :func:`gamification.usecases.reads.limits`."""
        from gamification.usecases import reads

        return reads.limits(self, tenant, user_id, on)

    def levels(self) -> Outcome[LevelsResponse]:
        """See :func:`gamification.usecases.reads.levels`."""
        from gamification.usecases import reads

        return reads.levels(self.rules)

    def profile(self, tenant: str, user_id: str) -> Outcome[ProfileResponse]:
        """See :func:`gamification.usecases.profile.profile`."""
        from gamification.usecases.profile import profile

        return profile(self, tenant, user_id)

    def leaderboard(
        self, tenant: str, board: str, period: str, on: date | None = None, **options: Any
    ) -> Outcome[LeaderboardResponse]:
        """See :func:`gamification.usecases.reads.leaderboard`."""
        from gamification.usecases import reads

        return reads.leaderboard(self, tenant, board, period, on, **options)
