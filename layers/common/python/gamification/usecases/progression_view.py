"""The streak view of a user's profile item and the progression fields of the profile
response (docs/streaks.md, docs/achievements.md), shared by the streak and achievement
reads and the profile read (:func:`gamification.usecases.profile.profile`, which the
dashboard embeds); apart from the award path (:mod:`gamification.usecases.progression`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from gamification.domain.periods import local_date
from gamification.domain.streaks import StreakState
from gamification.usecases.progression_profile import ACHIEVEMENTS, ACTIVE_BADGE, STREAK, badges, user_zone

if TYPE_CHECKING:  # annotations only
    from gamification.domain.rules import Rules
    from gamification.domain.streaks import StreakView


def streak_view(rules: Rules, profile: Mapping[str, Any], now: datetime) -> StreakView | None:
    """The user's daily streak at ``now`` (today in the user's zone), None when the rules
    have no daily streak (``streaks.daily``)."""
    rule = rules.streaks.daily
    if rule is None:
        return None
    today = local_date(now, user_zone(rules, profile))
    return StreakState.from_item(profile.get(STREAK)).view(rule, today)


def profile_fields(rules: Rules, profile: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """Fields the profile response gains: ``streak_current``, ``streak_longest``,
    ``last_active_date``, ``badges``, ``active_badge``, ``achievements_count``, ``timezone``."""
    view = streak_view(rules, profile, now)
    unlocked = profile.get(ACHIEVEMENTS) or {}
    return {
        "streak_current": view.current if view else 0,
        "streak_longest": view.longest if view else 0,
        "last_active_date": view.last_active_date.isoformat() if view and view.last_active_date else None,
        "badges": badges(rules, unlocked),
        "active_badge": profile.get(ACTIVE_BADGE),
        "achievements_count": sum(1 for aid in unlocked if aid in rules.achievements),
        "timezone": user_zone(rules, profile).key,
    }
