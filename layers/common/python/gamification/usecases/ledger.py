"""Use cases of a user's ledger: history, spending coins, operator adjustments, reversals.

Costs (DynamoDB requests):

- history page: one Query (``type=xp|coins``: the user's partition by sort-key prefix,
  strongly consistent; no type: the GSI ``ledger``, both kinds merged newest first);
- spend / adjustment: one BatchGetItem (profile, idempotency record) + one
  TransactWriteItems (profile with the balance condition, ledger entry, idempotency record);
- reversal: one GetItem (the entry) + one BatchGetItem (profile, bonus coin entry, day
  usage, idempotency record, the board scores the entry moved) + one TransactWriteItems
  (the entry marked ``reversed_by`` once, the compensating entries, profile, day usage,
  boards, idempotency record).

Invariants are DynamoDB conditions: a spend's ``coins_balance >= amount`` on the profile
(racing spends never overdraw), a reversal's ``attribute_not_exists(reversed_by)`` on the
original entry (reversed once), the profile ``version`` for exact totals in responses.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from gamification.api.ledger_models import (
    LedgerEntry,
    LedgerResponse,
    ReversalRequest,
    ReversalResponse,
    SpendRequest,
    SpendResponse,
)
from gamification.dal import keys
from gamification.dal.ledger_store import debit_profile, mark_reversed, query_page, undo_day_usage
from gamification.dal.store import TTL_ATTRIBUTE, WriteConflict, epoch, version_of
from gamification.domain.errors import ValidationFailed
from gamification.domain.ledger import (
    ADJUSTMENT,
    REVERSAL,
    SPEND,
    TYPE_PREFIX,
    EntryNotFound,
    InsufficientCoins,
    decode_cursor,
    encode_cursor,
    entry_type,
    entry_view,
    plan_reversal,
)
from gamification.domain.levels import level_for_xp
from gamification.domain.periods import local_date
from gamification.domain.rules import XP_BONUS_REASON
from gamification.usecases.boards import BoardUpdate
from gamification.usecases.engine import Engine, Outcome, _fingerprint

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

        One Query per page. Raises ValidationFailed (400) for a bad ``type``, ``limit`` or
        ``cursor``. Entries written before the GSI ``ledger`` existed show in the unfiltered
        history once data migration 003 has run (they show under ``type=`` at once).
        """
        if type_filter is not None and type_filter not in TYPE_PREFIX:
            raise ValidationFailed("type must be xp or coins", field="type")
        if not 1 <= limit <= MAX_PAGE:
            raise ValidationFailed(f"limit must be between 1 and {MAX_PAGE}", field="limit")
        pk = keys.user_pk(tenant, user_id)
        start = decode_cursor(cursor, type_filter, pk, _index_sk) if cursor else None
        items, last = query_page(
            self.store, pk, prefix=TYPE_PREFIX[type_filter] if type_filter else None, limit=limit, start=start
        )
        entries = [LedgerEntry(**entry_view(i, keys.entry_id(i["sk"]))) for i in items]
        # A short page with a last key means DynamoDB stopped at 1 MB: the cursor goes on.
        next_cursor = encode_cursor(type_filter, last) if last else None
        body = LedgerResponse(user_id=user_id, entries=entries, next_cursor=next_cursor)
        return Outcome(body.model_dump(mode="json"))

    def recent(self, tenant: str, user_id: str, limit: int) -> list[dict[str, Any]]:
        """The newest ``limit`` entries of both types (one Query of the GSI ``ledger``)."""
        return self.history(tenant, user_id, limit=limit).body["entries"]

    # ---- spending and adjustments --------------------------------------------------

    def spend(self, tenant: str, user_id: str, req: SpendRequest, idempotency_key: str | None) -> Outcome:
        """``POST /v1/users/{id}/coins/spend``: take ``req.amount`` coins off the balance.

        Raises InsufficientCoins (409, nothing written), IdempotencyKeyReused (422),
        Contention (503). Spent coins never leave ``coins`` boards (those count coins earned).
        """
        return self._debit_or_credit(tenant, user_id, -req.amount, req.reason, SPEND, idempotency_key, req,
                                     item=req.item, metadata=req.metadata)  # fmt: skip

    def adjust(self, tenant: str, user_id: str, amount: int, reason: str, operator: str | None = None) -> Outcome:
        """An operator's grant (``amount`` > 0) or deduction (< 0) of coins, with a reason,
        as a ledger entry of kind ``adjustment`` (tools/ops/coins.py). A deduction never
        overdraws (InsufficientCoins). Adjustments do not move ``coins`` boards."""
        if not amount or abs(amount) > 1_000_000:
            raise ValidationFailed("amount must be a non-zero number of coins up to 1,000,000", field="amount")
        if not reason.strip():
            raise ValidationFailed("an adjustment needs a reason", field="reason")
        return self._debit_or_credit(tenant, user_id, amount, reason, ADJUSTMENT, None, None,
                                     metadata={"operator": operator} if operator else None)  # fmt: skip

    def _debit_or_credit(
        self,
        tenant: str,
        user_id: str,
        amount: int,
        reason: str,
        kind: str,
        idempotency_key: str | None,
        req: Any,
        *,
        item: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Outcome:
        engine = self.engine
        now = engine.now()
        fp = _fingerprint("spend_coins", user_id, req) if req is not None else ""
        k_idem = keys.idempotency_key(tenant, idempotency_key) if idempotency_key else None
        k_profile = keys.profile_key(tenant, user_id)
        previous: tuple[keys.Key, dict[str, Any]] | None = None
        for _ in engine._attempts():
            profile, idem, applied = self.store.get_many([k_profile, k_idem, previous[0] if previous else None])
            if applied and previous:
                return Outcome(previous[1])  # the refused commit had been applied (see Engine)
            if idem:
                return engine._replay(idem, fp)
            balance = int(profile.get("coins_balance", 0)) if profile else 0
            if amount < 0 and balance < -amount:
                raise InsufficientCoins(
                    f"Balance {balance} is short of {-amount} coins", balance=balance, amount=-amount
                )
            event_id = uuid.uuid4().hex
            k_entry = keys.coin_entry_key(tenant, user_id, now, event_id)
            body = SpendResponse(
                user_id=user_id, spent=-amount if amount < 0 else 0, balance=balance + amount,
                entry_id=keys.entry_id(k_entry["sk"]), reason=reason, item=item,
            ).model_dump(mode="json")  # fmt: skip
            if kind == ADJUSTMENT:
                body = {"user_id": user_id, "amount": amount, "balance": balance + amount,
                        "entry_id": body["entry_id"], "reason": reason}  # fmt: skip
            tx = self.store.transaction(token=event_id)
            if amount < 0:
                debit_profile(tx, k_profile, version_of(profile), coins=-amount, now=now)
            else:
                tx.bump_profile(k_profile, version_of(profile), user_id=user_id, now=now, coins=amount)
            tx.put_new(
                k_entry,
                {
                    "type": "coins",
                    "kind": kind,
                    "user_id": user_id,
                    "amount": amount,
                    "reason": reason,
                    "item": item,
                    "occurred_at": keys.stamp(now),
                    "recorded_at": keys.stamp(now),
                    "balance": balance + amount,
                    "idempotency_key": idempotency_key,
                    "metadata": metadata or None,
                },
            )
            if k_idem:
                tx.put_new(k_idem, engine._idempotency_record(fp, body, now))
            try:
                self.store.commit(tx)
            except WriteConflict:
                previous = (k_entry, body)
                continue
            return Outcome(body)
        raise AssertionError("unreachable: _attempts raises when exhausted")

    # ---- reversals -----------------------------------------------------------------

    def reverse(
        self, tenant: str, user_id: str, entry_id: str, req: ReversalRequest, idempotency_key: str | None
    ) -> Outcome:
        """``POST /v1/users/{id}/ledger/{entry_id}/reversal``: the compensating entry, once.

        An XP award's reversal takes back its XP (total, level), the day's XP toward the cap
        and one count of its action, its ``xp_bonus`` coins, and the boards it moved (on the
        period of the original event). A coin entry's reversal takes back its coins (a
        spend's gives them back) and, for rewards, the ``coins`` boards. Lifetime counters,
        streaks and unlocked achievements stay. The balance may go below zero when the
        coins were spent meanwhile (spending then waits until it is positive again).

        Raises EntryNotFound (404), AlreadyReversed / NotReversible (409),
        IdempotencyKeyReused (422), Contention (503).
        """
        engine = self.engine
        rules = self.rules
        now = engine.now()
        sk = keys.entry_sk(entry_id)
        if sk is None:
            raise EntryNotFound("No such ledger entry", entry_id=entry_id)
        fp = _fingerprint(f"reversal:{entry_id}", user_id, req)
        k_idem = keys.idempotency_key(tenant, idempotency_key) if idempotency_key else None
        k_profile = keys.profile_key(tenant, user_id)
        k_entry = {"pk": keys.user_pk(tenant, user_id), "sk": sk}
        kind = entry_type(sk)
        # The xp_bonus coins of an XP award share its time and event id.
        k_bonus = {"pk": k_entry["pk"], "sk": "COIN#" + sk[len("XP#"):]} if kind == "xp" else None
        previous: tuple[keys.Key, dict[str, Any]] | None = None
        for _ in engine._attempts():
            entry, idem = self.store.get_many([k_entry, k_idem])
            if idem:
                return engine._replay(idem, fp)
            if entry is None:
                raise EntryNotFound("No such ledger entry", entry_id=entry_id)
            if previous and entry.get("reversed_by") == keys.entry_id(previous[0]["sk"]):
                return Outcome(previous[1])  # the refused commit had been applied
            occurred = _instant(entry["occurred_at"])
            day = date.fromisoformat(entry["day"]) if entry.get("day") else local_date(occurred, rules.zone)
            k_usage = keys.usage_key(tenant, user_id, day.isoformat()) if kind == "xp" else None
            boards = BoardUpdate(rules, tenant, user_id, day)
            profile, bonus, usage, *scores = self.store.get_many([k_profile, k_bonus, k_usage, *boards.keys])
            if bonus and bonus.get("reason") != XP_BONUS_REASON:
                bonus = None
            action_rule = rules.actions.get(entry.get("action") or "")
            plan = plan_reversal(
                entry,
                bonus,
                cap_exempt=bool(action_rule and action_rule.cap_exempt),
                board_reasons=frozenset({XP_BONUS_REASON, *rules.coins.rewards}),
            )
            total_before = int(profile["total_xp"]) if profile else rules.xp.start
            balance_before = int(profile.get("coins_balance", 0)) if profile else 0
            total_after, balance_after = total_before + plan.xp, balance_before + plan.coins
            level_after = level_for_xp(rules, total_after)
            event_id = uuid.uuid4().hex
            prefix = "XP#" if kind == "xp" else "COIN#"
            k_rev = {"pk": k_entry["pk"], "sk": f"{prefix}{keys.stamp(now)}#{event_id}"}
            rev_id = keys.entry_id(k_rev["sk"])
            k_rev_bonus = keys.coin_entry_key(tenant, user_id, now, event_id) if plan.coins and kind == "xp" else None
            tx = self.store.transaction(token=event_id)
            mark_reversed(tx, k_entry, rev_id)
            common = {
                "user_id": user_id, "kind": REVERSAL, "reason": req.reason, "occurred_at": keys.stamp(now),
                "recorded_at": keys.stamp(now), "idempotency_key": idempotency_key, "reverses": entry_id,
                "reversed_reason": entry.get("reason"),
            }  # fmt: skip
            if kind == "xp":
                tx.put_new(k_rev, {**common, "type": "xp", "action": entry.get("action"), "xp": plan.xp,
                                   "day": day.isoformat(), "total_xp": total_after, "level": level_after.level})  # fmt: skip
                if k_rev_bonus and bonus:
                    mark_reversed(tx, k_bonus, keys.entry_id(k_rev_bonus["sk"]))
                    tx.put_new(k_rev_bonus, {**common, "type": "coins", "amount": plan.coins, "balance": balance_after,
                                             "reverses": keys.entry_id(bonus["sk"]), "reversed_reason": XP_BONUS_REASON})  # fmt: skip
                live = usage and usage.get(TTL_ATTRIBUTE, float("inf")) >= epoch(now)
                if live and k_usage:
                    undo_day_usage(tx, k_usage, xp=plan.cap_xp, action=plan.action)
            else:
                tx.put_new(k_rev, {**common, "type": "coins", "amount": plan.coins, "balance": balance_after})
            tx.bump_profile(k_profile, version_of(profile), user_id=user_id, now=now, xp=plan.xp, coins=plan.coins)
            moved = boards.apply(tx, scores, xp=plan.board_xp, coins=plan.board_coins, now=now)
            body = ReversalResponse(
                user_id=user_id,
                entry_id=rev_id,
                reverses=entry_id,
                type=kind,  # type: ignore[arg-type]
                amount=plan.xp if kind == "xp" else plan.coins,
                coins_reversed=plan.coins,
                bonus_entry_id=keys.entry_id(k_rev_bonus["sk"]) if k_rev_bonus and bonus else None,
                total_xp=total_after,
                level=level_after.level,
                level_name=level_after.name,
                coins_balance=balance_after,
                boards=moved,
            ).model_dump(mode="json")
            if k_idem:
                tx.put_new(k_idem, engine._idempotency_record(fp, body, now))
            try:
                self.store.commit(tx)
            except WriteConflict:
                previous = (k_rev, body)
                continue
            return Outcome(body)
        raise AssertionError("unreachable: _attempts raises when exhausted")
