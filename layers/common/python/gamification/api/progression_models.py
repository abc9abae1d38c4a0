"""Models of the streak, achievement, badge and time-zone routes (docs/streaks.md,
docs/achievements.md), in their own module so that a function loads only its route's models
(cold start); :mod:`gamification.api.models` re-exports them."""

from typing import Annotated, Any

from pydantic import Field, StrictStr, StringConstraints

from gamification.api.reward_models import RewardInfo
from gamification.api.models import RuleName, _Model, _Request


class TimezoneRequest(_Request):
    """``PUT /v1/users/{user_id}/timezone``: an IANA zone name such as ``Europe/Berlin``."""

    timezone: Annotated[StrictStr, StringConstraints(min_length=1, max_length=64)] = Field(
        json_schema_extra={"x-rules": "timezones"}  # the document lists the IANA names
    )


class TimezoneResponse(_Model):
    user_id: str
    timezone: str
    today: str


class ActiveBadgeRequest(_Request):
    """``PUT /v1/users/{user_id}/active-badge``: an unlocked badge's id, or null for none."""

    badge: RuleName | None


class ActiveBadgeResponse(_Model):
    user_id: str
    active_badge: str | None
    badges: list[str]


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


class CatalogueEntry(_Model):
    id: str
    name: str
    category: str
    description: str | None
    criteria: dict[str, Any]
    reward: RewardInfo
    badge: bool
    hidden: bool
    unlocked_count: int


class CatalogueResponse(_Model):
    """``GET /v1/achievements``: the operator's view, hidden ones included."""

    achievements: list[CatalogueEntry]
