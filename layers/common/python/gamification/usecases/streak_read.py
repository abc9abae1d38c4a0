"""``GET /v1/users/{user_id}/streak`` (docs/streaks.md): one GetItem of the profile, which
holds the streak state; no writes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gamification.api.streak_models import StreakResponse
from gamification.dal import keys
from gamification.domain.errors import NotFound
from gamification.domain.periods import local_date
from gamification.usecases.outcome import Outcome
from gamification.usecases.progression_profile import user_zone
from gamification.usecases.progression_view import streak_view

if TYPE_CHECKING:
    from gamification.usecases.context import Context


def streak(ctx: Context, tenant: str, user_id: str) -> Outcome[StreakResponse]:
    """Current and longest streak, freezes and 14 local dates of history, in the user's zone.
    Raises NotFound when the rules have no daily streak."""
    rules = ctx.rules
    if rules.streaks.daily is None:
        raise NotFound("These rules define no daily streak (streaks.daily)")
    profile = ctx.store.get(keys.profile_key(tenant, user_id)) or {}
    now = ctx.now()
    view = streak_view(rules, profile, now)
    assert view is not None  # the rules have a daily streak
    zone = user_zone(rules, profile)
    return Outcome(StreakResponse.model_validate({
        "user_id": user_id,
        "timezone": zone.key,
        "today": local_date(now, zone).isoformat(),
        "current": view.current,
        "longest": view.longest,
        "last_active_date": view.last_active_date.isoformat() if view.last_active_date else None,
        "today_active": view.today_active,
        "at_risk": view.at_risk,
        "freezes_available": view.freezes_available,
        "history": [{"date": d.isoformat(), "status": s} for d, s in view.history],
    }))  # fmt: skip
