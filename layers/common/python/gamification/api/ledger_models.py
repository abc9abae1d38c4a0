"""Request and response models of the ledger routes: history, spending and reversals (field
names fixed by the API contract, README "Ledger"); the dashboard's, which embeds a profile,
are :mod:`gamification.api.dashboard_models`, user deletion's
:mod:`gamification.api.erasure_models`."""

from typing import Annotated, Any, Literal

from pydantic import Field, StrictStr, StringConstraints

from gamification.api.models import ID_PATTERN, Metadata, RuleName, _Model, _Request, whole_number

#: Opaque ledger entry ids (URL-safe base64 of the entry's key).
ENTRY_ID_PATTERN = r"^[A-Za-z0-9_-]{1,400}$"
#: Largest single spend or operator adjustment (coins).
MAX_SPEND = 1_000_000
Reason = Annotated[StrictStr, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$")]


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


class SpendRequest(_Request):
    """``POST /v1/users/{user_id}/coins/spend``: ``amount`` coins (1..1,000,000) for
    ``reason``; ``item`` (optional) names what was bought."""

    amount: whole_number(1, MAX_SPEND)  # type: ignore[valid-type]
    reason: RuleName
    item: Annotated[StrictStr, StringConstraints(pattern=ID_PATTERN)] | None = None
    metadata: Metadata = None


class SpendResponse(_Model):
    """Coins taken off the balance; ``balance`` after the spend; the ledger ``entry_id``."""

    user_id: str
    spent: int
    balance: int
    entry_id: str
    reason: str
    item: str | None


class AdjustRequest(_Request):
    """An operator's signed coin adjustment (tools/ops/coins.py), with its reason."""

    amount: whole_number(-MAX_SPEND, MAX_SPEND)  # type: ignore[valid-type]
    reason: Reason
    operator: StrictStr | None = None


class AdjustResponse(_Model):
    """The coins added (or, negative, taken) and the balance after them."""

    user_id: str
    amount: int
    balance: int
    entry_id: str
    reason: str


class ReversalRequest(_Request):
    """``POST /v1/users/{user_id}/ledger/{entry_id}/reversal``: why (required, 1..200)."""

    reason: Reason


class ReversalResponse(_Model):
    """The compensating entry (``entry_id``; ``bonus_entry_id`` when the XP award's bonus
    coins went back too) and the user's totals after it. ``amount``: the XP or coins the
    entry moved (signed); ``floored``: an XP compensation was cut to keep ``total_xp`` at
    the rules' ``xp.floor`` (``amount`` then takes back less than the original XP)."""

    user_id: str
    entry_id: str
    reverses: str
    type: Literal["xp", "coins"]
    amount: int
    coins_reversed: int
    bonus_entry_id: str | None
    total_xp: int
    level: int
    level_name: str
    coins_balance: int
    boards: list[dict[str, Any]]
    floored: bool = False
