"""Per-tenant request limits (429 ``rate_limited``), checked once per API request before
routing, outside any award transaction (docs/security.md "Per-tenant request limits").

A tenant's limit is ``rate_limit`` requests per ``rate_window_seconds``: from its tenant
registry item when the operator set one (``python -m tools.ops.apikey limit``), passed along
by the authorizer in its context, else the process default
(``GAMIFICATION_RATE_LIMIT`` / ``GAMIFICATION_RATE_WINDOW_SECONDS``). A limit of 0 means
unlimited and costs nothing (no counter is written).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from gamification.dal import ratelimit
from gamification.dal.store import Store
from gamification.domain.errors import RateLimited

#: Bounds an operator may set (the counter is one item: about 1,000 writes per second at most).
MAX_LIMIT = 1_000_000
MAX_WINDOW_SECONDS = 3600


def tenant_limit(context: dict[str, Any], default_limit: int, default_window: int) -> tuple[int, int]:
    """``(limit, window_seconds)`` for a request from the authorizer's ``context`` (its
    ``rate_limit`` / ``rate_window_seconds`` when present and valid), else the defaults."""

    def number(name: str, default: int, low: int, high: int) -> int:
        try:
            value = int(context.get(name, default))
        except (TypeError, ValueError):
            return default
        return value if low <= value <= high else default

    return (
        number("rate_limit", default_limit, 0, MAX_LIMIT),
        number("rate_window_seconds", default_window, 1, MAX_WINDOW_SECONDS),
    )


def throttle(
    store: Store, tenant: str, limit: int, window_seconds: int, now: Callable[[], float] = time.time
) -> None:
    """Count one request of ``tenant``; raises :class:`RateLimited` (429, ``retry_after``
    seconds to the window's end) when its window is full. ``limit`` 0: no limit, no write."""
    if limit <= 0:
        return
    decision = ratelimit.hit(store, tenant, limit=limit, window_seconds=window_seconds, now=now())
    if not decision.allowed:
        raise RateLimited(
            f"Too many requests for this tenant: at most {limit} per {window_seconds} s",
            retry_after=decision.retry_after,
            limit=limit,
            window_seconds=window_seconds,
        )
