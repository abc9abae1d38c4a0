"""Spending coins, ``POST /v1/users/{user_id}/coins/spend``, and the coin move it shares with
an operator's adjustment (:meth:`gamification.usecases.ledger.Ledger.adjust`).

Cost: one BatchGetItem (profile, idempotency record) + one TransactWriteItems (profile with
the balance condition, ledger entry, idempotency record). A spend's ``coins_balance >=
amount`` is a DynamoDB condition on the profile (racing spends never overdraw), its
``version`` the condition for exact totals in responses.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gamification.api.spend_models import SpendRequest, SpendResponse
from gamification.dal import items, keys
from gamification.dal.ledger_store import debit_profile
from gamification.dal.store import version_of
from gamification.domain.entries import SPEND, InsufficientCoins
from gamification.usecases.idempotency import Idempotency
from gamification.usecases.optimistic import Read, Write, read_decide_commit
from gamification.usecases.outcome import Outcome

if TYPE_CHECKING:
    from gamification.usecases.context import Context


class Spending:
    """Coin spends over a use-case :class:`~gamification.usecases.context.Context` (the
    engine: its store, clock and retry policy)."""

    def __init__(self, engine: Context) -> None:
        self.engine = engine
        self.rules = engine.rules
        self.store = engine.store

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
