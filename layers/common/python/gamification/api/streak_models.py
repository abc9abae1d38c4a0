"""Response models of ``GET /v1/users/{user_id}/streak`` (docs/streaks.md), in their own
module so that a function creates only its route's models (cold start);
:mod:`gamification.api.models` re-exports them."""

from gamification.api.models import _Model


class StreakDay(_Model):
    """One local date of the streak history."""

    date: str
    status: str  # active | frozen | missed


class StreakResponse(_Model):
    """``GET /v1/users/{user_id}/streak`` (local dates in ``timezone``)."""

    user_id: str
    timezone: str
    today: str
    current: int
    longest: int
    last_active_date: str | None
    today_active: bool
    at_risk: bool
    freezes_available: int
    history: list[StreakDay]
