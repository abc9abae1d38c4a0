"""``GET /v1/users/{user_id}/achievements`` (docs/achievements.md): one GetItem of the
profile, which holds the unlocks and the figures the criteria count; no writes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from gamification.api.achievement_models import UserAchievementsResponse
from gamification.dal import keys
from gamification.domain.achievements import Figures, progress
from gamification.domain.levels import level_for_xp
from gamification.usecases.outcome import Outcome
from gamification.usecases.progression_profile import (
    ACHIEVEMENTS,
    ACTION_COUNTS,
    ACTIVE_BADGE,
    COINS_EARNED,
    badges,
    reward_fields,
)
from gamification.usecases.progression_view import streak_view

if TYPE_CHECKING:
    from gamification.domain.rules import Rules
    from gamification.usecases.context import Context


def figures_of(rules: Rules, profile: Mapping[str, Any] | None, total_xp: int, streak: int) -> Figures:
    """The user's lifetime figures for achievement criteria."""
    profile = profile or {}
    return Figures(
        total_xp=total_xp,
        level=level_for_xp(rules, total_xp).level,
        streak=streak,
        action_counts={k: int(v) for k, v in (profile.get(ACTION_COUNTS) or {}).items()},
        coins_earned=int(profile.get(COINS_EARNED, 0)),
    )


def achievements(ctx: Context, tenant: str, user_id: str) -> Outcome[UserAchievementsResponse]:
    """Every visible achievement with the user's progress; hidden ones only once unlocked."""
    rules = ctx.rules
    profile = ctx.store.get(keys.profile_key(tenant, user_id)) or {}
    view = streak_view(rules, profile, ctx.now())
    total = int(profile.get("total_xp", rules.xp.start))
    figures = figures_of(rules, profile, total, view.current if view else 0)
    unlocked = profile.get(ACHIEVEMENTS) or {}
    out = []
    for aid, ach in rules.achievements.items():
        done = aid in unlocked
        if ach.hidden and not done:
            continue
        p = progress(ach.criteria, figures)
        out.append(
            {"id": aid, "name": ach.name, "category": ach.category, "description": ach.description,
             "unlocked": done, "unlocked_at": unlocked.get(aid),
             "progress": {"current": p.target if done else p.current, "target": p.target,
                          "criterion": p.criterion},
             "reward": reward_fields(ach.reward), "badge": ach.badge, "hidden": ach.hidden}
        )  # fmt: skip
    return Outcome(UserAchievementsResponse.model_validate({"user_id": user_id, "achievements": out,
                   "badges": badges(rules, unlocked), "active_badge": profile.get(ACTIVE_BADGE)}))  # fmt: skip
