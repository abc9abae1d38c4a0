"""Every item the engine writes, built in one place: ledger entries, once-markers,
idempotency records, imported day usage (keys from :mod:`gamification.dal.keys`).

Each builder returns ``(key, attributes)`` in plain Python values, ready for
:meth:`gamification.dal.store.Transaction.put_new` (created with ``attribute_not_exists``:
nothing is recorded twice). Attributes that are None are not stored. The conditional
updates of running totals (profile, day usage, board scores) are built by the
:class:`~gamification.dal.store.Transaction` methods that carry their conditions.

Times are stored as :func:`gamification.dal.keys.stamp` strings (UTC, microseconds); TTLs
(``expires_at``) as epoch seconds. Amounts: XP and coins are signed integers.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from gamification.dal import keys
from gamification.dal.keys import Key

Item = tuple[Key, dict[str, Any]]

#: TTL attribute (epoch seconds) named in template.yaml.
TTL_ATTRIBUTE = "expires_at"
#: Attribute prefix of per-action daily counts on a ``DAY#`` item (``n_create_character``).
COUNT_PREFIX = "n_"
#: How long DAY# usage items and once-markers outlive the last day an event can still
#: count for them (beyond the rules' ``max_event_age``): limits stay readable.
USAGE_RETENTION = timedelta(days=7)
#: Ledger reason of the rules' starting XP (``xp.start``), written when a profile is created.
STARTING_BALANCE_REASON = "starting_balance"


def epoch(instant: datetime) -> int:
    """Epoch seconds for a TTL attribute."""
    return int(instant.timestamp())


def retained_until(end: datetime, now: datetime, max_event_age: timedelta) -> datetime:
    """Expiry of a usage item or once-marker whose day/window ends at ``end``: late events
    (up to ``max_event_age`` old) can still arrive, then :data:`USAGE_RETENTION`. A past
    (backfilled) day is kept as long as a live one, counted from ``now``."""
    return max(end, now) + max_event_age + USAGE_RETENTION


def xp_entry(
    tenant: str, user_id: str, *, event_id: str, occurred: datetime, recorded: datetime, reason: str, xp: int,
    total_xp: int, **extra: Any,
) -> Item:
    """An XP ledger entry: ``xp`` (signed) for ``reason`` (the action, ``starting_balance``,
    ``imported_balance``...) at ``occurred``, ``total_xp`` after it. ``extra``: the
    award's details (``xp_requested``, ``capped``, ``day``, ``level``, ``metadata``...)."""
    attrs = {
        "type": "xp",
        "user_id": user_id,
        "action": reason,
        "reason": reason,
        "xp": xp,
        "occurred_at": keys.stamp(occurred),
        "recorded_at": keys.stamp(recorded),
        "total_xp": total_xp,
        **extra,
    }
    return keys.xp_entry_key(tenant, user_id, occurred, event_id), attrs


def coin_entry(
    tenant: str, user_id: str, *, event_id: str, occurred: datetime, recorded: datetime, reason: str, amount: int,
    balance: int, **extra: Any,
) -> Item:
    """A coin ledger entry: ``amount`` (signed) for ``reason``, ``balance`` after it.
    ``extra``: ``scope``, ``tier``, ``window``, ``window_key``, ``source_event_id``..."""
    attrs = {
        "type": "coins",
        "user_id": user_id,
        "amount": amount,
        "reason": reason,
        "occurred_at": keys.stamp(occurred),
        "recorded_at": keys.stamp(recorded),
        "balance": balance,
        **extra,
    }
    return keys.coin_entry_key(tenant, user_id, occurred, event_id), attrs


def starting_balance(tenant: str, user_id: str, *, xp: int, first_event: datetime, now: datetime, event_id: str) -> Item:
    """The ``starting_balance`` XP entry of a new profile (the rules' ``xp.start``), dated
    just before the event that creates the profile so it sorts first."""
    opened = first_event - timedelta(microseconds=1)
    return xp_entry(
        tenant, user_id, event_id=event_id, occurred=opened, recorded=now, reason=STARTING_BALANCE_REASON, xp=xp,
        total_xp=xp,
    )


def once_marker(
    tenant: str, user_id: str, *, reason: str, scope: str | None, window_key: str, event_id: str, now: datetime,
    expires_at: datetime | None = None,
) -> Item:
    """The marker of a reward paid once in a window (tiers share it); ``event_id`` names the
    award that wrote it, so a retry can tell its own earlier attempt landed."""
    attrs = {
        "reason": reason,
        "scope": scope,
        "window_key": window_key,
        "event_id": event_id,
        "created_at": keys.stamp(now),
        TTL_ATTRIBUTE: epoch(expires_at) if expires_at else None,
    }
    return keys.once_key(tenant, user_id, reason, scope, window_key), attrs


def idempotency_record(tenant: str, idempotency_key: str, *, fingerprint: str, body: dict[str, Any], now: datetime) -> Item:
    """The record of a request's Idempotency-Key: the request's fingerprint and the JSON
    response to replay."""
    attrs = {"fingerprint": fingerprint, "response": json.dumps(body), "created_at": keys.stamp(now)}
    return keys.idempotency_key(tenant, idempotency_key), attrs


def imported_day_usage(
    tenant: str, user_id: str, *, day: str, xp_gained: int, counts: dict[str, int], expires_at: datetime
) -> Item:
    """A ``DAY#`` usage item carried over from another system (``day``: local YYYY-MM-DD)."""
    attrs: dict[str, Any] = {"day": day, "xp_gained": xp_gained, TTL_ATTRIBUTE: epoch(expires_at)}
    attrs.update({COUNT_PREFIX + a: c for a, c in counts.items()})
    return keys.usage_key(tenant, user_id, day), attrs


def day_counts(item: dict[str, Any] | None) -> dict[str, int]:
    """Per-action counts stored on a ``DAY#`` item."""
    if not item:
        return {}
    return {k[len(COUNT_PREFIX):]: int(v) for k, v in item.items() if k.startswith(COUNT_PREFIX)}
