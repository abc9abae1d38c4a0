"""Models of ``POST /v1/users/{user_id}/coins/spend`` (field names fixed by the API contract,
README "Ledger"), apart from the ledger's other routes (cold start)."""

from typing import Annotated

from pydantic import StrictStr, StringConstraints

from gamification.api.models import ID_PATTERN, Metadata, RuleName, _Model, _Request, whole_number

#: Largest single spend or operator adjustment (coins).
MAX_SPEND = 1_000_000


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
