"""Response models of ``GET /v1/users/{user_id}/achievements`` (docs/achievements.md), in
their own module so that a function creates only its route's models (cold start);
:mod:`gamification.api.models` re-exports them."""

from gamification.api.models import _Model
from gamification.api.reward_info_models import RewardInfo


class ProgressInfo(_Model):
    """Toward an achievement: its least complete criterion."""

    current: int
    target: int
    criterion: str


class UserAchievement(_Model):
    id: str
    name: str
    category: str
    description: str | None
    unlocked: bool
    unlocked_at: str | None
    progress: ProgressInfo
    reward: RewardInfo
    badge: bool
    hidden: bool


class UserAchievementsResponse(_Model):
    """``GET /v1/users/{user_id}/achievements``: hidden ones appear once unlocked."""

    user_id: str
    achievements: list[UserAchievement]
    badges: list[str]
    active_badge: str | None
