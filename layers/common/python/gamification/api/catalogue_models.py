"""Response models of ``GET /v1/achievements``, the achievement catalogue
(docs/achievements.md), in their own module so that a function creates only its route's
models (cold start); :mod:`gamification.api.models` re-exports them."""

from typing import Any

from gamification.api.models import _Model
from gamification.api.reward_info_models import RewardInfo


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
