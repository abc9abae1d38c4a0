"""Response models of ``GET /v1/users/{user_id}/dashboard`` (field names fixed by the API
contract, README "Dashboard"), apart from the ledger routes' models, so that those routes do
not create the profile and other read models the dashboard embeds."""

from typing import Any

from gamification.api.ledger_models import LedgerEntry
from gamification.api.models import _Model
from gamification.api.profile_models import ProfileResponse


class DashboardBoard(_Model):
    """The user's position on one board period (``rank`` null when not on it)."""

    board: str
    period: str
    period_key: str
    rank: int | None
    score: int


class DashboardResponse(_Model):
    """``GET /v1/users/{user_id}/dashboard``: one read for an app's home screen."""

    user_id: str
    profile: ProfileResponse
    streak: dict[str, Any] | None
    recent_unlocks: list[dict[str, Any]]
    boards: list[DashboardBoard]
    recent_entries: list[LedgerEntry]
    unread_notifications: int = 0
