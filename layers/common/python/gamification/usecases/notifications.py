"""A user's notification inbox: written from domain events (level ups, unlocks, streak
milestones, prizes), read newest first, marked read, expired by DynamoDB TTL after 30 days.

Costs: the inbox is one Query (at most 100 newest items of the user's partition, prefix
``NOTE#``); marking read is that Query and one TransactWriteItems of the notifications it
marks (two for 100 with an Idempotency-Key, whose record one of them creates), plus a
GetItem of the key's record with a key.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from gamification.dal import items, keys
from gamification.dal.ledger_store import query_page
from gamification.dal.store import TTL_ATTRIBUTE, Store, Transaction, WriteConflict, epoch
from gamification.domain.errors import Contention
from gamification.domain.event_types import NOTIFICATION_TTL_S
from gamification.usecases.outcome import Outcome
from gamification.usecases.retry import Retry

# The API's models and the Idempotency-Key records are imported by the methods that answer a
# route: the stream consumer only adds notifications and needs neither.
if TYPE_CHECKING:
    from gamification.api.notification_models import MarkReadRequest, MarkReadResponse

INBOX_SIZE = 100
#: Items of one TransactWriteItems (DynamoDB's limit).
MAX_TRANSACTION_ITEMS = 100
#: Attribute of a notification marked read by a keyed request: the request's Idempotency-Key.
MARKED_WITH = "read_with_key"
#: Attempts and seconds of a mark-read raced by another one on the same notifications.
MAX_ATTEMPTS, BUDGET_S = 20, 3.0


class Notifications:
    def __init__(self, store: Store, now: Any, retry: Retry | None = None) -> None:
        self.store = store
        self.now = now
        self.retry = retry or Retry(MAX_ATTEMPTS, BUDGET_S, lambda: Contention("Too many concurrent changes of this inbox; retry"))

    def add(self, tenant: str, user_id: str, note: dict[str, Any], now: datetime) -> bool:
        """Store one notification once (its id is the event's: a repeat is a no-op)."""
        created = datetime.fromisoformat(str(note["created_at"]).replace("Z", "+00:00"))
        return self.store.put_new(
            keys.notification_key(tenant, user_id, keys.stamp(created), note["id"]),
            {
                "id": note["id"],
                "type": note["type"],
                "title": note["title"],
                "created_at": keys.stamp(created),
                "read": False,
                "data": json.dumps(note.get("data") or {}),
                TTL_ATTRIBUTE: epoch(max(created, now) + timedelta(seconds=NOTIFICATION_TTL_S)),
            },
        )

    def _items(self, tenant: str, user_id: str) -> list[dict[str, Any]]:
        items, _ = query_page(self.store, keys.user_pk(tenant, user_id), prefix="NOTE#", limit=INBOX_SIZE, start=None)
        alive = epoch(self.now())
        return [i for i in items if i.get(TTL_ATTRIBUTE, alive) >= alive]  # TTL deletes late

    def inbox(self, tenant: str, user_id: str, unread_only: bool = False) -> list[dict[str, Any]]:
        """Newest first: ``[{id, type, title, created_at, read, data}]``."""
        out = [
            {"id": i["id"], "type": i["type"], "title": i["title"], "created_at": i["created_at"],
             "read": bool(i.get("read")), "data": json.loads(i.get("data") or "{}")}
            for i in self._items(tenant, user_id)
        ]  # fmt: skip
        return [n for n in out if not n["read"]] if unread_only else out

    def list(self, tenant: str, user_id: str, unread_only: bool = False) -> Outcome:
        from gamification.api.notification_models import NotificationsResponse

        return Outcome(NotificationsResponse(user_id=user_id, notifications=self.inbox(tenant, user_id, unread_only)))

    def mark_read(
        self, tenant: str, user_id: str, req: MarkReadRequest, idempotency_key: str | None = None
    ) -> Outcome[MarkReadResponse]:
        """Mark ``req.ids`` (or ``req.all``) read; unknown ids are ignored. Returns
        ``{marked, unread}``: notifications this request marked, and those left unread.

        Each mark is conditional on the notification being unread, in transactions (at
        most :data:`MAX_TRANSACTION_ITEMS` items), so racing requests count each one once.
        With an Idempotency-Key the key's record is created in the last transaction and a
        retry replays the first answer (a second run would find nothing to mark and say
        ``marked: 0``); each mark also names the key, so a run cut between two transactions
        (an inbox of 100 unread) counts the marks it made before on its retry. Raises
        IdempotencyKeyReused (422), Contention (503)."""
        from gamification.api.notification_models import MarkReadResponse
        from gamification.usecases.idempotency import Idempotency

        idem = Idempotency.of(tenant, "mark_read", user_id, req, idempotency_key, MarkReadResponse)
        wanted = set(req.ids or [])
        for _ in self.retry.attempts():
            record = self.store.get(idem.record_key) if idem.record_key else None
            if record:
                return idem.replay(record)
            now = self.now()
            inbox = self._items(tenant, user_id)
            chosen = [i for i in inbox if req.all or i["id"] in wanted]
            todo = [i for i in chosen if not i.get("read")]
            before = sum(1 for i in chosen if idem.key and i.get(MARKED_WITH) == idem.key)  # an earlier cut run
            unread = sum(not i.get("read") for i in inbox) - len(todo)
            outcome = Outcome(MarkReadResponse(user_id=user_id, marked=before + len(todo), unread=unread))
            marks = [self._mark({"pk": i["pk"], "sk": i["sk"]}, idem.key) for i in todo]
            last = MAX_TRANSACTION_ITEMS - (2 if idem.key else 0)  # the record and the user's request item
            head, tail = marks[: max(len(marks) - last, 0)], marks[max(len(marks) - last, 0):]
            txs = [self._transaction(head[i : i + MAX_TRANSACTION_ITEMS]) for i in range(0, len(head), MAX_TRANSACTION_ITEMS)]
            final = self._transaction(tail)
            if idem.key:
                final.put_new(*idem.record(outcome.body, now)).put_new(*idem.user_request(user_id))
            txs.append(final)
            try:
                for tx in txs:
                    if tx.items:
                        self.store.commit(tx)
            except WriteConflict:
                continue  # marked or read meanwhile: read the inbox (and the record) again
            return outcome
        raise AssertionError("unreachable: Retry.attempts raises when exhausted")  # pragma: no cover

    def _transaction(self, updates: list[items.Update]) -> Transaction:
        tx = self.store.transaction()
        for update in updates:
            tx.update(update)
        return tx

    @staticmethod
    def _mark(key: keys.Key, idempotency_key: str | None) -> items.Update:
        """Set one notification read, only while it exists unread; with the request's key."""
        names, values = {"#r": "read"}, {":t": True}
        expression = "SET #r = :t"
        if idempotency_key:
            names["#k"], values[":k"] = MARKED_WITH, idempotency_key
            expression += ", #k = :k"
        return items.Update(key, expression, names, values, condition="attribute_exists(pk) AND #r <> :t")
