"""Use cases of a user's ledger: history, spending coins, operator adjustments, reversals.

Costs (DynamoDB requests):

- history page: one Query of the GSI ``ledger`` (both kinds merged newest first, keyed
  entries included; eventually consistent); ``type=xp|coins`` filters it, up to 10 Queries;
- spend / adjustment: one BatchGetItem (profile, idempotency record) + one
  TransactWriteItems (profile with the balance condition, ledger entry, idempotency record);
- reversal: one GetItem (the entry) + one BatchGetItem (profile, day usage, the topic
  item of a topic's entry, idempotency record; an older award's separate bonus coin entry)
  + one TransactWriteItems (the entry marked ``reversed_by`` once, the compensating entry,
  which carries the award's ``xp_bonus`` coins back as the award carried them, profile, day
  usage, topic item, idempotency record); the boards follow through the stream.

Invariants are DynamoDB conditions: a spend's ``coins_balance >= amount`` on the profile
(racing spends never overdraw), a reversal's ``attribute_not_exists(reversed_by)`` on the
original entry (reversed once), the profile ``version`` for exact totals in responses.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from gamification.api.ledger_models import (
    AdjustRequest,
    AdjustResponse,
    LedgerEntry,
    LedgerResponse,
    ReversalRequest,
    ReversalResponse,
    SpendRequest,
    SpendResponse,
)
from gamification.dal import items, keys
from gamification.dal.ledger_store import debit_profile, entry_at, index_key, ledger_page, mark_reversed, undo_day_usage
from gamification.dal.store import TTL_ATTRIBUTE, Store, Transaction, epoch, version_of
from gamification.dal.topic_store import move_topic_xp
from gamification.domain.errors import GamificationError, ValidationFailed
from gamification.domain.ledger import (
    ADJUSTMENT,
    REVERSAL,
    SPEND,
    TYPE_PREFIX,
    EntryNotFound,
    InsufficientCoins,
    bonus_sort_key,
    decode_cursor,
    encode_cursor,
    entry_amount,
    entry_view,
    ledger_entries,
    ledger_kind,
    ledger_owner,
    plan_reversal,
)
from gamification.domain.levels import level_for_xp
from gamification.domain.periods import local_date
from gamification.domain.leaderboards import delta_for, touched
from gamification.domain.reasons import XP_BONUS_REASON
from gamification.domain.topics import reversed_topic_xp, topic_level
from gamification.usecases.engine import Engine
from gamification.usecases.idempotency import Idempotency
from gamification.usecases.optimistic import Read, Write, read_decide_commit
from gamification.usecases.outcome import Outcome

if TYPE_CHECKING:  # annotations only: the rules load with the engine, on the first request
    from gamification.domain.rules import Rules

MAX_PAGE = 100


def _index_sk(key: dict[str, str]) -> str | None:
    return keys.ledger_index(key).get("ledger_sk")


def _instant(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


class Ledger:
    """The ledger use cases over an :class:`Engine`'s rules, store, clock and retry policy."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.rules = engine.rules
        self.store = engine.store

    # ---- history -------------------------------------------------------------------

    def history(
        self, tenant: str, user_id: str, *, type_filter: str | None = None, limit: int = 20, cursor: str | None = None
    ) -> Outcome:
        """``GET /v1/users/{id}/ledger``: entries newest first, ``limit`` (1..100) per page.

        Every page reads the GSI ``ledger`` (eventually consistent), which lists the entries
        of the user's partition and keyed entries (an award's entry stored as its
        Idempotency-Key's record) alike: one Query untyped; typed (``type=xp|coins``), a
        filtered Query repeated until ``limit`` entries (at most 10 Queries). Raises
        ValidationFailed (400) for a bad ``type``, ``limit`` or ``cursor``. Entries written
        before the GSI ``ledger`` existed show once data migration 004 has run.
        """
        if type_filter is not None and type_filter not in TYPE_PREFIX:
            raise ValidationFailed("type must be xp or coins", field="type")
        if not 1 <= limit <= MAX_PAGE:
            raise ValidationFailed(f"limit must be between 1 and {MAX_PAGE}", field="limit")
        pk = keys.user_pk(tenant, user_id)
        start, skip = decode_cursor(cursor, type_filter, pk, _index_sk) if cursor else (None, 0)
        kind = (TYPE_PREFIX[type_filter], type_filter) if type_filter else None
        # A skip resumes inside an item (an award's bonus coins after its XP entry): read it
        # again. One item more than the page shows tells a full last page from a full one.
        found, last = ledger_page(self.store, pk, kind=kind, limit=limit + 1, start=start, inclusive=bool(skip))
        if not (skip and found and start and found[0].get("ledger_sk") == start["ledger_sk"]):
            skip = 0  # (the item is gone: nothing of it to skip)
        entries: list[LedgerEntry] = []
        next_cursor = None
        for n, item in enumerate(found):
            held = [e for e in ledger_entries(item) if type_filter in (None, ledger_kind(e))]
            done = skip if n == 0 else 0
            taken = held[done : done + limit - len(entries)]
            entries += [LedgerEntry(**entry_view(e, keys.stored_entry_id(e) or "")) for e in taken]
            if done + len(taken) < len(held):  # the page ends inside this item
                next_cursor = encode_cursor(type_filter, index_key(item), done + len(taken))
                break
            if len(entries) == limit and n + 1 < len(found):
                next_cursor = encode_cursor(type_filter, index_key(item))
                break
        else:
            # A short page with a last key means DynamoDB stopped at 1 MB: the cursor goes on.
            next_cursor = encode_cursor(type_filter, last) if last else None
        body = LedgerResponse(user_id=user_id, entries=entries, next_cursor=next_cursor)
        return Outcome(body)

    def recent(self, tenant: str, user_id: str, limit: int) -> list[dict[str, Any]]:
        """The newest ``limit`` entries of both types (one Query of the GSI ``ledger``)."""
        return self.history(tenant, user_id, limit=limit).body["entries"]

    # ---- spending and adjustments --------------------------------------------------

    def spend(self, tenant: str, user_id: str, req: SpendRequest, idempotency_key: str | None) -> Outcome[SpendResponse]:
        """``POST /v1/users/{id}/coins/spend``: take ``req.amount`` coins off the balance.

        Raises InsufficientCoins (409, nothing written), IdempotencyKeyReused (422),
        Contention (503). Spent coins never leave ``coins`` boards (those count coins earned).
        """
        idem = Idempotency.of(tenant, "spend_coins", user_id, req, idempotency_key, SpendResponse)

        def respond(balance: int, entry_id: str) -> SpendResponse:
            return SpendResponse(user_id=user_id, spent=req.amount, balance=balance, entry_id=entry_id,
                                 reason=req.reason, item=req.item)  # fmt: skip

        return self._move_coins(tenant, user_id, -req.amount, req.reason, SPEND, idem, respond,
                                item=req.item, metadata=req.metadata)  # fmt: skip

    def adjust(self, tenant: str, user_id: str, amount: int, reason: str, operator: str | None = None) -> Outcome[AdjustResponse]:
        """An operator's grant (``amount`` > 0) or deduction (< 0) of coins, with a reason,
        as a ledger entry of kind ``adjustment`` (tools/ops/coins.py). A deduction never
        overdraws (InsufficientCoins). Adjustments do not move ``coins`` boards."""
        if not amount or not reason.strip():
            raise ValidationFailed("an adjustment needs a non-zero amount and a reason", field="amount")
        req = AdjustRequest(amount=amount, reason=reason, operator=operator)
        idem = Idempotency.of(tenant, "adjust_coins", user_id, req, None, AdjustResponse)

        def respond(balance: int, entry_id: str) -> AdjustResponse:
            return AdjustResponse(user_id=user_id, amount=amount, balance=balance, entry_id=entry_id, reason=reason)

        return self._move_coins(tenant, user_id, amount, reason, ADJUSTMENT, idem, respond,
                                metadata={"operator": operator} if operator else None)  # fmt: skip

    def _move_coins(
        self,
        tenant: str,
        user_id: str,
        amount: int,
        reason: str,
        kind: str,
        idem: Idempotency[Any],
        respond: Callable[[int, str], Any],
        *,
        item: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Outcome[Any]:
        """One coin entry of ``kind`` with signed ``amount`` and the profile's balance, on the
        read -> decide -> commit skeleton; a debit is conditioned on the balance covering it."""
        now = self.engine.now()
        k_profile = keys.profile_key(tenant, user_id)

        def decide(read: Read) -> Write:
            (profile,) = read
            balance = int(profile.get("coins_balance", 0)) if profile else 0
            if amount < 0 and balance < -amount:
                raise InsufficientCoins(f"Balance {balance} is short of {-amount} coins", balance=balance, amount=-amount)
            event_id = uuid.uuid4().hex
            k_entry, attrs = items.coin_entry(
                tenant, user_id, event_id=event_id, occurred=now, recorded=now, reason=reason, amount=amount,
                balance=balance + amount, kind=kind, item=item, idempotency_key=idem.key,
                metadata=json.dumps(metadata) if metadata else None,
            )  # fmt: skip
            tx = self.store.transaction(token=event_id)
            if amount < 0:
                debit_profile(tx, k_profile, version_of(profile), coins=-amount, now=now)
            else:
                tx.bump_profile(k_profile, version_of(profile), user_id=user_id, now=now, coins=amount)
            tx.put_new(k_entry, attrs)
            return Write(Outcome(respond(balance + amount, keys.entry_id(k_entry["sk"]))), tx, proof=k_entry)

        return read_decide_commit(self.store, self.engine.retry, idem, now, [k_profile], decide)

    # ---- reversals -----------------------------------------------------------------

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
