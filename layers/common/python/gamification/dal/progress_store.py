"""DynamoDB access of streaks, achievements and badges (the only boto3 they need beyond
:mod:`gamification.dal.store`): the catalogue's unlock counts and the condition that a
badge was unlocked."""

from __future__ import annotations

from typing import Any

from gamification.dal import keys
from gamification.dal.store import Store, Transaction, marshal, unmarshal


def unlock_counts(store: Store, tenant: str) -> dict[str, int]:
    """Unlocks per achievement id, summed over the count shards (one Query per shard)."""
    totals: dict[str, int] = {}
    for shard in range(keys.ACHIEVEMENT_COUNT_SHARDS):
        kwargs: dict[str, Any] = {
            "TableName": store.table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": marshal({":pk": keys.achievement_count_pk(tenant, shard)}),
        }
        while True:
            resp = store.client.query(**kwargs)
            for raw in resp.get("Items", []):
                item = unmarshal(raw)
                totals[item["sk"]] = totals.get(item["sk"], 0) + int(item.get("n", 0))
            if "LastEvaluatedKey" not in resp:
                break
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
    return totals


def require_item(tx: Transaction, key: keys.Key) -> Transaction:
    """Make ``tx`` fail unless the item ``key`` exists (an unlock marker)."""
    tx.items.append(
        {"ConditionCheck": {"TableName": tx.table, "Key": marshal(key), "ConditionExpression": "attribute_exists(pk)"}}
    )
    return tx


def set_profile_attrs(tx: Transaction, key: keys.Key, seen_version: int, attrs: dict[str, Any]) -> Transaction:
    """SET ``attrs`` (None removes) on an existing profile still at ``seen_version``, bumping it."""
    names = {"#v": "version"}
    values: dict[str, Any] = {":one": 1, ":seen": seen_version}
    sets, removes = [], []
    for i, (attr, value) in enumerate(attrs.items()):
        names[f"#a{i}"] = attr
        if value is None:
            removes.append(f"#a{i}")
        else:
            values[f":a{i}"] = value
            sets.append(f"#a{i} = :a{i}")
    expr = ("SET " + ", ".join(sets) + " " if sets else "") + ("REMOVE " + ", ".join(removes) + " " if removes else "")
    tx.items.append(
        {
            "Update": {
                "TableName": tx.table,
                "Key": marshal(key),
                "UpdateExpression": expr + "ADD #v :one",
                "ConditionExpression": "#v = :seen",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": marshal(values),
            }
        }
    )
    return tx
