"""Typed domain errors. Each carries its HTTP status and API error ``code``; the HTTP layer
maps them to the v1 envelope ``{"error": {"code", "message", ...details}}`` in one place.
"""

from __future__ import annotations

from typing import Any


class GamificationError(Exception):
    """Base class: ``status`` (HTTP), ``code`` (stable, snake_case), ``details`` (extra fields)."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def body(self) -> dict[str, Any]:
        """The error envelope, as sent to clients."""
        return {"error": {"code": self.code, "message": self.message, **self.details}}


class ValidationFailed(GamificationError):
    """400: a request field is malformed or out of range (nothing was written).

    Same shape as schema validation errors: ``field`` plus ``errors: [{field, message, type}]``.
    """

    code = "validation_error"

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message, field=field, errors=[{"field": field, "message": message, "type": "value_error"}])


class PayloadTooLarge(GamificationError):
    """413: the request body is larger than any valid request."""

    status = 413
    code = "payload_too_large"


class UnknownAction(GamificationError):
    """400: the action is not in the rules file (Mikoshi: "400 invalid action")."""

    code = "unknown_action"


class UnknownReward(GamificationError):
    """400: the coin reward (reason) is not in the rules file."""

    code = "unknown_reward"


class Unauthenticated(GamificationError):
    """401: no valid API key (Mikoshi: "401 not authenticated")."""

    status = 401
    code = "unauthenticated"


class NotFound(GamificationError):
    """404: no such route or resource."""

    status = 404
    code = "not_found"


class MethodNotAllowed(GamificationError):
    """405: the path is a route of the API, but not for this method (``allow`` lists the
    methods it serves)."""

    status = 405
    code = "method_not_allowed"


class IdempotencyKeyReused(GamificationError):
    """422: an Idempotency-Key already used for a different request (route, user or body)."""

    status = 422
    code = "idempotency_key_reused"


class LimitReached(GamificationError):
    """429 base: a daily limit or cap stops the award. ``retry_after``: seconds until the
    day resets, None for a past day (it never will: no ``Retry-After`` header then)."""

    status = 429

    def __init__(self, message: str, retry_after: int | None, **details: Any) -> None:
        super().__init__(message, **details)
        self.retry_after = retry_after


class ActionLimitReached(LimitReached):
    """429: the action's per-day limit is used up (Mikoshi's message format)."""

    code = "action_limit_reached"


class DailyXpCapReached(LimitReached):
    """429: the daily XP cap for the user's level is used up (Mikoshi's message format)."""

    code = "daily_xp_cap_reached"


class RateLimited(LimitReached):
    """429: the tenant sent more requests than its limit allows in the current window
    (``retry_after``: seconds until the window ends; details ``limit``, ``window_seconds``)."""

    code = "rate_limited"


class Contention(GamificationError):
    """503: too many concurrent writes to one user; safe to retry with the same key."""

    status = 503
    code = "contention"
    retry_after = 1


class UnknownLeaderboard(GamificationError):
    """400: the board is not in the rules file, or the board has no such period."""

    code = "unknown_leaderboard"


class UnknownPeriod(GamificationError):
    """400: the board does not keep this period (see its ``periods`` in the rules file)."""

    code = "unknown_period"


class PeriodNotFinal(NotFound):
    """404: ``final=true`` for a period the roll-over has not finalised (yet, or all_time)."""

    code = "period_not_final"


# ---- streaks, achievements and badges ----


class BadgeNotUnlocked(GamificationError):
    """409: the badge exists but the user has not unlocked it."""

    status = 409
    code = "badge_not_unlocked"


class UnknownBadge(NotFound):
    """404: no achievement of that id in the rules."""

    code = "unknown_badge"


class NotABadge(GamificationError):
    """400: the achievement exists but is not a badge (``badge: true`` in the rules)."""

    code = "not_a_badge"

# ---- topics and spaced repetition (docs/topics.md) -----------------------------------------


class UnknownTopic(NotFound):
    """404: the topic is not in the rules file's ``topics:`` section."""

    code = "unknown_topic"


class TopicLocked(GamificationError):
    """409: the topic's prerequisites (``requires``: topic -> level) are not met yet;
    ``missing_prerequisites`` names them (nothing was written)."""

    status = 409
    code = "topic_locked"


class TooManyWebhooks(GamificationError):
    """409: the tenant already has the most webhook endpoints allowed; delete one first."""

    status = 409
    code = "too_many_webhooks"
