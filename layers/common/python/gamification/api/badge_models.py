"""Models of ``PUT /v1/users/{user_id}/active-badge`` (docs/achievements.md), in their own
module so that a function creates only its route's models (cold start);
:mod:`gamification.api.models` re-exports them."""

from gamification.api.models import RuleName, _Model, _Request


class ActiveBadgeRequest(_Request):
    """``PUT /v1/users/{user_id}/active-badge``: an unlocked badge's id, or null for none."""

    badge: RuleName | None


class ActiveBadgeResponse(_Model):
    user_id: str
    active_badge: str | None
    badges: list[str]
