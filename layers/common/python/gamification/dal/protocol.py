"""What the use cases need from storage: the :class:`Store` protocol.

:class:`gamification.dal.store.Store` implements it over DynamoDB;
:class:`gamification.dal.memory.MemoryStore` in memory, for use-case unit tests without any
DynamoDB server. Writes are built as :class:`gamification.dal.store.Transaction` requests
(DynamoDB's own request shapes, conditions included) so both stores apply the same ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from gamification.dal.keys import Key

if TYPE_CHECKING:
    from gamification.dal.store import Transaction


class Store(Protocol):
    """Consistent reads and conditional writes of the gamification table ``table``."""

    table: str

    def transaction(self, token: str | None = None) -> Transaction:
        """A new, empty transaction (``token``: its ClientRequestToken)."""
        ...

    def commit(self, tx: Transaction) -> None:
        """Apply ``tx`` atomically; raises :class:`gamification.dal.store.WriteConflict`
        when a condition failed or another write raced it."""
        ...

    def put_new(self, key: Key, attrs: dict[str, Any]) -> bool:
        """Create one item if absent; False if it existed."""
        ...

    def get_many(self, wanted: list[Key | None]) -> list[dict[str, Any] | None]:
        """Strongly consistent read of several items, in the order asked (None: missing or
        no key)."""
        ...

    def get(self, key: Key, consistent: bool = True) -> dict[str, Any] | None:
        """One item, or None."""
        ...
