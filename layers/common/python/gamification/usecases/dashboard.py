"""``GET /v1/users/{id}/dashboard``: one read for an app's home screen (Progressive Flow's
``user_dashboard_summary``): profile, streak, recent unlocks, rank on each board period,
recent ledger entries and the unread notification count.

Cost for B board periods with S shards each: 1 GetItem (profile) + 1 Query (the 5 newest
ledger entries, GSI ``ledger``) + 1 Query (the notification inbox, at most 100 items) + per
board period 1 GetItem and, when the user is on it, about S x (1..5) count-range Queries
and S tie Queries (bounded rank reads, docs/leaderboards.md). With the bundled rules (one
board, 4 periods, 1 shard): 3 + 4 x (1 to 7) requests. The reads run one after another; no
writes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gamification.api.dashboard_models import DashboardBoard, DashboardResponse
from gamification.domain.periods import local_date
from gamification.usecases.boards import LeaderboardReader
from gamification.usecases.ledger_reads import LedgerReads
from gamification.usecases.outcome import Outcome

if TYPE_CHECKING:  # annotations only
    from gamification.usecases.engine import Engine

RECENT_ENTRIES = 5
STREAK_FIELDS = ("streak_current", "streak_longest", "last_active_date")


class Dashboard:
    def __init__(self, engine: Engine, notifications: Any = None) -> None:
        self.engine = engine
        self.notifications = notifications

    def read(self, tenant: str, user_id: str) -> Outcome:
        """The dashboard body (see :class:`DashboardResponse`); an unknown user reads as new."""
        engine = self.engine
        profile = engine.profile(tenant, user_id).body
        streak = {k.removeprefix("streak_"): profile[k] for k in STREAK_FIELDS if k in profile} or None
        today = local_date(engine.now(), engine.rules.zone)
        reader = LeaderboardReader(engine.rules, engine.store)
        boards = []
        for name, rule in engine.rules.leaderboards.items():
            for period in rule.periods:
                ref = reader.ref(tenant, name, period, today)
                row, rank = reader.position(ref, user_id)
                boards.append(
                    DashboardBoard(board=name, period=period, period_key=ref.period_key, rank=rank,
                                   score=row.score if row else 0)  # fmt: skip
                )
        unlocks: list[dict[str, Any]] = []
        unread = 0
        if self.notifications is not None:
            inbox = self.notifications.inbox(tenant, user_id)
            unread = sum(not n["read"] for n in inbox)
            unlocks = [n for n in inbox if n["type"] == "achievement.unlocked"][:RECENT_ENTRIES]
        body = DashboardResponse(
            user_id=user_id,
            profile=profile,
            streak=streak,
            recent_unlocks=unlocks,
            boards=boards,
            recent_entries=LedgerReads(engine).recent(tenant, user_id, RECENT_ENTRIES),
            unread_notifications=unread,
        )
        return Outcome(body)
