"""Response parts that say what an award paid and unlocked (a streak's run, a reward, an
unlocked achievement), shared by the award, topic-attempt and achievement routes' models: in
a module of their own so that those routes do not create each other's models (cold start);
:mod:`gamification.api.models` re-exports them."""

from gamification.api.models import _Model


class StreakSummary(_Model):
    """The daily streak after an award: ``extended`` when this award made its local date
    active for the first time."""

    current: int
    longest: int
    extended: bool


class RewardInfo(_Model):
    """XP (cap-exempt) and coins paid once."""

    xp: int
    coins: int


class UnlockedAchievement(_Model):
    """One achievement an award unlocked (its reward is already in the totals)."""

    id: str
    name: str
    category: str
    reward: RewardInfo
    badge: bool = False
