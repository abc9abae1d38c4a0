"""Response parts that say what an award paid and unlocked (a streak's run, an unlocked
achievement with its reward, :class:`~gamification.api.reward_info_models.RewardInfo`),
shared by the award and topic-attempt routes' models: in a module of their own so that those
routes do not create each other's models (cold start); :mod:`gamification.api.models`
re-exports them."""

from gamification.api.models import _Model
from gamification.api.reward_info_models import RewardInfo


class StreakSummary(_Model):
    """The daily streak after an award: ``extended`` when this award made its local date
    active for the first time."""

    current: int
    longest: int
    extended: bool


class UnlockedAchievement(_Model):
    """One achievement an award unlocked (its reward is already in the totals)."""

    id: str
    name: str
    category: str
    reward: RewardInfo
    badge: bool = False
