"""A user's ledger as the checks of the benchmark and reliability runs read it: the entries of
the user's partition plus keyed entries (an award's entry stored as its Idempotency-Key's
record, docs/ledger-and-events.md), the latter shown at the key they would have had in the
user's partition (``XP#{occurred_at}#{event_id}``), and the ``xp_bonus`` coins an XP entry
carries (``bonus_*`` attributes) as the coin entry they stand for
(``COIN#{occurred_at}#{event_id}``), so a check that reads ``sk`` and ``pk`` sees one shape.
Written apart from the engine's own reading (``ledger_entries``), so the checks do not
take the engine's word for it."""

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


def as_entries(item: dict[str, Any]) -> list[dict[str, Any]]:
    """:func:`as_partition_entry` of ``item``, followed for an XP entry carrying its award's
    ``xp_bonus`` coins by their coin entry (``amount``, ``balance``, ``reason`` and, for a
    reversal, ``reverses``/``board_delta`` from the ``bonus_`` attributes)."""
    entry = as_partition_entry(item)
    if not str(entry.get("sk", "")).startswith("XP#") or "bonus_amount" not in entry:
        return [entry]
    own = {k: v for k, v in entry.items() if not k.startswith("bonus_")}
    coins = {k: entry[k] for k in ("pk", "user_id", "occurred_at", "recorded_at", "idempotency_key", "kind",
                                   "board_occurred_at") if k in entry}  # fmt: skip
    coins.update(sk="COIN#" + entry["sk"][len("XP#"):], type="coins", reason="xp_bonus")
    coins.update({k[len("bonus_"):]: v for k, v in entry.items() if k.startswith("bonus_")})
    return [own, coins]


def keyed_entries(client: Any, table: str, user_pk: str) -> list[dict[str, Any]]:
    """The keyed entries of the user of partition ``user_pk`` (GSI ``ledger``), as
    :func:`as_entries` shows them."""
    from gamification.dal.store import unmarshal

    out: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "TableName": table, "IndexName": "ledger", "KeyConditionExpression": "ledger_pk = :p",
        "FilterExpression": "sk = :idem", "ExpressionAttributeValues": {":p": {"S": user_pk}, ":idem": {"S": "IDEM"}},
    }  # fmt: skip
    while True:
        resp = client.query(**kwargs)
        out += [e for i in resp["Items"] for e in as_entries(unmarshal(i))]
        if "LastEvaluatedKey" not in resp:
            return out
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
