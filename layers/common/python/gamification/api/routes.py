"""The routes of API v1, as ``template.yaml`` declares them (a unit test keeps the two in
step). The ``$default`` route's function uses them to tell an unknown path (404
``not_found``) from a known path asked with another method (405 ``method_not_allowed``):
API Gateway itself would answer both with its own bare ``{"message": "Not Found"}``."""

from __future__ import annotations

import re

#: ``(method, path template)`` of every route; ``{name}`` is one path segment.
ROUTES: tuple[tuple[str, str], ...] = (
    ("POST", "/v1/users/{user_id}/xp"),
    ("POST", "/v1/users/{user_id}/coins"),
    ("GET", "/v1/users/{user_id}/limits"),
    ("GET", "/v1/levels"),
    ("GET", "/v1/users/{user_id}"),
    ("GET", "/v1/leaderboards/{board}"),
    # Streaks, achievements and badges (docs/streaks.md, docs/achievements.md)
    ("PUT", "/v1/users/{user_id}/timezone"),
    ("GET", "/v1/users/{user_id}/streak"),
    ("GET", "/v1/users/{user_id}/achievements"),
    ("GET", "/v1/achievements"),
    ("PUT", "/v1/users/{user_id}/active-badge"),
    # Topics and spaced repetition (docs/topics.md)
    ("POST", "/v1/users/{user_id}/topics/{topic}/attempts"),
    ("GET", "/v1/users/{user_id}/topics"),
    ("GET", "/v1/users/{user_id}/reviews"),
    # Ledger history and reversals, spending, user deletion, dashboard
    ("GET", "/v1/users/{user_id}/ledger"),
    ("POST", "/v1/users/{user_id}/coins/spend"),
    ("POST", "/v1/users/{user_id}/ledger/{entry_id}/reversal"),
    ("DELETE", "/v1/users/{user_id}"),
    ("GET", "/v1/users/{user_id}/dashboard"),
    # Notifications and webhooks
    ("GET", "/v1/users/{user_id}/notifications"),
    ("POST", "/v1/users/{user_id}/notifications/read"),
    ("POST", "/v1/webhooks"),
    ("GET", "/v1/webhooks"),
    ("DELETE", "/v1/webhooks/{webhook_id}"),
    ("GET", "/v1/webhooks/{webhook_id}/deliveries"),
)


def _pattern(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(template)) + "/?$")


_COMPILED = [(method, _pattern(path)) for method, path in ROUTES]


def allowed_methods(path: str) -> list[str]:
    """Methods the API serves at ``path`` (empty: no route has this path), sorted."""
    return sorted({method for method, pattern in _COMPILED if pattern.match(path)})
