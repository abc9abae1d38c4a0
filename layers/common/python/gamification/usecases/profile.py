"""``GET /v1/users/{user_id}``: total XP, level, progress, coin balance and the streak,
achievement and badge fields, from one GetItem of the profile; the dashboard embeds it.
Apart from the other reads (:mod:`gamification.usecases.reads`, which re-exports it) so that
these two routes create none of those routes' models."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gamification.api.profile_models import ProfileResponse
from gamification.dal import keys
from gamification.domain.levels import progress_for_xp
from gamification.usecases.outcome import Outcome
from gamification.usecases.progression_view import profile_fields

if TYPE_CHECKING:
    from gamification.usecases.context import Context


def profile(ctx: Context, tenant: str, user_id: str) -> Outcome[ProfileResponse]:
    """Total XP, level, progress and coin balance; an unknown user reads as new. One GetItem."""
    item = ctx.store.get(keys.profile_key(tenant, user_id)) or {}
    total = int(item.get("total_xp", ctx.rules.xp.start))
    prog = progress_for_xp(ctx.rules, total)
    return Outcome(
        ProfileResponse(
            user_id=user_id,
            total_xp=total,
            level=prog.level.level,
            level_name=prog.level.name,
            xp_into_level=prog.xp_into_level,
            xp_for_next_level=prog.xp_for_next_level,
            progress=prog.progress,
            coins_balance=int(item.get("coins_balance", 0)),
            # Streaks, achievements and badges, from the same item.
            **profile_fields(ctx.rules, item, ctx.now()),
        )
    )
