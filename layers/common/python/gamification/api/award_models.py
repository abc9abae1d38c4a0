"""Request and response models of the award routes (``POST /v1/users/{user_id}/xp`` and
``/coins``; docs/api.md), in their own module so that a function loads only its route's models
(cold start); :mod:`gamification.api.models` re-exports them."""

from typing import Annotated

from pydantic import StrictStr, StringConstraints

from gamification.api.models import ID_PATTERN, EventTime, Metadata, RuleName, _Model, _Request, whole_number
from gamification.api.reward_models import RewardInfo, StreakSummary, UnlockedAchievement  # noqa: F401 - re-exported


class AwardXpRequest(_Request):
    """``POST /v1/users/{user_id}/xp`` body. ``occurred_at`` (RFC 3339 with offset) defaults
    to now; ``metadata`` is stored on the ledger entry (JSON object, at most 2 KB).
    ``amount`` (signed XP, optional) is required by, and only allowed for, actions the rules
    declare with ``min``/``max`` (e.g. a bounty); fixed-XP actions are sent without it."""

    action: RuleName
    occurred_at: EventTime | None = None
    amount: whole_number(-1_000_000, 1_000_000) | None = None  # type: ignore[valid-type]
    #: Bounded in size, depth, keys, strings and numbers (gamification.api.bounds).
    metadata: Metadata = None


class AwardCoinsRequest(_Request):
    """``POST /v1/users/{user_id}/coins`` body: a once-per-window reward by ``reason``;
    ``scope`` for scoped rewards (e.g. a variant id), ``tier`` for tiered ones."""

    reason: RuleName
    scope: Annotated[StrictStr, StringConstraints(pattern=ID_PATTERN)] | None = None
    tier: RuleName | None = None
    occurred_at: EventTime | None = None


class DailyUsage(_Model):
    """Today's usage after an award (XP; ``None`` limits mean unlimited)."""

    date: str
    resets_at: str
    xp_gained: int
    xp_cap: int | None
    xp_remaining: int | None
    action_count: int
    action_limit: int | None
    action_remaining: int | None


class AwardXpResponse(_Model):
    """Result of an XP award (Mikoshi's ``{exp_added, total_exp, level, leveled_up}``, extended)."""

    event_id: str
    user_id: str
    action: str
    occurred_at: str
    xp_awarded: int
    xp_requested: int
    capped: bool
    total_xp: int
    level: int
    level_name: str
    leveled_up: bool
    coins_awarded: int
    coins_balance: int
    daily: DailyUsage
    #: True when a penalty was cut so the total stays at the rules' floor (signed awards, docs/replay.md).
    floored: bool = False
    #: Streaks and achievements: the daily streak after the award (None without one).
    streak: StreakSummary | None = None
    achievements_unlocked: list[UnlockedAchievement] = []


class AwardCoinsResponse(_Model):
    """Result of a once-reward: ``awarded`` is true the first time in the window; ``amount``
    is the coins this request added (0 on a repeat); ``balance`` is the balance after it."""

    awarded: bool
    amount: int
    balance: int
    reason: str
    scope: str | None
    tier: str | None
    window: str
    window_key: str
    event_id: str | None
    #: Streaks and achievements: coin awards count toward ``coins_earned`` criteria.
    achievements_unlocked: list[UnlockedAchievement] = []
