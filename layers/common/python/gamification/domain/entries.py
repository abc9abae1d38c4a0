"""Pure rules of ledger entries and history pages (no I/O): what a stored item holds, whose
it is, its public view, the history's cursors, and the kinds of the coin entries that are
not awards. Spending and history need only this; reversals are
:mod:`gamification.domain.ledger`, which re-exports these names.

- A ledger entry is one XP or coin change: ``type`` ``xp`` or ``coins``, a signed ``amount``
  (XP or coins), a ``reason`` (for XP awards, the action), when it happened
  (``occurred_at``, the event's time, UTC) and when it was written (``recorded_at``).
- History pages are opaque cursors: URL-safe base64 of a small JSON ``{"v", "t", "k"}``
  (version, type filter, the last key read); a cursor that does not decode to a key of the
  same user and filter is refused (400 ``validation_error``).
- The ``xp_bonus`` coins an XP award earns are a coin entry of their own in every read
  (history, boards, events, reversals), but they are stored on the award's XP entry
  (``bonus_*`` attributes, :func:`ledger_entries`): an award writes one ledger item, not
  two. Its id, events and board moves are those a separate coin entry at the same time and
  event id (sort key ``COIN#{occurred_at}#{event_id}``) would have; older tables hold such
  separate entries, and they read the same (docs/ledger-and-events.md).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from gamification.domain.errors import GamificationError, ValidationFailed
from gamification.domain.reasons import BONUS_PREFIX, XP_BONUS_REASON

#: Ledger types of the API and their sort-key prefixes.
TYPE_PREFIX = {"xp": "XP#", "coins": "COIN#"}
#: Ledger ``kind`` of non-award coin entries (they never move ``coins`` boards).
SPEND, ADJUSTMENT, REVERSAL = "spend", "adjustment", "reversal"
#: Attributes the carried coin entry shares with its XP entry.
_SHARED = ("user_id", "occurred_at", "recorded_at", "idempotency_key", "kind", "board_occurred_at", "retroactive")
_STAMP = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z"
_SK = re.compile(rf"^(XP|COIN)#{_STAMP}#[^#]+$")
_INDEX_SK = re.compile(rf"^{_STAMP}#[^#]+#(XP|COIN)$")


class InsufficientCoins(GamificationError):
    """409: the balance is short of the amount to spend (nothing was written)."""

    status = 409
    code = "insufficient_coins"


# ---- cursors -----------------------------------------------------------------------------


def encode_cursor(type_filter: str | None, last_key: dict[str, Any], skip: int = 0) -> str:
    """The opaque ``next_cursor`` of a page whose last key read was ``last_key``; ``skip``:
    entries of the next item already shown (1: an award's XP entry, not yet its bonus coins)."""
    data = {"v": 1, "t": type_filter or "all", "k": last_key, **({"s": skip} if skip else {})}
    raw = json.dumps(data, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, type_filter: str | None, pk: str, index_sk: Any) -> tuple[dict[str, str], int]:
    """The GSI ``ledger`` key to start after and the entries to skip there (0 or 1, see
    :func:`encode_cursor`), from a cursor issued for partition ``pk`` (the user's) and
    ``type_filter``.

    The last key read is an entry of the user's partition (``pk``, an ``XP#``/``COIN#`` sort
    key, whose GSI sort key ``index_sk(key)`` gives) or a keyed entry (``T#{t}#IDEM#{key}`` /
    ``IDEM``, GSI sort key ``{occurred_at}#{event_id}#XP|COIN``), of either type whatever
    the filter (a typed page filters what it reads). A typed cursor of the pages that read
    the user's partition (``{pk, sk}`` only) is taken as its GSI key. Raises ValidationFailed
    (400, field ``cursor``) for anything else: not base64 JSON, another user, another
    filter, a key that is not a ledger entry's.
    """
    bad = ValidationFailed("cursor is not a cursor of this ledger query (take next_cursor as given)", field="cursor")
    try:
        if len(cursor) > 2048:
            raise ValueError
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except (ValueError, binascii.Error, UnicodeError):
        raise bad from None
    if not isinstance(data, dict) or data.get("v") != 1 or data.get("t") != (type_filter or "all"):
        raise bad
    key, skip = data.get("k"), data.get("s", 0)
    if skip not in (0, 1) or isinstance(skip, bool):
        raise bad
    if not isinstance(key, dict) or not all(isinstance(v, str) for v in key.values()):
        raise bad
    if type_filter and set(key) == {"pk", "sk"} and key["pk"] == pk and _SK.match(key["sk"]):
        key = {**key, "ledger_pk": pk, "ledger_sk": index_sk(key)}
    if set(key) != {"pk", "sk", "ledger_pk", "ledger_sk"} or key["ledger_pk"] != pk:
        raise bad
    if key["pk"] == pk and _SK.match(key["sk"]) and key["ledger_sk"] == index_sk(key):
        return key, skip
    keyed_pk = pk.split("#U#", 1)[0] + "#IDEM#"
    if key["sk"] == "IDEM" and key["pk"].startswith(keyed_pk) and _INDEX_SK.match(key["ledger_sk"]):
        return key, skip
    raise bad


# ---- entries -----------------------------------------------------------------------------


def entry_type(sk: str) -> str:
    return "xp" if sk.startswith("XP#") else "coins"


#: GSI ``ledger`` sort-key suffixes (``{occurred_at}#{event_id}#XP``) and their types.
_INDEX_SUFFIX = {"#XP": "xp", "#COIN": "coins"}


def ledger_kind(item: dict[str, Any]) -> str | None:
    """``xp`` or ``coins`` for a stored ledger entry (plain values), None for any other item.

    An entry of the user's partition says it by its sort key (``XP#``/``COIN#``); a keyed
    entry (stored as its Idempotency-Key's record, sort key ``IDEM``) by its GSI ``ledger``
    sort key, which a plain idempotency record does not carry."""
    sk = str(item.get("sk", ""))
    if sk.startswith(("XP#", "COIN#")):
        return entry_type(sk)
    index_sk = item.get("ledger_sk")
    if sk == "IDEM" and isinstance(index_sk, str):
        for suffix, kind in _INDEX_SUFFIX.items():
            if index_sk.endswith(suffix):
                return kind
    return None


def ledger_owner(item: dict[str, Any]) -> tuple[str, str] | None:
    """(tenant, user id) of a stored ledger entry: from its partition ``T#{t}#U#{user}``, or
    for a keyed entry (partition ``T#{t}#IDEM#{key}``) from its GSI ``ledger_pk``, which is
    the user's partition. None for an item that is not a user's ledger entry."""
    if ledger_kind(item) is None:
        return None
    pk = str(item.get("pk", "") if str(item.get("sk", "")) != "IDEM" else item.get("ledger_pk", ""))
    parts = pk.split("#")
    if len(parts) != 4 or parts[0] != "T" or parts[2] != "U":
        return None
    return parts[1], parts[3]


def bonus_sort_key(entry: dict[str, Any]) -> str | None:
    """The sort key of an XP entry's ``xp_bonus`` coin entry (in the user's partition, same
    time and event id), from the entry's GSI ``ledger`` sort key or its own sort key."""
    index_sk = entry.get("ledger_sk")
    if isinstance(index_sk, str) and index_sk.endswith("#XP"):
        return "COIN#" + index_sk[: -len("#XP")]
    sk = str(entry.get("sk", ""))
    return "COIN#" + sk[len("XP#"):] if sk.startswith("XP#") else None


def ledger_entries(item: dict[str, Any]) -> list[dict[str, Any]]:
    """The ledger entries one stored item holds (plain values): ``[item]``, or for an XP
    entry that carries the ``xp_bonus`` coins of its award (``bonus_amount``) the XP entry
    without its ``bonus_*`` attributes and the coin entry, as the item a separate coin entry
    would be: in the user's partition at :func:`bonus_sort_key`, with its GSI ``ledger``
    keys, ``type`` ``coins``, the shared fields (times, Idempotency-Key, kind) and each
    ``bonus_<name>`` as ``<name>`` (``amount``, ``balance``; ``reason`` defaults to
    ``xp_bonus``; a reversal's ``reverses``/``board_delta``, an original's ``reversed_by``).
    Reads, the board projection and the domain events all go through this."""
    if not any(k.startswith(BONUS_PREFIX) for k in item) or ledger_kind(item) != "xp":
        return [item]
    sk = bonus_sort_key(item)
    assert sk is not None  # an XP entry has one
    user_pk = item["pk"] if str(item.get("sk", "")).startswith("XP#") else item.get("ledger_pk")
    own = {k: v for k, v in item.items() if not k.startswith(BONUS_PREFIX)}
    coin = {"pk": user_pk, "sk": sk, "ledger_pk": user_pk, "ledger_sk": sk[len("COIN#"):] + "#COIN", "type": "coins",
            "reason": XP_BONUS_REASON, **{k: item[k] for k in _SHARED if k in item},
            **{k[len(BONUS_PREFIX):]: v for k, v in item.items() if k.startswith(BONUS_PREFIX)}}  # fmt: skip
    return [own, coin]


def entry_amount(item: dict[str, Any]) -> int:
    """Signed XP or coins of a stored entry (XP entries keep it in ``xp``)."""
    return int(item["xp"] if ledger_kind(item) == "xp" else item.get("amount", 0))


def entry_view(item: dict[str, Any], entry_id: str) -> dict[str, Any]:
    """The public shape of a stored ledger entry (see ``LedgerEntry``)."""
    metadata = item.get("metadata")
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata)
        except ValueError:
            metadata = {"raw": metadata}
    kind = ledger_kind(item)
    return {
        "entry_id": entry_id,
        "type": kind,
        "amount": entry_amount(item),
        "reason": item.get("reason") or item.get("action") or "",
        "action": item.get("action") if kind == "xp" else None,
        "occurred_at": item.get("occurred_at"),
        "recorded_at": item.get("recorded_at"),
        "idempotency_key": item.get("idempotency_key"),
        "metadata": metadata,
        "kind": item.get("kind") or "award",
        "item": item.get("item"),
        "reverses": item.get("reverses"),
        "reversed_by": item.get("reversed_by"),
    }
