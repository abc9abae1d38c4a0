"""Leaderboard data access (a sibling of :mod:`gamification.dal.store`): shard queries on the
``lb_rank`` GSI, per-score count sums, snapshots, roll-over cursors and the tenant registry.

Key shapes are in :mod:`gamification.dal.keys`. Every read that gathers shards runs the S shard
queries in parallel (one thread each, the boto3 client is thread-safe).

Consistency: count items are read from the table with ``ConsistentRead`` (exact); the ``lb_rank``
GSI (top-N, neighbours, ties within one score) is eventually consistent, like every GSI:
it trails the table by the index's propagation delay (normally milliseconds).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeVar

from gamification.dal import keys
from gamification.dal.store import Store, count_query, marshal, unmarshal
from gamification.domain.leaderboards import Row, score_desc

GSI = "lb_rank"
T = TypeVar("T")
#: Threads for gathering shards (Lambda: 512 MB gives ~1/3 vCPU; the work is I/O-bound).
MAX_PARALLEL = 32


def _row(item: dict[str, Any]) -> Row:
    return Row(str(item["user_id"]), int(item["score"]), str(item["reached_at"]))


class BoardStore:
    """Reads and single writes of leaderboard items (award-path writes are
    :class:`gamification.dal.store.Transaction` helpers, in the award transaction)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.client = store.client
        self.table = store.table

    # ---- gathering ------------------------------------------------------------------

    @staticmethod
    def gather(fn: Callable[[int], T], shards: int) -> list[T]:
        """``[fn(0), ..., fn(shards-1)]``, run in parallel."""
        if shards == 1:
            return [fn(0)]
        with ThreadPoolExecutor(max_workers=min(shards, MAX_PARALLEL)) as pool:
            return list(pool.map(fn, range(shards)))

    def _query(self, **kwargs: Any) -> list[dict[str, Any]]:
        """All pages of one Query (or only the first ``Limit`` items when a Limit is given)."""
        out: list[dict[str, Any]] = []
        limit = kwargs.get("Limit")
        while True:
            resp = self.client.query(TableName=self.table, **kwargs)
            out += [unmarshal(i) for i in resp.get("Items", [])]
            if "LastEvaluatedKey" not in resp or (limit is not None and len(out) >= limit):
                return out
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    # ---- one shard ------------------------------------------------------------------

    def _ranked(self, score_pk: str, limit: int, condition: str = "", sort_key: str = "", forward: bool = True) -> list[Row]:
        """Up to ``limit`` rows of one shard from the ``lb_rank`` GSI, in rank order
        (``forward``) or reverse, optionally bounded by ``lb_sk <condition> sort_key``."""
        values = {":p": score_pk}
        key_condition = "lb_pk = :p"
        if condition:
            key_condition += f" AND lb_sk {condition} :k"
            values[":k"] = sort_key
        items = self._query(
            IndexName=GSI,
            KeyConditionExpression=key_condition,
            ExpressionAttributeValues=marshal(values),
            ScanIndexForward=forward,
            Limit=limit,
        )
        return [_row(i) for i in items[:limit]]

    def top(self, score_pk: str, limit: int) -> list[Row]:
        """The best ``limit`` rows of one shard, best first."""
        return self._ranked(score_pk, limit)

    def after(self, score_pk: str, sort_key: str, limit: int) -> list[Row]:
        """Up to ``limit`` rows of one shard ranked just below ``sort_key``, best first."""
        return self._ranked(score_pk, limit, ">", sort_key)

    def before(self, score_pk: str, sort_key: str, limit: int) -> list[Row]:
        """Up to ``limit`` rows of one shard ranked just above ``sort_key``, nearest first."""
        return self._ranked(score_pk, limit, "<", sort_key, forward=False)

    def count_range(self, count_pk: str, lo: str, hi: str) -> int:
        """Sum of the count items of one shard with ``lo <= sk <= hi`` (strongly consistent;
        one small item per non-empty bucket in the range)."""
        items = self._query(
            KeyConditionExpression="pk = :p AND sk BETWEEN :lo AND :hi",
            ExpressionAttributeValues=marshal({":p": count_pk, ":lo": lo, ":hi": hi}),
            ProjectionExpression="#n",
            ExpressionAttributeNames={"#n": "n"},
            ConsistentRead=True,
        )
        return sum(int(i.get("n", 0)) for i in items)

    def ties_ahead(self, score_pk: str, score: int, sort_key: str, user_id: str) -> int:
        """Players of one shard with exactly ``score`` who rank ahead of ``sort_key`` (reached
        it earlier); reads the tie group ahead of the user in that shard (GSI)."""
        return count_query(
            self.client,
            TableName=self.table,
            IndexName=GSI,
            KeyConditionExpression="lb_pk = :p AND lb_sk BETWEEN :lo AND :hi",
            FilterExpression="user_id <> :u",
            ExpressionAttributeValues=marshal({":p": score_pk, ":lo": score_desc(score) + "#", ":hi": sort_key, ":u": user_id}),
        )

    # ---- snapshots, cursors, tenants --------------------------------------------------

    def snapshot(self, key: keys.Key) -> dict[str, Any] | None:
        """A finalised period's snapshot item, or None."""
        return self.store.get(key)

    def put_snapshot(self, key: keys.Key, attrs: dict[str, Any]) -> bool:
        """Create the immutable snapshot; False when it existed (a repeated roll-over)."""
        return self.store.put_new(key, attrs)

    def cursor(self, key: keys.Key) -> str | None:
        """The last finalised period key of one board and period, or None."""
        item = self.store.get(key)
        return str(item["period_key"]) if item else None

    def advance_cursor(self, key: keys.Key, seen: str | None, to: str, now: datetime) -> bool:
        """Move a cursor from ``seen`` (None: no cursor yet) to ``to``; False if another
        run moved it first."""
        cond = "attribute_not_exists(pk)" if seen is None else "#k = :seen"
        values: dict[str, Any] = {":to": to, ":now": keys.stamp(now)}
        if seen is not None:
            values[":seen"] = seen
        return self.store.write_if(
            "update_item",
            Key=marshal(key),
            UpdateExpression="SET #k = :to, #u = :now",
            ConditionExpression=cond,
            ExpressionAttributeNames={"#k": "period_key", "#u": "updated_at"},
            ExpressionAttributeValues=marshal(values),
        )

    def register_tenant(self, tenant: str, first_seen: datetime) -> None:
        """Record ``tenant`` in the registry; keeps the earliest ``first_seen`` (UTC stamp)."""
        self.store.write_if(  # refused: the registry already has an earlier first_seen
            "update_item",
            Key=marshal(keys.tenant_registry_key(tenant)),
            UpdateExpression="SET #f = :f, #t = :t",
            ConditionExpression="attribute_not_exists(#f) OR #f > :f",
            ExpressionAttributeNames={"#f": "first_seen", "#t": "tenant_id"},
            ExpressionAttributeValues=marshal({":f": keys.stamp(first_seen), ":t": tenant}),
        )

    def tenants(self) -> list[dict[str, Any]]:
        """Every registered tenant: ``[{tenant_id, first_seen}]``."""
        return self._query(
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues=marshal({":p": keys.TENANTS}),
            ConsistentRead=True,
        )
