"""``PUT /v1/users/{user_id}/active-badge`` (docs/achievements.md): the one unlocked badge a
user shows, a profile attribute (:mod:`gamification.usecases.profile_writes`); DynamoDB
checks the unlock marker in the same transaction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from gamification.api.badge_models import ActiveBadgeRequest, ActiveBadgeResponse
from gamification.dal import keys
from gamification.domain.errors import BadgeNotUnlocked, GamificationError, NotABadge, UnknownBadge
from gamification.usecases.idempotency import Idempotency
from gamification.usecases.outcome import Outcome
from gamification.usecases.profile_writes import update_profile
from gamification.usecases.progression_profile import ACHIEVEMENTS, ACTIVE_BADGE, badges

if TYPE_CHECKING:
    from gamification.usecases.context import Context


def set_active_badge(
    ctx: Context, tenant: str, user_id: str, req: ActiveBadgeRequest, idempotency_key: str | None = None
) -> Outcome[ActiveBadgeResponse]:
    """Show one unlocked badge (``req.badge`` None: none). With an Idempotency-Key a retry
    replays the first response and changes nothing: a late retry never puts back a badge
    changed since (docs/api.md).

    Raises UnknownBadge (404), NotABadge (400), BadgeNotUnlocked (409: DynamoDB checks
    the unlock marker in the same transaction), IdempotencyKeyReused (422), Contention."""
    rules = ctx.rules
    idem = Idempotency.of(tenant, "set_active_badge", user_id, req, idempotency_key, ActiveBadgeResponse)
    badge = req.badge

    def respond(profile: Mapping[str, Any]) -> Outcome[ActiveBadgeResponse]:
        unlocked = profile.get(ACHIEVEMENTS) or {}
        body = {"user_id": user_id, "active_badge": badge, "badges": badges(rules, unlocked)}
        return Outcome(ActiveBadgeResponse.model_validate(body))

    if badge is None:
        return update_profile(ctx, tenant, user_id, {ACTIVE_BADGE: None}, idem, respond)
    ach = rules.achievements.get(badge)
    # A hidden achievement is unknown to a user who has not unlocked it (docs/achievements.md).
    unknown = UnknownBadge(f"Unknown badge: {badge}", badge=badge)
    try:
        if ach is None or (ach.hidden and not ach.badge):
            raise unknown
        if not ach.badge:
            raise NotABadge(f"Achievement {badge} is not a badge", badge=badge)
    except GamificationError as exc:  # a retry of a request that succeeded before the rules changed
        return idem.replay_or_raise(ctx.store, unknown if ach and ach.hidden else exc)
    try:
        return update_profile(ctx, tenant, user_id, {ACTIVE_BADGE: badge}, idem, respond,
                              require=keys.achievement_key(tenant, user_id, badge))  # fmt: skip
    except BadgeNotUnlocked:
        if ach.hidden:
            raise unknown from None
        raise
