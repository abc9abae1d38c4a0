"""Writes of the leaderboard projection: single conditional ``UpdateItem`` calls, each
conditioned on the watermark of the stream shard it applies (compare-and-set on the value
read), so a batch delivered twice, retried or bisected applies every delta once without a
transaction. Consistent batch reads of up to any number of keys. See
:mod:`gamification.domain.board_projection` for the items.
"""

from __future__ import annotations

from typing import Any

from gamification.dal import keys
from gamification.dal.keys import Key
from gamification.dal.store import TTL_ATTRIBUTE, Store, count_query, marshal, query_items
from gamification.domain.leaderboards import Row, rank_sort_key, score_desc

#: Keys per BatchGetItem (DynamoDB's limit).
BATCH_GET = 100


class Stale(Exception):
    """A conditional write found the item changed since it was read (read again)."""


class ProjectionStore:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.client = store.client
        self.table = store.table

    def read(self, wanted: list[Key]) -> dict[tuple[str, str], dict[str, Any]]:
        """Strongly consistent read of any number of keys: ``{(pk, sk): item}`` of those found."""
        out: dict[tuple[str, str], dict[str, Any]] = {}
        unique = list({(k["pk"], k["sk"]): k for k in wanted}.values())
        for i in range(0, len(unique), BATCH_GET):
            chunk = unique[i : i + BATCH_GET]
            for key, item in zip(chunk, self.store.get_many(chunk)):
                if item is not None:
                    out[(key["pk"], key["sk"])] = item
        return out

    def _update(
        self, key: Key, sets: dict[str, Any], adds: dict[str, int], removes: list[str], cond: str,
        values: dict[str, Any], names: dict[str, str], extra_set: str = "",
    ) -> None:
        parts = []
        names = dict(names)
        values = dict(values)
        for i, (attr, value) in enumerate(sets.items()):
            names[f"#s{i}"] = attr
            values[f":s{i}"] = value
        clauses = [f"#s{i} = :s{i}" for i in range(len(sets))] + ([extra_set] if extra_set else [])
        if clauses:
            parts.append("SET " + ", ".join(clauses))
        for i, (attr, value) in enumerate(adds.items()):
            names[f"#a{i}"] = attr
            values[f":a{i}"] = value
        if adds:
            parts.append("ADD " + ", ".join(f"#a{i} :a{i}" for i in range(len(adds))))
        for i, attr in enumerate(removes):
            names[f"#r{i}"] = attr
        if removes:
            parts.append("REMOVE " + ", ".join(f"#r{i}" for i in range(len(removes))))
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "Key": marshal(key),
            "UpdateExpression": " ".join(parts),
            "ConditionExpression": cond,
            "ExpressionAttributeNames": names,
        }
        if values:
            kwargs["ExpressionAttributeValues"] = marshal(values)
        try:
            self.client.update_item(**kwargs)
        except self.client.exceptions.ConditionalCheckFailedException:
            raise Stale(key) from None

    @staticmethod
    def _watermark_condition(attr: str, seen: str | None) -> tuple[str, dict[str, Any]]:
        """Condition that the shard's watermark is still what was read (None: absent)."""
        if seen is None:
            return "attribute_not_exists(#w)", {}
        return "#w = :seen", {":seen": seen}

    def add_counts(
        self, key: Key, adds: dict[str, int], *, watermark: tuple[str, str], seen: str | None,
        removes: list[str], expires_at: int | None, members: list[str] = (),  # type: ignore[assignment]
    ) -> None:
        """``ADD`` the counters of one count or tie item, set ``members`` (to 1) and remove
        ``removes``, and move the shard's watermark. Raises :class:`Stale` when the
        watermark moved since it was read."""
        attr, value = watermark
        cond, values = self._watermark_condition(attr, seen)
        sets: dict[str, Any] = {attr: value, **{m: 1 for m in members}}
        if expires_at:
            sets[TTL_ATTRIBUTE] = expires_at
        self._update(key, sets, adds, removes, cond, values, {"#w": attr})

    def put_score(
        self, key: Key, row: Row, *, old: Row | None, watermark: tuple[str, str], seen: str | None,
        removes: list[str], expires_at: int | None,
    ) -> None:
        """Set a player's score item (and its GSI keys) to ``row`` if it still holds ``old``
        (None: absent) and the shard's watermark read. Raises :class:`Stale`."""
        attr, value = watermark
        cond, values = self._watermark_condition(attr, seen)
        if old is None:
            cond += " AND attribute_not_exists(#score)"
        else:
            cond += " AND #score = :old"
            values[":old"] = old.score
        sets: dict[str, Any] = {
            "lb_pk": key["pk"], "lb_sk": rank_sort_key(row.score, row.reached_at, row.user_id),
            "user_id": row.user_id, "score": row.score, "reached_at": row.reached_at, attr: value,
        }
        if expires_at:
            sets[TTL_ATTRIBUTE] = expires_at
        self._update(key, sets, {}, removes, cond, values, {"#w": attr, "#score": "score"})

    def put_top(
        self, key: Key, rows: list[dict[str, Any]], complete: bool, *, shards: int, version: int | None,
        watermark: tuple[str, str], removes: list[str], expires_at: int | None,
    ) -> None:
        """Replace the top item's rows if its version ``v`` is still ``version`` (None:
        absent); ``shards`` keeps its first value. Raises :class:`Stale`."""
        attr, value = watermark
        cond, values = ("attribute_not_exists(#v)", {}) if version is None else ("#v = :seen", {":seen": version})
        sets: dict[str, Any] = {"rows": rows, "complete": complete, attr: value, "v": (version or 0) + 1}
        if expires_at:
            sets[TTL_ATTRIBUTE] = expires_at
        values[":sh"] = shards
        self._update(key, sets, {}, removes, cond, values, {"#v": "v", "#sh": "shards"},
                     extra_set="#sh = if_not_exists(#sh, :sh)")

    def ties_in_hour(self, score_pk: str, row: Row, hour_start: str) -> int:
        """Players of one shard with ``row``'s exact score who reached it in the same hour,
        before ``row`` (a COUNT query on the ``lb_rank`` GSI over that hour only)."""
        return count_query(
            self.client,
            TableName=self.table,
            IndexName="lb_rank",
            KeyConditionExpression="lb_pk = :p AND lb_sk BETWEEN :lo AND :hi",
            ExpressionAttributeValues=marshal({":p": score_pk, ":lo": f"{score_desc(row.score)}#{hour_start}", ":hi": row.sort_key}),
        )

    def put_plain(self, key: Key, attrs: dict[str, Any]) -> None:
        """Create or replace one item (the rebuild's absolute writes)."""
        self.store.put(key, attrs)

    def delete(self, key: Key) -> None:
        self.client.delete_item(TableName=self.table, Key=marshal(key))

    def query_all(self, pk: str, index: str | None = None) -> list[dict[str, Any]]:
        """Every item of one partition (consistent for the table; the GSI is eventual)."""
        name = "lb_pk" if index else "pk"
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": f"{name} = :p",
            "ExpressionAttributeValues": marshal({":p": pk}),
        }
        if index:
            kwargs["IndexName"] = index
        else:
            kwargs["ConsistentRead"] = True
        return query_items(self.client, **kwargs)


__all__ = ["ProjectionStore", "Stale", "keys"]
