"""A user's ledger as the checks of the benchmark and reliability runs read it: the entries of
the user's partition plus keyed entries (an award's entry stored as its Idempotency-Key's
record, docs/ledger-and-events.md), the latter shown at the key they would have had in the
user's partition (``XP#{occurred_at}#{event_id}``), so a check that reads ``sk`` and ``pk``
sees one shape."""

from __future__ import annotations

from typing import Any


def as_partition_entry(item: dict[str, Any]) -> dict[str, Any]:
    """A keyed entry (sk ``IDEM`` with GSI ``ledger`` keys) as the user-partition entry it
    stands for; any other item as it is."""
    index_sk = item.get("ledger_sk")
    if item.get("sk") != "IDEM" or not isinstance(index_sk, str):
        return item
    rest, kind = index_sk.rsplit("#", 1)
    return {**item, "pk": item["ledger_pk"], "sk": f"{kind}#{rest}", "keyed_pk": item["pk"]}


def keyed_entries(client: Any, table: str, user_pk: str) -> list[dict[str, Any]]:
    """The keyed entries of the user of partition ``user_pk`` (GSI ``ledger``), as
    :func:`as_partition_entry` shows them."""
    from gamification.dal.store import unmarshal

    out: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "TableName": table, "IndexName": "ledger", "KeyConditionExpression": "ledger_pk = :p",
        "FilterExpression": "sk = :idem", "ExpressionAttributeValues": {":p": {"S": user_pk}, ":idem": {"S": "IDEM"}},
    }  # fmt: skip
    while True:
        resp = client.query(**kwargs)
        out += [as_partition_entry(unmarshal(i)) for i in resp["Items"]]
        if "LastEvaluatedKey" not in resp:
            return out
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
