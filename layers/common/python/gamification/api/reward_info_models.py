"""The reward an achievement or a streak milestone pays, as the answers show it: in a module of
its own so that the achievement and catalogue routes, which show it, do not create the award
routes' parts (:mod:`gamification.api.reward_models`, which re-exports it)."""

from gamification.api.models import _Model


class RewardInfo(_Model):
    """XP (cap-exempt) and coins paid once."""

    xp: int
    coins: int
