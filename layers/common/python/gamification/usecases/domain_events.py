"""The consumer of the table's stream: derives domain events from new items
(:mod:`gamification.domain.events`), leaves notifications in users' inboxes, publishes every
event to the EventBridge bus (``source: gamification``, ``detail-type``: the event type, so
tenants route them with rules) and queues one webhook delivery per subscribed endpoint.

At least once: a record handled twice gives the same event ids, writes no second
notification (conditional put), publishes and queues again (consumers deduplicate on ``id``,
webhook receivers on ``webhook-id``). A failure raises, so the stream retries that record
(partial batch responses).

Cost per record with events: 1 Query of the tenant's endpoints (cached per batch), a
PutItem per notification, 1 PutEvents, 1 SendMessageBatch when an endpoint subscribes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from gamification.dal import keys, messaging
from gamification.dal.store import Store, unmarshal
from gamification.domain.events import derive, notification
from gamification.domain.entries import ledger_entries
from gamification.usecases.notifications import Notifications
from gamification.usecases.webhooks import Webhooks

if TYPE_CHECKING:  # annotations only: the rules load with the engine, on the first request
    from gamification.domain.rules import Rules


class DomainEvents:
    def __init__(
        self,
        rules: Rules,
        store: Store,
        now: Callable[[], datetime],
        publish: Callable[[list[dict[str, Any]]], None] = messaging.publish,
        enqueue: Callable[[list[dict[str, Any]]], None] = messaging.enqueue,
    ) -> None:
        self.rules = rules
        self.store = store
        self.now = now
        self.publish = publish
        self.enqueue = enqueue
        self.notifications = Notifications(store, now)
        self.webhooks = Webhooks(store, now)
        self._endpoints: dict[str, list[dict[str, Any]]] = {}

    def events_of(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        """The domain events of one Lambda DynamoDB stream record."""
        ddb = record.get("dynamodb") or {}
        if not ddb.get("NewImage"):
            return []
        # An award's XP entry may carry its xp_bonus coins: their events are a coin entry's.
        return [event for item in ledger_entries(unmarshal(ddb["NewImage"]))
                for event in derive(self.rules, str(record.get("eventName")), item, keys.stored_entry_id(item))]  # fmt: skip

    def handle(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        """Handle one record; returns its events. Raises to have the record retried."""
        events = self.events_of(record)
        if not events:
            return []
        now = self.now()
        for event in events:
            note = notification(event)
            if note:
                self.notifications.add(event["tenant"], event["user_id"], note, now)
        self.publish(events)
        messages = [m for e in events for m in Webhooks.messages_for(self._tenant_endpoints(e["tenant"]), e)]
        if messages:
            self.enqueue(messages)
        return events

    def _tenant_endpoints(self, tenant: str) -> list[dict[str, Any]]:
        if tenant not in self._endpoints:
            self._endpoints[tenant] = self.webhooks.endpoints(tenant)
        return self._endpoints[tenant]
