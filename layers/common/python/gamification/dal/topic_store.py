"""DynamoDB writes and reads of topics and spaced repetition (docs/topics.md).

Items added to an attempt's ``TransactWriteItems`` (each a DynamoDB condition):

- the task and topic items are replaced only if still at the ``version`` read
  (``attribute_not_exists`` for a new one), so stage, review dates and topic XP are exact;
- the day's per-topic counter (``TOPICDAY#`` item, attribute ``n_{topic}``) is bumped only if
  it still holds the count the tier was decided from: N racing correct attempts get N
  distinct ranks, so no tier ever takes more than its ``daily_*_tasks``;
- a prerequisite is asserted with a ``ConditionCheck`` that its topic still has the XP;
- a reversal of a topic's ledger entry moves the topic item's XP back only if it is still at
  the ``version`` read (:func:`move_topic_xp`), in the reversal's transaction.

Reads: topic items by key (``BatchGetItem``), due tasks from GSI ``reviews`` (``Query``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gamification.dal import items, keys
from gamification.dal.keys import Key
from gamification.dal.store import Store, Transaction, marshal, unmarshal

#: Attribute prefix of a topic's correct attempts on a ``TOPICDAY#`` item.
TOPIC_COUNT_PREFIX = "n_"
REVIEWS_INDEX = "reviews"


def put_versioned(tx: Transaction, key: Key, seen_version: int, attrs: dict[str, Any]) -> None:
    """Replace a task or topic item if it is still at ``seen_version`` (0: must not exist);
    the new item has ``version`` = ``seen_version + 1``."""
    put: dict[str, Any] = {
        "TableName": tx.table,
        "Item": marshal({**key, **attrs, "version": seen_version + 1}),
    }
    if seen_version:
        put["ConditionExpression"] = "#v = :seen"
        put["ExpressionAttributeNames"] = {"#v": "version"}
        put["ExpressionAttributeValues"] = marshal({":seen": seen_version})
    else:
        put["ConditionExpression"] = "attribute_not_exists(pk)"
    tx.items.append({"Put": put})


def count_topic_attempt(key: Key, *, topic: str, day: str, seen: int, expires_at: datetime) -> items.Update:
    """Count one correct attempt on ``topic`` on the day item ``key``, only if the count is
    still ``seen`` (the count the attempt's tier was decided from)."""
    names = {"#n": TOPIC_COUNT_PREFIX + topic, "#d": "day", "#ttl": items.TTL_ATTRIBUTE}
    values: dict[str, Any] = {":one": 1, ":day": day, ":exp": items.epoch(expires_at)}
    if seen:
        cond = "#n = :seen"
        values[":seen"] = seen
    else:
        cond = "attribute_not_exists(#n)"
    return items.Update(key, "SET #d = :day, #ttl = :exp ADD #n :one", names, values, cond)


def move_topic_xp(key: Key, seen_version: int, *, xp: int, level: int | None, now: datetime) -> items.Update:
    """Add ``xp`` (signed XP, a reversal's compensation) to an existing topic item and set
    its ``level`` (None: left as it is), only if the item is still at ``seen_version`` and
    its XP stays at or above 0. A changed topic (a racing attempt) refuses the write: the
    caller decides again from a fresh read."""
    names = {"#xp": "xp", "#v": "version", "#upd": "updated_at"}
    values: dict[str, Any] = {":xp": xp, ":one": 1, ":seen": seen_version, ":min": -xp, ":now": keys.stamp(now)}
    update = "SET #upd = :now"
    if level is not None:
        names["#lvl"], values[":lvl"] = "level", level
        update += ", #lvl = :lvl"
    return items.Update(key, update + " ADD #xp :xp, #v :one", names, values, "#v = :seen AND #xp >= :min")


def require_topic_xp(tx: Transaction, key: Key, min_xp: int) -> None:
    """Assert (``ConditionCheck``) that a prerequisite topic item still holds ``min_xp`` XP."""
    tx.items.append(
        {
            "ConditionCheck": {
                "TableName": tx.table,
                "Key": marshal(key),
                "ConditionExpression": "#xp >= :need",
                "ExpressionAttributeNames": {"#xp": "xp"},
                "ExpressionAttributeValues": marshal({":need": min_xp}),
            }
        }
    )


def topic_day_count(item: dict[str, Any] | None, topic: str) -> int:
    """Correct attempts on ``topic`` recorded on a ``TOPICDAY#`` item (0: none)."""
    return int(item.get(TOPIC_COUNT_PREFIX + topic, 0)) if item else 0


def query_reviews(
    store: Store, pk: str, before: str, limit: int, start: dict[str, str] | None = None
) -> tuple[list[dict[str, Any]], dict[str, str] | None]:
    """One ``Query`` of GSI ``reviews``: a user's tasks with ``review_sk < before``
    (``before`` = ``{due_by}$``, just above every key of that date), ascending (most overdue first), at most
    ``limit``. Returns the items and the page's last key (None at the end). Eventually
    consistent, as every GSI read: an attempt a few milliseconds old may not show yet."""
    kwargs: dict[str, Any] = {
        "TableName": store.table,
        "IndexName": REVIEWS_INDEX,
        "KeyConditionExpression": "pk = :pk AND review_sk < :before",
        "ExpressionAttributeValues": marshal({":pk": pk, ":before": before}),
        "Limit": limit,
    }
    if start:
        kwargs["ExclusiveStartKey"] = marshal(start)
    resp = store.client.query(**kwargs)
    last = resp.get("LastEvaluatedKey")
    return [unmarshal(i) for i in resp.get("Items", [])], ({k: str(v) for k, v in unmarshal(last).items()} if last else None)
