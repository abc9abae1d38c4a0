"""Use cases of a user's ledger: history, spending coins, operator adjustments, reversals.

:class:`Ledger` holds them all, for the operator tools (tools/ops/coins.py) and the tests;
each route's function imports its own part, so that it loads no other route's path (cold
start): the history :mod:`gamification.usecases.ledger_reads`, spending
:mod:`gamification.usecases.spending`, reversals :mod:`gamification.usecases.reversals`
(each states its DynamoDB requests). An adjustment costs what a spend does: one
BatchGetItem (profile, idempotency record) + one TransactWriteItems (profile, with the
balance condition for a deduction, ledger entry, idempotency record).
"""

from __future__ import annotations

from gamification.api.adjustment_models import AdjustRequest, AdjustResponse
from gamification.domain.entries import ADJUSTMENT
from gamification.domain.errors import ValidationFailed
from gamification.usecases.idempotency import Idempotency
from gamification.usecases.ledger_reads import LedgerReads
from gamification.usecases.outcome import Outcome
from gamification.usecases.reversals import Reversals
from gamification.usecases.spending import Spending


class Ledger(LedgerReads, Spending, Reversals):
    """The ledger use cases over an :class:`~gamification.usecases.engine.Engine`'s rules,
    store, clock and retry policy: the history, spends and reversals of the three route
    modules, and operator adjustments."""

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
