"""The ledger history, ``GET /v1/users/{user_id}/ledger`` (and the dashboard's newest
entries), apart from spending (:mod:`gamification.usecases.spending`) and reversals
(:mod:`gamification.usecases.reversals`), so the read loads no write path.

Cost: one Query of the GSI ``ledger`` per page (both kinds merged newest first, keyed
entries included; eventually consistent); ``type=xp|coins`` filters it, up to 10 Queries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gamification.api.ledger_models import LedgerEntry, LedgerResponse
from gamification.dal import keys
from gamification.dal.ledger_store import index_key, ledger_page
from gamification.domain.entries import (
    TYPE_PREFIX,
    decode_cursor,
    encode_cursor,
    entry_view,
    ledger_entries,
    ledger_kind,
)
from gamification.domain.errors import ValidationFailed
from gamification.usecases.outcome import Outcome

if TYPE_CHECKING:
    from gamification.usecases.context import Context

MAX_PAGE = 100


def _index_sk(key: dict[str, str]) -> str | None:
    return keys.ledger_index(key).get("ledger_sk")


class LedgerReads:
    """A user's ledger history over a use-case :class:`~gamification.usecases.context.Context`
    (the engine: its store)."""

    def __init__(self, engine: Context) -> None:
        self.engine = engine
        self.rules = engine.rules
        self.store = engine.store

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
