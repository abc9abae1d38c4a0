"""Models of ``POST /v1/users/{user_id}/ledger/{entry_id}/reversal`` (field names fixed by
the API contract, README "Ledger"), apart from the ledger's other routes (cold start)."""

from typing import Any, Literal

from gamification.api.models import Reason, _Model, _Request

#: Opaque ledger entry ids (URL-safe base64 of the entry's key).
ENTRY_ID_PATTERN = r"^[A-Za-z0-9_-]{1,400}$"


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
