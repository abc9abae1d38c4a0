"""Domain events derived from the table's stream and the notifications they leave in a user's
inbox (pure; no I/O). The event types, the inbox's TTL and the webhook retry schedule are
in :mod:`gamification.domain.event_types` (re-exported here).

An event is ``{id, type, tenant, user_id, occurred_at, data}``. Its ``id`` is derived from
the item's key and the event type (``evt_`` + 32 hex digits of a SHA-256), so a record
delivered twice by the stream, or read again after a crash, gives the same id: consumers
(and webhook receivers, for which it is the ``webhook-id``) deduplicate on it.

Sources (new items only, ``INSERT``):

| item                                  | events                                        |
|---------------------------------------|-----------------------------------------------|
| XP ledger entry (award)               | ``xp.awarded``; ``level.up`` when it crossed a level |
| coin ledger entry, amount > 0         | ``coins.awarded``; ``prize.paid`` for a board prize |
| coin ledger entry of kind ``spend``   | ``coins.spent``                               |
| any reversal entry                    | ``entry.reversed``                            |
| achievement marker ``ACH#<id>``       | ``achievement.unlocked``                      |
| ledger entry ``streak_milestone:<n>`` | ``streak.extended`` (``data.milestone``)      |
| board snapshot ``...#FINAL``          | ``leaderboard.finalised`` (no user)           |
| XP ledger entry with ``streak_events``| ``streak.freeze_used`` (``data.dates``), ``streak.lost`` (``data.length``, ``data.date``) |

Ledger entries are those of the user's partition (``XP#``/``COIN#``) and keyed entries (an
award sent with an Idempotency-Key: the entry is the key's record, ``T#{t}#IDEM#{key}`` /
``IDEM``, told apart from a plain record by its GSI ``ledger`` keys, which name the user).
The ``xp_bonus`` coins an XP entry carries are derived as the coin entry they stand for
(:func:`gamification.domain.entries.ledger_entries`, applied by the stream's consumer).

A missed date is only known to have spent a freeze or broken the run once the user is
active again (the streak state is lazy, on the profile): the award that makes the next
date active records what the gap did on its ledger entry, and the events carry that
award's ``occurred_at`` and the missed ``date``.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from gamification.domain.event_types import (  # noqa: F401 - re-exported
    EVENT_TYPES,
    MAX_ATTEMPTS,
    NOTIFICATION_TTL_S,
    RETRY_DELAYS_S,
    retry_delay,
)
from gamification.domain.entries import ledger_kind, ledger_owner
from gamification.domain.levels import level_for_xp

if TYPE_CHECKING:  # annotations only
    from gamification.domain.rules import Rules

PRIZE_REASON = "leaderboard_prize"
ACHIEVEMENT_PREFIX = "achievement:"
MILESTONE_PREFIX = "streak_milestone:"
#: Notification type and title of the events that reach a user's inbox.
NOTIFY = {
    "level.up": lambda d: f"Level up: {d.get('level_name') or d.get('level')}",
    "achievement.unlocked": lambda d: f"Achievement unlocked: {d.get('name') or d.get('achievement')}",
    "streak.extended": lambda d: f"Streak milestone: {d.get('milestone')} days",
    "prize.paid": lambda d: f"Leaderboard prize: {d.get('amount')} coins",
}


def event_id(pk: str, sk: str, event_type: str) -> str:
    """The stable id of the ``event_type`` event of the item ``pk``/``sk``."""
    return "evt_" + hashlib.sha256(f"{pk}\x1f{sk}\x1f{event_type}".encode()).hexdigest()[:32]


def _owner(pk: str) -> tuple[str, str | None] | None:
    """(tenant, user) of a partition key ``T#{t}#U#{user}`` or ``T#{t}#...`` (user None)."""
    parts = pk.split("#")
    if len(parts) < 3 or parts[0] != "T":
        return None
    if parts[2] == "U" and len(parts) == 4:
        return parts[1], parts[3]
    return parts[1], None


def derive(rules: Rules, event_name: str, new: dict[str, Any] | None, entry_id: str | None) -> list[dict[str, Any]]:
    """The domain events of one stream record (``new``: its new image, plain values;
    ``entry_id``: the public id of a ledger entry). Unknown items give none."""
    if event_name != "INSERT" or not new:
        return []
    pk, sk = str(new.get("pk", "")), str(new.get("sk", ""))
    # A keyed ledger entry (stored as its Idempotency-Key's record) names its user in ledger_pk.
    kind = ledger_kind(new)
    owner = ledger_owner(new) if kind else _owner(pk)
    if owner is None:
        return []
    tenant, user = owner
    out: list[dict[str, Any]] = []

    def emit(event_type: str, occurred_at: Any, data: dict[str, Any]) -> None:
        out.append({"id": event_id(pk, sk, event_type), "type": event_type, "tenant": tenant, "user_id": user,
                    "occurred_at": occurred_at, "data": {k: v for k, v in data.items() if v is not None}})  # fmt: skip

    when = new.get("occurred_at") or new.get("unlocked_at") or new.get("created_at") or new.get("finalised_at")
    reason = str(new.get("reason") or "")
    if kind and user:
        base = {"entry_id": entry_id, "reason": reason or None}
        if new.get("kind") == "reversal":
            emit("entry.reversed", when, {**base, "reverses": new.get("reverses"), "type": new.get("type"),
                                           "amount": int(new.get("xp", new.get("amount", 0)))})  # fmt: skip
            return out
        if reason.startswith(MILESTONE_PREFIX):
            emit("streak.extended", when, {"milestone": int(reason[len(MILESTONE_PREFIX):] or 0), "entry_id": entry_id})
        if kind == "xp":
            for streak_event in new.get("streak_events") or ():
                kind = str(streak_event.get("type"))
                if kind in ("streak.freeze_used", "streak.lost"):
                    emit(kind, when, {k: v for k, v in streak_event.items() if k != "type"})
            xp, total = int(new.get("xp", 0)), int(new.get("total_xp", 0))
            emit("xp.awarded", when, {**base, "amount": xp, "action": new.get("action"), "total_xp": total,
                                       "capped": new.get("capped"), "retroactive": new.get("retroactive")})  # fmt: skip
            before, after = level_for_xp(rules, total - xp), level_for_xp(rules, total)
            if after.level > before.level:
                emit("level.up", when, {"level": after.level, "level_name": after.name, "previous_level": before.level,
                                         "total_xp": total, "unlocks": list(after.unlocks)})  # fmt: skip
            return out
        amount = int(new.get("amount", 0))
        if new.get("kind") == "spend":
            emit("coins.spent", when, {**base, "amount": -amount, "balance": new.get("balance"), "item": new.get("item")})
        elif amount > 0:
            emit("coins.awarded", when, {**base, "amount": amount, "balance": new.get("balance"),
                                          "kind": new.get("kind") or "award", "retroactive": new.get("retroactive")})  # fmt: skip
            if reason == PRIZE_REASON:
                emit("prize.paid", when, {"amount": amount, "prize": new.get("scope"), "period_key": new.get("window_key"),
                                           "entry_id": entry_id})  # fmt: skip
        return out
    if sk.startswith("ACH#") and user:
        achievement = rules.achievements.get(sk[4:])  # the marker holds the id; the rules name it
        emit("achievement.unlocked", when, {"achievement": sk[4:], "name": achievement.name if achievement else None,
                                             "category": achievement.category if achievement else None,
                                             "retroactive": new.get("retroactive")})  # fmt: skip
        return out
    if sk == "FINAL" and pk.endswith("#FINAL"):
        parts = pk.split("#")  # T, t, LB, board, period, period_key, FINAL
        if len(parts) == 7 and parts[2] == "LB":
            entries = [{"rank": int(e.get("rank", 0)), "user_id": e.get("user_id"), "score": int(e.get("score", 0))}
                       for e in (new.get("entries") or [])[:10]]  # fmt: skip
            emit("leaderboard.finalised", when, {"board": parts[3], "period": parts[4], "period_key": parts[5],
                                                  "top": entries})  # fmt: skip
    return out


def notification(event: dict[str, Any]) -> dict[str, Any] | None:
    """The inbox notification of an event (None for events that make none; retroactive
    grants are silent)."""
    title = NOTIFY.get(event["type"])
    if title is None or not event.get("user_id") or event["data"].get("retroactive"):
        return None
    return {"id": event["id"], "type": event["type"], "title": title(event["data"]), "created_at": event["occurred_at"],
            "data": event["data"]}  # fmt: skip
