"""A user's notification inbox: written from domain events (level ups, unlocks, streak
milestones, prizes), read newest first, marked read, expired by DynamoDB TTL after 30 days.

Costs: the inbox is one Query (at most 100 newest items of the user's partition, prefix
``NOTE#``); marking read is one UpdateItem per notification marked (after that Query).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from gamification.dal import keys
from gamification.dal.ledger_store import query_page, set_existing
from gamification.dal.store import TTL_ATTRIBUTE, Store, epoch
from gamification.domain.events import NOTIFICATION_TTL_S
from gamification.api.notification_models import MarkReadResponse, NotificationsResponse
from gamification.usecases.outcome import Outcome

INBOX_SIZE = 100


class Notifications:
    def __init__(self, store: Store, now: Any) -> None:
        self.store = store
        self.now = now

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
        return Outcome(NotificationsResponse(user_id=user_id, notifications=self.inbox(tenant, user_id, unread_only)))

    def mark_read(self, tenant: str, user_id: str, ids: list[str] | None, everything: bool) -> Outcome:
        """Mark ``ids`` (or all) read; unknown ids are ignored. Returns ``{marked, unread}``."""
        wanted = set(ids or [])
        marked = 0
        items = self._items(tenant, user_id)
        for item in items:
            if item.get("read") or not (everything or item["id"] in wanted):
                continue
            if set_existing(self.store, {"pk": item["pk"], "sk": item["sk"]}, {"read": True}):
                item["read"] = True
                marked += 1
        return Outcome(MarkReadResponse(user_id=user_id, marked=marked, unread=sum(not i.get("read") for i in items)))
