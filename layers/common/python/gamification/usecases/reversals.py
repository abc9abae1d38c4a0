"""Reversals, ``POST /v1/users/{user_id}/ledger/{entry_id}/reversal``: the compensating
entry of one XP or coin entry, once (docs/ledger-and-events.md).

Cost: one GetItem (the entry) + one BatchGetItem (profile, day usage, the topic item of a
topic's entry, idempotency record; an older award's separate bonus coin entry) + one
TransactWriteItems (the entry marked ``reversed_by`` once, the compensating entry, which
carries the award's ``xp_bonus`` coins back as the award carried them, profile, day usage,
topic item, idempotency record); the boards follow through the stream. Once is a DynamoDB
condition, ``attribute_not_exists(reversed_by)`` on the original entry; the profile
``version`` the condition for exact totals in responses.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from gamification.api.reversal_models import ReversalRequest, ReversalResponse
from gamification.dal import items, keys
from gamification.dal.ledger_store import entry_at, mark_reversed, undo_day_usage
from gamification.dal.store import TTL_ATTRIBUTE, Store, Transaction, epoch, version_of
from gamification.dal.topic_store import move_topic_xp
from gamification.domain.errors import GamificationError
from gamification.domain.ledger import (
    REVERSAL,
    EntryNotFound,
    bonus_sort_key,
    entry_amount,
    ledger_entries,
    ledger_kind,
    ledger_owner,
    plan_reversal,
)
from gamification.domain.leaderboards import delta_for, touched
from gamification.domain.levels import level_for_xp
from gamification.domain.periods import local_date
from gamification.domain.reasons import XP_BONUS_REASON
from gamification.domain.topics import reversed_topic_xp, topic_level
from gamification.usecases.idempotency import Idempotency
from gamification.usecases.optimistic import Read, Write, read_decide_commit
from gamification.usecases.outcome import Outcome

if TYPE_CHECKING:
    from gamification.domain.rules import Rules
    from gamification.usecases.context import Context


def _instant(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


class Reversals:
    """Reversals over a use-case :class:`~gamification.usecases.context.Context` (the
    engine: its rules, store, clock and retry policy)."""

    def __init__(self, engine: Context) -> None:
        self.engine = engine
        self.rules = engine.rules
        self.store = engine.store

    def reverse(
        self, tenant: str, user_id: str, entry_id: str, req: ReversalRequest, idempotency_key: str | None
    ) -> Outcome[ReversalResponse]:
        """``POST /v1/users/{id}/ledger/{entry_id}/reversal``: the compensating entry, once.

        An XP award's reversal takes back its XP (total, level), the day's XP toward the cap
        and one count of its action, its ``xp_bonus`` coins, and the boards it moved (on the
        period of the original event). The XP taken back is cut so the total stays at or
        above the rules' ``xp.floor`` (``floored: true``; a DynamoDB condition on the
        profile, as for a penalty), and the day's XP and the boards move by that cut
        amount, the one the compensating entry records. A coin entry's reversal takes back
        its coins (a spend's gives them back) and, for rewards, the ``coins`` boards.
        Lifetime counters, streaks and unlocked achievements stay. The balance may go below
        zero when the coins were spent meanwhile (spending then waits until it is positive
        again). A topic's entry (a topic attempt, an imported topic balance) also takes its XP back
        from the topic item (XP and level, conditioned on the topic's version); the topic's
        daily task counts and the task's review schedule stay (docs/topics.md "Reversals").

        Raises EntryNotFound (404), AlreadyReversed / NotReversible (409),
        IdempotencyKeyReused (422), Contention (503).
        """
        rules = self.rules
        now = self.engine.now()
        idem = Idempotency.of(tenant, f"reversal:{entry_id}", user_id, req, idempotency_key, ReversalResponse)
        # An entry of the user's partition, or a keyed entry (the record of its Idempotency-Key).
        k_entry = keys.entry_key(tenant, user_id, entry_id)
        first = self.store.get(k_entry) if k_entry else None  # which day and boards the entry moved
        if first is None and k_entry and k_entry["sk"].startswith("COIN#"):
            try:  # xp_bonus coins carried by their award's XP entry (or by its reversal's)
                _refuse_carried(self.store, k_entry)
            except GamificationError as exc:
                return idem.replay_or_raise(self.store, exc)
        if first is None or ledger_owner(first) != (tenant, user_id):
            return idem.replay_or_raise(self.store, EntryNotFound("No such ledger entry", entry_id=entry_id))
        assert k_entry is not None
        k_profile = keys.profile_key(tenant, user_id)
        kind = ledger_kind(first)
        # The xp_bonus coins of an XP award ride on its entry; an older award's are a coin
        # entry of their own, at the same time and event id in the user's partition.
        carried = kind == "xp" and len(ledger_entries(first)) > 1
        bonus_sk = bonus_sort_key(first) if kind == "xp" and not carried else None
        k_bonus = {"pk": keys.user_pk(tenant, user_id), "sk": bonus_sk} if bonus_sk else None
        occurred = _instant(first["occurred_at"])
        day = date.fromisoformat(first["day"]) if first.get("day") else local_date(occurred, rules.zone)
        k_usage = keys.usage_key(tenant, user_id, day.isoformat()) if kind == "xp" else None
        action_rule = rules.actions.get(first.get("action") or "")
        topic = first.get("topic") if kind == "xp" else None
        k_topic = keys.topic_key(tenant, user_id, topic) if topic else None

        def decide(read: Read) -> Write:
            entry, profile, bonus, usage, topic_item = read
            if entry is None:
                raise EntryNotFound("No such ledger entry", entry_id=entry_id)
            if carried:
                entry, bonus = ledger_entries(entry)
            if bonus and bonus.get("reason") != XP_BONUS_REASON:
                bonus = None
            total_before = int(profile["total_xp"]) if profile else rules.xp.start
            plan = plan_reversal(
                entry, bonus, cap_exempt=bool(action_rule and action_rule.cap_exempt),
                board_reasons=frozenset({XP_BONUS_REASON, *rules.coins.rewards}),
                total_xp=total_before, xp_floor=rules.xp.floor,
            )  # fmt: skip
            total_after = total_before + plan.xp
            balance_after = (int(profile.get("coins_balance", 0)) if profile else 0) + plan.coins
            level_after = level_for_xp(rules, total_after)
            event_id = uuid.uuid4().hex
            # The boards follow through the stream (docs/leaderboards.md): the projector moves
            # them by ``board_delta`` on the periods of the reversed entry's own day.
            common = {"kind": REVERSAL, "idempotency_key": idempotency_key, "reverses": entry_id,
                      "reversed_reason": entry.get("reason"), "board_occurred_at": entry["occurred_at"]}  # fmt: skip
            tx = self.store.transaction(token=event_id)
            rev_bonus_id = None
            if kind == "xp":
                topic_attrs = _topic_back(rules, tx, k_topic, topic, topic_item, plan.xp, now) if k_topic else {}
                k_rev, attrs = items.xp_entry(
                    tenant, user_id, event_id=event_id, occurred=now, recorded=now, reason=req.reason, xp=plan.xp,
                    total_xp=total_after, xp_requested=plan.xp_requested, floored=plan.floored or None,
                    **{**common, "action": entry.get("action"), "day": day.isoformat(), "level": level_after.level,
                       "board_delta": plan.board_xp}, **topic_attrs,
                )  # fmt: skip
                if plan.coins and bonus:
                    rev_bonus_id = keys.entry_id(str(bonus_sort_key(k_rev)))
                    undone = {"reason": req.reason, "reverses": keys.entry_id(bonus["sk"]),
                              "reversed_reason": XP_BONUS_REASON, "board_delta": plan.board_coins}  # fmt: skip
                    if carried:  # the compensation carries them too: one item
                        k_rev, attrs = items.with_bonus((k_rev, attrs), amount=plan.coins, balance=balance_after, **undone)
                    else:
                        k_rev_bonus, bonus_attrs = items.coin_entry(
                            tenant, user_id, event_id=event_id, occurred=now, recorded=now, amount=plan.coins,
                            balance=balance_after, **{**common, **undone},
                        )  # fmt: skip
                        mark_reversed(tx, k_bonus, rev_bonus_id)  # type: ignore[arg-type]
                        tx.put_new(k_rev_bonus, bonus_attrs)
                # A topic attempt counts on the day's usage only when it earned XP; an imported
                # entry never did (an import writes the source's usage as its own item).
                counted = not entry.get("imported_from") and (not topic or bool(entry_amount(entry)))
                if counted and usage and k_usage and usage.get(TTL_ATTRIBUTE, float("inf")) >= epoch(now):
                    undo_day_usage(tx, k_usage, xp=plan.cap_xp, action=plan.action)
            else:
                k_rev, attrs = items.coin_entry(
                    tenant, user_id, event_id=event_id, occurred=now, recorded=now, reason=req.reason,
                    amount=plan.coins, balance=balance_after, **common, board_delta=plan.board_coins,
                )  # fmt: skip
            rev_id = keys.entry_id(k_rev["sk"])
            mark_reversed(tx, k_entry, rev_id, bonus_by=rev_bonus_id if carried else None)
            tx.put_new(k_rev, attrs)
            # The floor is a condition as for a penalty: DynamoDB refuses a total below it.
            tx.bump_profile(k_profile, version_of(profile), user_id=user_id, now=now, xp=plan.xp, coins=plan.coins,
                            xp_floor=rules.xp.floor)  # fmt: skip
            moved = _boards_moved(rules, day, plan.board_xp, plan.board_coins)
            body = ReversalResponse(
                user_id=user_id, entry_id=rev_id, reverses=entry_id, type=kind,  # type: ignore[arg-type]
                amount=plan.xp if kind == "xp" else plan.coins, coins_reversed=plan.coins,
                bonus_entry_id=rev_bonus_id, total_xp=total_after,
                level=level_after.level, level_name=level_after.name, coins_balance=balance_after, boards=moved,
                floored=plan.floored,
            )  # fmt: skip
            return Write(Outcome(body), tx, proof=k_rev)

        wanted = [k_entry, k_profile, k_bonus, k_usage, k_topic]
        return read_decide_commit(self.store, self.engine.retry, idem, now, wanted, decide)


def _refuse_carried(store: Store, k_coin: keys.Key) -> None:
    """Raise NotReversible (409) when ``k_coin``, a coin entry's key that holds no item, is
    the id of ``xp_bonus`` coins an XP entry carries (an award's, or the reversal of one):
    reverse the award instead. Returns when there are none (404 then)."""
    carrier = entry_at(store, k_coin["pk"], k_coin["sk"][len("COIN#"):] + "#XP")
    for coins in ledger_entries(carrier)[1:] if carrier else ():
        if coins["sk"] == k_coin["sk"]:
            plan_reversal(coins, None, cap_exempt=False, board_reasons=frozenset())  # raises: never reversible


def _topic_back(
    rules: Rules, tx: Transaction, key: keys.Key, name: str, item: dict[str, Any] | None, xp: int, now: datetime
) -> dict[str, Any]:
    """Move topic ``name``'s item (``item``, read at ``key``) by the reversal's ``xp``
    (signed XP) in ``tx``, with its level from the rules' topic (left as stored for a topic
    no longer in the rules), conditioned on the version read. Returns the compensating
    entry's topic fields (``topic``, ``topic_xp`` after it), so the sum of a topic's entries
    stays its XP. A topic item that is gone (nothing to move back) adds nothing."""
    if item is None:
        return {}
    before = int(item.get("xp", 0))
    after = reversed_topic_xp(before, xp)
    if after != before:
        topic = rules.topics.get(name)
        level = topic_level(topic, after) if topic else None
        tx.update(move_topic_xp(key, version_of(item), xp=after - before, level=level, now=now))
    return {"topic": name, "topic_xp": after}


def _boards_moved(rules: Rules, day: date, xp: int, coins: int) -> list[dict[str, Any]]:
    """``[{board, period, period_key, delta}]`` the reversal moves back (through the stream)."""
    out = []
    for bp in touched(rules, day):
        delta = delta_for(bp.metric, xp, coins)
        if delta:
            out.append({"board": bp.board, "period": bp.period, "period_key": bp.period_key, "delta": delta})
    return out
