"""Every item the engine writes, built in one place: ledger entries, once-markers,
idempotency records, imported day usage (keys from :mod:`gamification.dal.keys`).

Each item builder returns ``(key, attributes)`` in plain Python values, ready for
:meth:`gamification.dal.store.Transaction.put_new` (created with ``attribute_not_exists``:
nothing is recorded twice). Attributes that are None are not stored. The running totals
(profile, day usage) are :class:`Update` s whose conditions carry the invariants, added
with :meth:`gamification.dal.store.Transaction.update` (board items are written by the
projector: :mod:`gamification.dal.projection_store`).

Times are stored as :func:`gamification.dal.keys.stamp` strings (UTC, microseconds); TTLs
(``expires_at``) as epoch seconds. Amounts: XP and coins are signed integers.
"""

from __future__ import annotations

import base64
import json
import zlib
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from gamification.dal import keys
from gamification.dal.keys import Key
from gamification.domain.reasons import BONUS_PREFIX

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


def with_bonus(entry: Item, *, amount: int, balance: int, **extra: Any) -> Item:
    """The XP entry ``entry`` (an :func:`xp_entry`) carrying the ``xp_bonus`` coins of its
    award: ``amount`` (signed coins) and the ``balance`` after them; ``extra``: a reversal's
    ``reason``, ``reverses``, ``reversed_reason``, ``board_delta``. One ledger item for both
    changes; every read sees the coins as a coin entry of their own
    (:func:`gamification.domain.entries.ledger_entries`)."""
    key, attrs = entry
    carried = {"amount": amount, "balance": balance, **extra}
    return key, {**attrs, **{BONUS_PREFIX + k: v for k, v in carried.items() if v is not None}}


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


def keyed_entry(
    tenant: str, idempotency_key: str, entry: Item, *, fingerprint: str, body: dict[str, Any]
) -> Item:
    """The ledger entry ``entry`` (an :func:`xp_entry` or :func:`coin_entry` of the user's
    partition, not yet written) of a request sent with ``idempotency_key``, stored as that
    key's record: at :func:`gamification.dal.keys.idempotency_key`, with every attribute of
    the entry, the GSI ``ledger`` keys the entry's own key gives (so the user's ledger lists
    it), and the record's ``fingerprint`` and response. One item instead of two, with every
    promise of the record kept: its key is still (tenant, key) only.

    The response is stored as ``response_z`` (base64 of the zlib-compressed compact JSON,
    about half the size) rather than ``response``: entry and answer together then stay
    under 1 KB (:data:`WRITE_UNIT`), the size a transactional write pays 2 WCU for (and its
    GSI row 1). A caller keeps the two items apart when they would not fit
    (:func:`stored_size`): one item over 1 KB costs more than two under it."""
    key, attrs = entry
    packed = base64.b64encode(zlib.compress(json.dumps(body, separators=(",", ":")).encode(), 9)).decode()
    return keys.idempotency_key(tenant, idempotency_key), {
        **attrs, **keys.ledger_index(key), "fingerprint": fingerprint, "response_z": packed,
    }


#: Bytes of item a write unit pays for (a transactional write: 2 WCU per started KB).
WRITE_UNIT = 1024


def stored_size(item: Item) -> int:
    """Bytes DynamoDB counts for ``item`` ((key, attributes), plain values): attribute
    names and values, numbers at one byte per two digits plus one (an upper bound), lists
    and maps 3 bytes plus 1 per element. To decide a layout by write units, not to bill."""

    def size(v: Any) -> int:
        if isinstance(v, str):
            return len(v.encode())
        if isinstance(v, bool) or v is None:
            return 1
        if isinstance(v, (int, float)):
            return (len(str(abs(v)).replace(".", "")) + 1) // 2 + 1
        if isinstance(v, dict):
            return 3 + sum(len(str(k).encode()) + 1 + size(x) for k, x in v.items() if x is not None)
        if isinstance(v, (list, tuple, set)):
            return 3 + sum(1 + size(x) for x in v)
        return len(bytes(v))

    key, attrs = item
    return sum(len(k.encode()) + size(v) for k, v in {**key, **attrs}.items() if v is not None)


def stored_response(record: dict[str, Any]) -> dict[str, Any]:
    """The response stored on an idempotency record (:func:`idempotency_record`) or a
    keyed ledger entry (:func:`keyed_entry`), as JSON values."""
    if "response_z" in record:
        return json.loads(zlib.decompress(base64.b64decode(record["response_z"])))
    return json.loads(record["response"])


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


# ---- conditional updates of running totals ---------------------------------------------


class Update(NamedTuple):
    """One conditional ``UpdateItem`` (plain values; the store marshals them)."""

    key: Key
    expression: str
    names: dict[str, str]
    values: dict[str, Any]
    condition: str | None = None


def counter_add(key: Key, delta: int = 1, attribute: str = "n") -> Update:
    """Add ``delta`` to a counter item (created at ``delta`` if absent), unconditionally:
    for write-sharded counts such as an achievement's unlock count, whose once-rule is the
    unlock marker in the same transaction."""
    return Update(key, "ADD #n :d", {"#n": attribute}, {":d": delta})


def counter_below(key: Key, limit: int, delta: int = 1, attribute: str = "n") -> Update:
    """Add ``delta`` to a counter item (created if absent) only while it is below ``limit``:
    a cap held by DynamoDB, such as a tenant's live webhook endpoints."""
    return Update(key, "ADD #n :d", {"#n": attribute}, {":d": delta, ":max": limit},
                  condition="attribute_not_exists(#n) OR #n < :max")  # fmt: skip


def profile_bump(
    key: Key, seen_version: int, *, user_id: str, now: datetime, xp: int = 0, coins: int = 0,
    xp_floor: int | None = None, set_attrs: dict[str, Any] | None = None,
) -> Update:
    """Add ``xp`` and ``coins`` (signed) to a profile, only if it is still at
    ``seen_version`` (0: the profile must not exist yet): optimistic concurrency, so the
    totals, levels and balances in a response are exact.

    ``xp_floor``: when ``xp`` is negative, DynamoDB also refuses the write unless
    ``total_xp + xp >= xp_floor`` (the rules' floor, e.g. reputation never below 1).

    ``set_attrs``: more attributes to SET, whole values computed from the version read
    (streak state, lifetime counters, unlocked achievements: docs/achievements.md).
    """
    cond = "attribute_not_exists(pk)" if seen_version == 0 else "#v = :seen"
    values: dict[str, Any] = {":one": 1, ":xp": xp, ":coins": coins, ":now": keys.stamp(now), ":u": user_id}
    if seen_version:
        values[":seen"] = seen_version
        if xp_floor is not None and xp < 0:
            cond += " AND #xp >= :xpmin"
            values[":xpmin"] = xp_floor - xp
    names = {"#u": "user_id", "#upd": "updated_at", "#cre": "created_at", "#v": "version", "#xp": "total_xp",
             "#coins": "coins_balance"}  # fmt: skip
    extra = ""
    for i, (attr, value) in enumerate((set_attrs or {}).items()):
        names[f"#s{i}"], values[f":s{i}"] = attr, value
        extra += f", #s{i} = :s{i}"
    return Update(
        key,
        f"SET #u = :u, #upd = :now, #cre = if_not_exists(#cre, :now){extra} ADD #v :one, #xp :xp, #coins :coins",
        names,
        values,
        cond,
    )


def day_usage(
    key: Key, *, day: str, action: str, cap_amount: int, cap: int | None, limit: int | None, expires_at: datetime
) -> Update:
    """Count one award of ``action`` and ``cap_amount`` XP on a day's usage item.

    DynamoDB refuses it when the action's count has reached ``limit`` or when
    ``xp_gained + cap_amount`` would pass ``cap`` (None: no such condition), so even a
    caller that skipped the read could not overshoot. ``cap_amount`` is signed: a penalty
    lowers the day's net and is never refused by the cap.
    """
    names = {"#g": "xp_gained", "#n": COUNT_PREFIX + action, "#d": "day", "#ttl": TTL_ATTRIBUTE}
    values: dict[str, Any] = {":amt": cap_amount, ":one": 1, ":day": day, ":exp": epoch(expires_at)}
    conds = []
    if limit is not None:
        conds.append("(attribute_not_exists(#n) OR #n < :limit)")
        values[":limit"] = limit
    if cap is not None and cap_amount > 0:
        conds.append("(attribute_not_exists(#g) OR #g <= :room)")
        values[":room"] = cap - cap_amount
    return Update(key, "SET #d = :day, #ttl = :exp ADD #g :amt, #n :one", names, values, " AND ".join(conds) or None)
