"""DynamoDB access of a user's ledger history, spending, reversals and erasure: paged
queries of the user's partition and of the GSI ``ledger``, conditional single updates, and
batched deletes. The transactions themselves are built with :class:`gamification.dal.store.Transaction`.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from gamification.dal import keys
from gamification.dal.keys import Key
from gamification.dal.store import COUNT_PREFIX, Store, Transaction, marshal, query_items, unmarshal
from gamification.domain.reasons import BONUS_PREFIX


def query_page(
    store: Store,
    pk: str,
    *,
    prefix: str | None,
    limit: int,
    start: dict[str, Any] | None,
    newest_first: bool = True,
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """One Query page of a partition. ``prefix``: a sort-key prefix of the table (``XP#``,
    ``COIN#``, ``NOTE#``), read strongly consistent; None: the GSI ``ledger`` (XP and coin
    entries merged by ``{occurred_at}#{event_id}``; eventually consistent, as every GSI).
    ``start``: a previous page's last key (plain values). Returns (items, last key or None)."""
    kwargs: dict[str, Any] = {"TableName": store.table, "Limit": limit, "ScanIndexForward": not newest_first}
    if prefix is None:
        kwargs.update(
            IndexName=keys.LEDGER_INDEX,
            KeyConditionExpression="#p = :p",
            ExpressionAttributeNames={"#p": "ledger_pk"},
            ExpressionAttributeValues=marshal({":p": pk}),
        )
    else:
        kwargs.update(
            ConsistentRead=True,
            KeyConditionExpression="#p = :p AND begins_with(#s, :s)",
            ExpressionAttributeNames={"#p": "pk", "#s": "sk"},
            ExpressionAttributeValues=marshal({":p": pk, ":s": prefix}),
        )
    if start:
        kwargs["ExclusiveStartKey"] = marshal(start)
    resp = store.client.query(**kwargs)
    last = resp.get("LastEvaluatedKey")
    return [unmarshal(i) for i in resp.get("Items", [])], (unmarshal(last) if last else None)


#: Queries one typed ledger page may take before it returns short, with a cursor.
TYPED_PAGE_REQUESTS = 10


def ledger_page(
    store: Store,
    pk: str,
    *,
    kind: tuple[str, str] | None,
    limit: int,
    start: dict[str, Any] | None,
    inclusive: bool = False,
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """One page of a user's ledger (partition ``pk``) from the GSI ``ledger``, newest first:
    entries of the user's partition and keyed entries (stored as their Idempotency-Key's
    record) alike, eventually consistent as every GSI.

    ``kind``: (sort-key prefix, ``type``), e.g. ``("XP#", "xp")``, to list one type only: a
    FilterExpression (an entry of the user's partition by its sort key, a keyed entry by
    its ``type``; for ``coins`` also XP entries that carry ``xp_bonus`` coins), the Query
    repeated until ``limit`` items or the end, at most :data:`TYPED_PAGE_REQUESTS` Queries
    (then a short page, with a cursor). ``start``: the previous page's last key read (GSI
    key, plain values), or with ``inclusive`` the key of the first item to read. Returns
    (items, last key read or None at the end)."""
    names = {"#p": "ledger_pk"}
    values: dict[str, Any] = {":p": pk}
    condition = "#p = :p"
    if start and inclusive:  # GSI sort keys are unique per user: start at this one
        condition += " AND #s <= :at"
        names["#s"] = "ledger_sk"
        values[":at"] = start["ledger_sk"]
        start = None
    kwargs: dict[str, Any] = {"TableName": store.table, "IndexName": keys.LEDGER_INDEX, "ScanIndexForward": False,
                              "KeyConditionExpression": condition, "ExpressionAttributeNames": names}  # fmt: skip
    if kind:
        kwargs["FilterExpression"] = "begins_with(#sk, :prefix) OR (#sk = :idem AND #t = :t)"
        if kind[1] == "coins":
            kwargs["FilterExpression"] += " OR attribute_exists(#bonus)"
            names["#bonus"] = "bonus_amount"
        names.update({"#sk": "sk", "#t": "type"})
        values.update({":prefix": kind[0], ":idem": keys.IDEM, ":t": kind[1]})
    kwargs["ExpressionAttributeValues"] = marshal(values)
    out: list[dict[str, Any]] = []
    last = start
    for _ in range(TYPED_PAGE_REQUESTS if kind else 1):
        kwargs["Limit"] = limit - len(out)
        if last:
            kwargs["ExclusiveStartKey"] = marshal(last)
        resp = store.client.query(**kwargs)
        out += [unmarshal(i) for i in resp.get("Items", [])]
        raw = resp.get("LastEvaluatedKey")
        last = unmarshal(raw) if raw else None
        if last is None or len(out) >= limit:
            break
    return out, last


def index_key(item: dict[str, Any]) -> dict[str, Any]:
    """The GSI ``ledger`` key of a ledger item read from it (a cursor's ``start``)."""
    return {k: item[k] for k in ("pk", "sk", "ledger_pk", "ledger_sk")}


def entry_at(store: Store, pk: str, index_sk: str) -> dict[str, Any] | None:
    """The ledger item of user partition ``pk`` whose GSI ``ledger`` sort key is
    ``index_sk`` (unique per user), kept in the user's partition or as a keyed entry; one
    Query, eventually consistent. None when there is none."""
    resp = store.client.query(
        TableName=store.table, IndexName=keys.LEDGER_INDEX, Limit=1,
        KeyConditionExpression="#p = :p AND #s = :s", ExpressionAttributeNames={"#p": "ledger_pk", "#s": "ledger_sk"},
        ExpressionAttributeValues=marshal({":p": pk, ":s": index_sk}),
    )  # fmt: skip
    found = resp.get("Items") or []
    return unmarshal(found[0]) if found else None


def keyed_entries(store: Store, pk: str) -> list[dict[str, Any]]:
    """Every keyed ledger entry of the user of partition ``pk`` (entries stored as their
    Idempotency-Key's record, listed by the GSI ``ledger``; eventually consistent): the
    ledger readers that read the user's partition by ``XP#``/``COIN#`` add these."""
    kwargs: dict[str, Any] = {
        "TableName": store.table, "IndexName": keys.LEDGER_INDEX,
        "KeyConditionExpression": "#p = :p", "FilterExpression": "#sk = :idem",
        "ExpressionAttributeNames": {"#p": "ledger_pk", "#sk": "sk"},
        "ExpressionAttributeValues": marshal({":p": pk, ":idem": keys.IDEM}),
    }  # fmt: skip
    return query_items(store.client, **kwargs)


def partition_keys(store: Store, pk: str, start: dict[str, Any] | None, limit: int = 100) -> tuple[list[Key], dict[str, Any] | None]:
    """One page of the keys (only) of every item in partition ``pk`` (consistent)."""
    kwargs: dict[str, Any] = {
        "TableName": store.table,
        "KeyConditionExpression": "#p = :p",
        "ExpressionAttributeNames": {"#p": "pk", "#s": "sk"},
        "ExpressionAttributeValues": marshal({":p": pk}),
        "ProjectionExpression": "#p, #s",
        "ConsistentRead": True,
        "Limit": limit,
    }
    if start:
        kwargs["ExclusiveStartKey"] = marshal(start)
    resp = store.client.query(**kwargs)
    last = resp.get("LastEvaluatedKey")
    items = [unmarshal(i) for i in resp.get("Items", [])]
    return [{"pk": i["pk"], "sk": i["sk"]} for i in items], (unmarshal(last) if last else None)


def delete_keys(store: Store, wanted: list[Key]) -> None:
    """Delete up to any number of items, 25 per ``BatchWriteItem`` (retrying unprocessed
    ones). Deleting a missing item is a no-op, so a resumed erasure may repeat deletes."""
    for i in range(0, len(wanted), 25):
        pending = [{"DeleteRequest": {"Key": marshal(k)}} for k in wanted[i : i + 25]]
        for attempt in range(20):
            if not pending:
                break
            if attempt:
                time.sleep(min(0.05 * 2**attempt, 1.0))
            resp = store.client.batch_write_item(RequestItems={store.table: pending})
            pending = resp.get("UnprocessedItems", {}).get(store.table, [])


def add_index_keys(store: Store, key: Key, attrs: dict[str, str]) -> bool:
    """Set the GSI ``ledger`` attributes on an existing ledger entry that lacks them (data
    migration 003); False when the entry is gone or already has them."""
    try:
        store.client.update_item(
            TableName=store.table,
            Key=marshal(key),
            UpdateExpression="SET #lp = :lp, #ls = :ls",
            ConditionExpression="attribute_exists(pk) AND attribute_not_exists(#lp)",
            ExpressionAttributeNames={"#lp": "ledger_pk", "#ls": "ledger_sk"},
            ExpressionAttributeValues=marshal({":lp": attrs["ledger_pk"], ":ls": attrs["ledger_sk"]}),
        )
        return True
    except store.client.exceptions.ConditionalCheckFailedException:
        return False


# ---- transaction items of spending, reversals and erasure -----------------------------------


def debit_profile(tx: Transaction, key: Key, seen_version: int, *, coins: int, now: datetime) -> None:
    """Take ``coins`` (> 0) off a profile's balance, only if it is still at ``seen_version``
    and the balance covers it: DynamoDB itself refuses an overdraft, whatever the caller read."""
    tx.items.append(
        {
            "Update": {
                "TableName": tx.table,
                "Key": marshal(key),
                "UpdateExpression": "SET #upd = :now ADD #v :one, #c :neg",
                "ConditionExpression": "#v = :seen AND #c >= :amt",
                "ExpressionAttributeNames": {"#v": "version", "#c": "coins_balance", "#upd": "updated_at"},
                "ExpressionAttributeValues": marshal(
                    {":seen": seen_version, ":amt": coins, ":neg": -coins, ":one": 1, ":now": keys.stamp(now)}
                ),
            }
        }
    )


def mark_reversed(tx: Transaction, key: Key, by: str, bonus_by: str | None = None) -> None:
    """Record on a ledger entry that ``by`` reversed it, only once (the once-rule of
    reversals); ``bonus_by``: the reversal of the ``xp_bonus`` coins the entry carries."""
    names, values, update = {"#r": "reversed_by"}, {":by": by}, "SET #r = :by"
    if bonus_by:
        names["#b"], values[":bb"], update = BONUS_PREFIX + "reversed_by", bonus_by, update + ", #b = :bb"
    tx.items.append(
        {
            "Update": {
                "TableName": tx.table,
                "Key": marshal(key),
                "UpdateExpression": update,
                "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(#r)",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": marshal(values),
            }
        }
    )


def undo_day_usage(tx: Transaction, key: Key, *, xp: int, action: str | None) -> None:
    """Give back ``xp`` (signed) of a day's XP toward the cap and one count of ``action`` on an
    existing ``DAY#`` usage item (a missing one is refused: the caller read it)."""
    names = {"#g": "xp_gained"}
    values: dict[str, Any] = {":xp": xp}
    update = "ADD #g :xp"
    if action:
        names["#n"] = COUNT_PREFIX + action
        values[":minus"] = -1
        update += ", #n :minus"
    tx.items.append(
        {
            "Update": {
                "TableName": tx.table,
                "Key": marshal(key),
                "UpdateExpression": update,
                "ConditionExpression": "attribute_exists(pk)",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": marshal(values),
            }
        }
    )


def upsert(
    store: Store, key: Key, values: dict[str, Any], add: dict[str, int] | None = None, remove: tuple[str, ...] = ()
) -> None:
    """``SET`` attributes (None values are skipped), ``ADD`` counters and ``REMOVE``
    attributes on an item, creating it if needed."""
    values = {k: v for k, v in values.items() if v is not None}
    names = {f"#a{i}": k for i, k in enumerate(values)}
    vals = {f":v{i}": v for i, v in enumerate(values.values())}
    update = "SET " + ", ".join(f"#a{i} = :v{i}" for i in range(len(values)))
    if add:
        names.update({f"#n{i}": k for i, k in enumerate(add)})
        vals.update({f":n{i}": v for i, v in enumerate(add.values())})
        update += " ADD " + ", ".join(f"#n{i} :n{i}" for i in range(len(add)))
    if remove:
        names.update({f"#r{i}": k for i, k in enumerate(remove)})
        update += " REMOVE " + ", ".join(f"#r{i}" for i in range(len(remove)))
    store.client.update_item(
        TableName=store.table, Key=marshal(key), UpdateExpression=update,
        ExpressionAttributeNames=names, ExpressionAttributeValues=marshal(vals),
    )  # fmt: skip
