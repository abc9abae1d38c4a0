"""Response model of ``GET /v1/users/{user_id}`` (docs/api.md), which the dashboard embeds: in
its own module so that the profile and dashboard functions create no other read route's
models (cold start); :mod:`gamification.api.models` re-exports it."""

from gamification.api.models import _Model


class ProfileResponse(_Model):
    """``GET /v1/users/{user_id}``: totals and progress; an unknown user reads as new."""

    user_id: str
    total_xp: int
    level: int
    level_name: str
    xp_into_level: int
    xp_for_next_level: int | None
    progress: float
    coins_balance: int
    # Streaks, achievements and badges.
    streak_current: int = 0
    streak_longest: int = 0
    last_active_date: str | None = None
    badges: list[str] = []
    active_badge: str | None = None
    achievements_count: int = 0
    timezone: str | None = None
