"""Per-tenant request limits: one conditional counter per tenant per fixed time window.

Each API request of a tenant makes one ``UpdateItem`` on the window's counter item
(``RATE#{tenant}#{window_start}`` / ``RATE``, see :mod:`gamification.dal.keys`)::

    ADD n :one  SET expires_at = if_not_exists(expires_at, :ttl)
    IF attribute_not_exists(n) OR n < :limit

DynamoDB evaluates the condition atomically, so concurrent requests cannot overshoot the
limit: the ``limit + 1``-th request of a window fails the condition and is refused (429
``rate_limited`` with ``Retry-After`` = seconds to the window's end). A refused request
writes nothing, but a failed condition still consumes the write capacity of the attempt.

Cost (docs/security.md "Per-tenant request limits", measured with bench/instruments): one
``UpdateItem`` of an item under 1 KB = 1 write request unit on demand, accepted or refused,
about 0.6 USD per million API requests at on-demand write prices; it is a separate call,
never part of an award's transaction. The counter items expire by TTL (``expires_at``,
one window after the window ends; DynamoDB deletes expired items lazily and for free).

Limits: one item takes at most about 1,000 writes per second (a partition's limit), so a
tenant's limit per one-second window should stay below that; windows are aligned to the
epoch (fixed windows), so a client may send up to twice the limit across a boundary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gamification.dal import keys
from gamification.dal.store import TTL_ATTRIBUTE, Store, marshal


@dataclass(frozen=True)
class Decision:
    """``allowed``; ``retry_after``: whole seconds until the window ends (>= 1)."""

    allowed: bool
    retry_after: int


def window_start(now: float, window_seconds: int) -> int:
    """Epoch second at which the fixed window holding ``now`` (epoch seconds) starts."""
    return int(now // window_seconds) * window_seconds


def hit(store: Store, tenant: str, *, limit: int, window_seconds: int, now: float) -> Decision:
    """Count one request of ``tenant`` in the window holding ``now`` (epoch seconds), unless
    the window already holds ``limit`` requests. One conditional ``UpdateItem``."""
    start = window_start(now, window_seconds)
    end = start + window_seconds
    allowed = store.write_if(
        "update_item",
        Key=marshal(keys.rate_window_key(tenant, start)),
        UpdateExpression="ADD #n :one SET #ttl = if_not_exists(#ttl, :ttl)",
        ConditionExpression="attribute_not_exists(#n) OR #n < :limit",
        ExpressionAttributeNames={"#n": "n", "#ttl": TTL_ATTRIBUTE},
        ExpressionAttributeValues=marshal({":one": 1, ":limit": limit, ":ttl": end + window_seconds}),
    )
    return Decision(allowed, max(1, math.ceil(end - now)))
