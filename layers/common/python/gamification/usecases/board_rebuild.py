"""Recompute one board period from the ledger, exactly and resumably (``make rebuild-boards``).

Use after a dead-lettered projector batch, a change of ``shards``, a rules change, or to
migrate boards written by an older layout. Two phases, with progress in a checkpoint item
(``keys.board_rebuild_key``) so a stopped run continues where it was:

1. players: page through the tenant's profiles; per player, sum the ledger entries that
   count on this board period (:func:`gamification.domain.board_projection.contributions`;
   the entries of its partition, strongly consistent, and its keyed entries, stored as their
   Idempotency-Key's record, through the GSI ``ledger``, eventually consistent) into its score item, in the rules' current write-shard layout (absolute writes:
   repeating a page changes nothing); a player with no such entry loses its score item;
2. aggregates: from the score items, the count items, tie items and top item are computed
   and written whole; items no player needs any more are deleted.

Every rewritten item keeps the projector's stream-shard watermarks, so records the
projector had applied stay applied. Exact for a period no award can reach any more (ended
``max_event_age`` ago) and for a live period while no award reaches it during the run:
entries committed *while* it runs may be counted twice; run it again then (it is absolute).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from gamification.dal import keys
from gamification.dal.ledger_store import keyed_entries
from gamification.dal.projection_store import ProjectionStore
from gamification.dal.store import TTL_ATTRIBUTE, Store, epoch, marshal, scan_page, unmarshal
from gamification.domain.board_projection import (
    WATERMARK_PREFIX,
    Top,
    count_moves,
    entries_of,
    contributions,
    tie_moves,
)
from gamification.domain.leaderboards import Row, live_expiry, period_start, rank_sort_key, shard_of

if TYPE_CHECKING:  # annotations only: the rules load with the engine, on the first request
    from gamification.domain.rules import Rules


@dataclass
class RebuildReport:
    players: int = 0
    on_board: int = 0
    aggregates: int = 0
    deleted: int = 0
    done: bool = False


def _watermarks(item: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (item or {}).items() if k.startswith(WATERMARK_PREFIX)}


class BoardRebuild:
    """Rebuilds board periods of ``rules`` in ``store``'s table."""

    def __init__(self, rules: Rules, store: Store, page: int = 200) -> None:
        self.rules = rules
        self.store = store
        self.db = ProjectionStore(store)
        self.page = page

    def run(self, tenant: str, board: str, period: str, period_key: str, *, now: datetime,
            max_pages: int | None = None, restart: bool = False) -> RebuildReport:
        """Rebuild (or continue rebuilding) one board period. ``max_pages``: stop after that
        many pages of players (the next run continues). Raises KeyError for an unknown
        board or a period it does not keep."""
        rule = self.rules.leaderboards[board]
        if period not in rule.periods:
            raise KeyError(f"board {board} has no {period} period")
        ck = keys.board_rebuild_key(tenant, board, period, period_key)
        state = None if restart else self.store.get(ck)
        if state and state.get("phase") == "done":
            state = None  # a finished rebuild: start a new one
        report = RebuildReport()
        cursor = json.loads(state["cursor"]) if state and state.get("cursor") else None
        phase = state["phase"] if state else "players"
        pages = 0
        while phase == "players":
            items, cursor = scan_page(
                self.store, cursor, self.page, "begins_with(pk, :p) AND sk = :profile",
                values={":p": f"T#{tenant}#U#", ":profile": keys.PROFILE},
            )
            for profile in items:
                report.players += 1
                report.on_board += self._player(tenant, board, period, period_key, rule.shards, str(profile["pk"]).split("#")[3])
            pages += 1
            phase = "players" if cursor else "aggregates"
            self.store.put(ck, {"phase": phase, "cursor": json.dumps(cursor) if cursor else None, "updated_at": keys.stamp(now)})
            if phase == "players" and max_pages is not None and pages >= max_pages:
                return report
        self._aggregates(tenant, board, period, period_key, rule.shards, report)
        self.store.put(ck, {"phase": "done", "updated_at": keys.stamp(now)})
        report.done = True
        return report

    def remove_player(self, tenant: str, board: str, period: str, period_key: str, user_id: str) -> None:
        """Recompute one player's score item from its ledger (gone after an erasure: the item
        is deleted) and then the period's aggregates from the score items."""
        rule = self.rules.leaderboards[board]
        self._player(tenant, board, period, period_key, rule.shards, user_id)
        self._aggregates(tenant, board, period, period_key, rule.shards, RebuildReport())

    # ---- phase 1 --------------------------------------------------------------------

    def _expires(self, period: str, period_key: str) -> int | None:
        start = period_start(period, period_key)
        when = live_expiry(self.rules, period, start) if start else None
        return epoch(when) if when else None

    def _player(self, tenant: str, board: str, period: str, period_key: str, shards: int, user_id: str) -> int:
        """Rewrite one player's score item from its ledger; 1 if the player is on the board."""
        score, reached = 0, ""
        # Keyed entries (stored as their Idempotency-Key's record) through the GSI ledger.
        ledger = [*self._ledger(tenant, user_id, "XP#"), *self._ledger(tenant, user_id, "COIN#"),
                  *keyed_entries(self.store, keys.user_pk(tenant, user_id))]  # fmt: skip
        for entry in (e for item in ledger for e in entries_of(item)):
            for bp, delta in contributions(self.rules, entry):
                if (bp.board, bp.period, bp.period_key) == (board, period, period_key):
                    score += delta
                    reached = max(reached, entry.recorded_at)
        key = keys.board_score_key(tenant, board, period, period_key, shard_of(user_id, shards), user_id)
        existing = self.store.get(key)
        stale = self._other_layout(tenant, board, period, period_key, shards, user_id)
        for old in stale:
            self.db.delete(old)
        if not reached:
            if existing:
                self.db.delete(key)
            return 0
        self.db.put_plain(key, {
            **_watermarks(existing), "lb_pk": key["pk"], "lb_sk": rank_sort_key(score, reached, user_id),
            "user_id": user_id, "score": score, "reached_at": reached, TTL_ATTRIBUTE: self._expires(period, period_key),
        })
        return 1

    def _other_layout(self, tenant: str, board: str, period: str, period_key: str, shards: int, user_id: str) -> list[keys.Key]:
        """Score items of the player in the period's previous layout (when ``shards`` changed)."""
        top = self.store.get(keys.board_top_key(tenant, board, period, period_key))
        old = int(top["shards"]) if top and "shards" in top else shards
        if old == shards:
            return []
        key = keys.board_score_key(tenant, board, period, period_key, shard_of(user_id, old), user_id)
        return [key] if self.store.get(key) else []

    def _ledger(self, tenant: str, user_id: str, prefix: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.store.table,
            "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
            "ExpressionAttributeValues": marshal({":p": keys.user_pk(tenant, user_id), ":s": prefix}),
            "ConsistentRead": True,
        }
        while True:
            resp = self.store.client.query(**kwargs)
            out += [unmarshal(i) for i in resp.get("Items", [])]
            if "LastEvaluatedKey" not in resp:
                return out
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    # ---- phase 2 --------------------------------------------------------------------

    def _aggregates(self, tenant: str, board: str, period: str, period_key: str, shards: int, report: RebuildReport) -> None:
        rows = [
            Row(str(i["user_id"]), int(i["score"]), str(i["reached_at"]))
            for s in range(shards)
            for i in self.db.query_all(keys.board_score_pk(tenant, board, period, period_key, s))
        ]
        wanted: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        prefix = keys.board_pk(tenant, board, period, period_key)
        for row in rows:
            for sk, attr, d in count_moves(None, row.score):
                wanted[(f"{prefix}#C", sk)][attr] += d
            for sk, attr, d in tie_moves(None, row):
                wanted[(f"{prefix}#T", sk)][attr] += d
        expires = self._expires(period, period_key)
        existing = {(i["pk"], i["sk"]): i for pk in (f"{prefix}#C", f"{prefix}#T") for i in self.db.query_all(pk)}
        for (pk, sk), attrs in wanted.items():
            self.db.put_plain({"pk": pk, "sk": sk}, {
                **_watermarks(existing.get((pk, sk))), **{a: v for a, v in attrs.items() if v}, TTL_ATTRIBUTE: expires,
            })
            report.aggregates += 1
        for (pk, sk) in set(existing) - set(wanted):
            self.db.delete({"pk": pk, "sk": sk})
            report.deleted += 1
        top_key = keys.board_top_key(tenant, board, period, period_key)
        top = Top(sorted(rows, key=lambda r: r.sort_key), True).apply([])
        old = self.store.get(top_key)
        self.db.put_plain(top_key, {
            **_watermarks(old), "rows": top.dump(), "complete": top.complete, "shards": shards,
            "v": int(old["v"]) + 1 if old and "v" in old else 1, TTL_ATTRIBUTE: expires,
        })
