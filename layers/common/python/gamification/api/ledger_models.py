"""Response models of the ledger history, ``GET /v1/users/{user_id}/ledger`` (field names
fixed by the API contract, README "Ledger"). The ledger's other routes have their own:
spending :mod:`gamification.api.spend_models`, reversals
:mod:`gamification.api.reversal_models`, an operator's adjustments
:mod:`gamification.api.adjustment_models`; the dashboard's, which embeds a profile and
these entries, :mod:`gamification.api.dashboard_models`; user deletion's
:mod:`gamification.api.erasure_models`. Each route creates its own models only (cold start)."""

from typing import Any, Literal

from gamification.api.models import _Model


class LedgerEntry(_Model):
    """One XP or coin change. ``amount`` is signed (XP for ``xp``, coins for ``coins``);
    ``action`` only for XP awards; times are RFC 3339 UTC. ``kind``: ``award``, ``spend``,
    ``adjustment`` or ``reversal``; ``reverses`` / ``reversed_by`` link a reversal and its
    original; ``item`` is what a spend bought."""

    entry_id: str
    type: Literal["xp", "coins"]
    amount: int
    reason: str
    action: str | None
    occurred_at: str | None
    recorded_at: str | None
    idempotency_key: str | None
    metadata: dict[str, Any] | None
    kind: str = "award"
    item: str | None = None
    reverses: str | None = None
    reversed_by: str | None = None


class LedgerResponse(_Model):
    """``GET /v1/users/{user_id}/ledger``: newest first; ``next_cursor`` null at the end."""

    user_id: str
    entries: list[LedgerEntry]
    next_cursor: str | None
