"""What the streak, achievement, badge and time-zone features keep on a user's profile item
(docs/streaks.md, docs/achievements.md) and the small reads of it that the award path
(:mod:`gamification.usecases.progression`), the routes and the erasure share, with nothing
else: a route that imports this loads neither the award path nor the streak maths."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gamification.dal import keys

if TYPE_CHECKING:  # annotations only
    from gamification.domain.rules import Rules
    from gamification.domain.streak_rules import Reward

#: Profile attributes of this feature.
STREAK, ACTION_COUNTS, COINS_EARNED, ACHIEVEMENTS, ACTIVE_BADGE, TIMEZONE = (
    "streak", "action_counts", "coins_earned", "achievements", "active_badge", "timezone",
)  # fmt: skip


def user_zone(rules: Rules, profile: Mapping[str, Any] | None) -> ZoneInfo:
    """The user's time zone (``PUT /v1/users/{id}/timezone``): the profile's ``timezone``
    when it names an IANA zone, else the rules' zone. Streaks, badges, topic days and
    reviews all date by it."""
    name = (profile or {}).get(TIMEZONE)
    if isinstance(name, str) and name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return rules.zone


def zone_name(zone: ZoneInfo) -> str:
    """The IANA name of ``zone``, as topic items and answers record it."""
    return zone.key or str(zone)


def shard_for(user_id: str) -> int:
    """Count shard of a user's unlocks (stable per user)."""
    return int(hashlib.sha256(user_id.encode()).hexdigest()[:8], 16) % keys.ACHIEVEMENT_COUNT_SHARDS


def badges(rules: Rules, unlocked: Mapping[str, Any]) -> list[str]:
    """The ids of the badges among ``unlocked`` (the profile's ``achievements``: id ->
    unlock time), in the rules' order."""
    return [aid for aid, ach in rules.achievements.items() if ach.badge and aid in unlocked]


def reward_fields(reward: Reward | None) -> dict[str, int]:
    """An achievement's reward as the API shows it: ``{xp, coins}`` (0 and 0 for none)."""
    return {"xp": reward.xp if reward else 0, "coins": reward.coins if reward else 0}
