"""Leaderboard use cases: the board part of an award (read keys for the first round trip,
writes for the award transaction) and ``GET /v1/leaderboards/{board}``.

Award path (no extra round trip): :class:`BoardUpdate` names the user's score item on every
board period the event touches; the engine reads them in its ``BatchGetItem`` and
:meth:`BoardUpdate.apply` adds, per board period with a non-zero delta, the score item (conditioned on the score read) and
the count-hierarchy updates (:func:`gamification.domain.leaderboards.count_deltas`: usually 2-4
items, at most 2 * COUNT_LEVELS) to its ``TransactWriteItems``. The profile ``version`` condition already serialises
a user's awards, so the scores written are exact.

Reads (:class:`LeaderboardReader`), for S shards of a board period:

- top N: S GSI queries of ceil(N/S)+2 items each, merged, then more from only the shards
  that may still hold top rows (about N + 3S items read, instead of S*N);
- a user's rank: 1 GetItem + S x (levels needed, <= COUNT_LEVELS) count-range queries
  (<= 15 sibling items per level, plus top-level buckets above) + S tie queries (the players
  with the user's exact score who reached it earlier: the one part that grows with ties);
- ``around=N``: S queries above and S below the user, N items each at most.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from gamification.api.models import LeaderboardResponse
from gamification.dal import keys
from gamification.dal.board_store import BoardStore
from gamification.dal.projection_store import ProjectionStore
from gamification.dal.store import Store, Transaction
from gamification.domain.board_projection import Top, players_above, rank_keys, tie_keys, ties_ahead
from gamification.domain.errors import PeriodNotFinal, UnknownLeaderboard, UnknownPeriod
from gamification.domain.leaderboards import (
    BoardPeriod,
    Row,
    ScoreChange,
    above_ranges,
    count_sk,
    delta_for,
    gather_top,
    merge_above,
    merge_top,
    period_end,
    period_key,
    rank_of,
    rank_sort_key,
    ranked,
    shard_of,
    touched,
)
from gamification.domain.periods import local_date
from gamification.domain.rules import Rules

#: How long a board period's live items outlive the period (after the late-event grace),
#: so ``date=`` reads of past periods and late roll-overs still find them. all_time: forever.
RETENTION = {"daily": timedelta(days=35), "weekly": timedelta(days=120), "monthly": timedelta(days=800)}
MAX_LIMIT = 100
#: Top-level fields of a leaderboard answer left out when they do not apply (None).
OPTIONAL_FIELDS = ("user", "around", "finalised_at")
MAX_AROUND = 50


def live_expiry(rules: Rules, period: str, day: date) -> datetime | None:
    """TTL instant of a board period's live items (None for all_time)."""
    end = period_end(period, day, rules.zone)
    return None if end is None else end + rules.max_event_age + RETENTION[period]


class BoardUpdate:
    """The leaderboard part of one award to ``user_id`` for an event on local ``day``."""

    def __init__(self, rules: Rules, tenant: str, user_id: str, day: date) -> None:
        self.rules = rules
        self.tenant = tenant
        self.user_id = user_id
        self.day = day
        self.periods: list[BoardPeriod] = touched(rules, day)
        self.shards = [shard_of(user_id, bp.shards) for bp in self.periods]
        #: Keys to read in the award's first round trip, one per touched board period.
        self.keys: list[keys.Key] = [
            keys.board_score_key(tenant, bp.board, bp.period, bp.period_key, shard, user_id)
            for bp, shard in zip(self.periods, self.shards)
        ]

    def apply(
        self, tx: Transaction, items: list[dict[str, Any] | None], *, xp: int, coins: int, now: datetime
    ) -> list[dict[str, Any]]:
        """Add the board writes to ``tx`` given the score ``items`` read for :attr:`keys`
        (same order). Returns ``[{board, period, period_key, score}]`` of boards that moved.
        Adds 1 + len(count_deltas) items per moved board period (at most 1 + 2*COUNT_LEVELS)."""
        moved = []
        reached_at = keys.stamp(now)
        for bp, shard, key, item in zip(self.periods, self.shards, self.keys, items):
            delta = delta_for(bp.metric, xp, coins)
            if not delta:
                continue
            change = ScoreChange(int(item["score"]) if item else None, (int(item["score"]) if item else 0) + delta)
            expires = live_expiry(self.rules, bp.period, self.day)
            tx.set_board_score(
                key,
                user_id=self.user_id,
                old_score=change.old,
                score=change.new,
                sort_key=rank_sort_key(change.new, reached_at, self.user_id),
                reached_at=reached_at,
                expires_at=expires,
            )
            for level, bucket_id, d in change.count_deltas:
                tx.add_board_count(
                    keys.board_count_key(
                        self.tenant, bp.board, bp.period, bp.period_key, shard, count_sk(level, bucket_id)
                    ),
                    delta=d,
                    expires_at=expires,
                )
            moved.append({"board": bp.board, "period": bp.period, "period_key": bp.period_key, "score": change.new})
        return moved


@dataclass(frozen=True)
class BoardRef:
    """One board period being read."""

    tenant: str
    board: str
    period: str
    period_key: str
    shards: int

    def score_pk(self, shard: int) -> str:
        return keys.board_score_pk(self.tenant, self.board, self.period, self.period_key, shard)

    def count_pk(self, shard: int) -> str:
        return keys.board_count_pk(self.tenant, self.board, self.period, self.period_key, shard)


class LeaderboardReader:
    """``GET /v1/leaderboards/{board}`` and the roll-over's top-N, over the gathered shards."""

    def __init__(self, rules: Rules, store: Store) -> None:
        self.rules = rules
        self.boards = BoardStore(store)

    def ref(self, tenant: str, board: str, period: str, on: date) -> BoardRef:
        """The board period containing local date ``on``. Raises UnknownLeaderboard /
        UnknownPeriod (400)."""
        rule = self.rules.leaderboards.get(board)
        if rule is None:
            raise UnknownLeaderboard(f"Unknown leaderboard: {board}", board=board)
        if period not in rule.periods:
            raise UnknownPeriod(
                f"Leaderboard {board} has no {period} period (one of: {', '.join(rule.periods)})",
                board=board,
                period=period,
            )
        return BoardRef(tenant, board, period, period_key(period, on), rule.shards)

    def layout(self, ref: BoardRef) -> tuple[BoardRef, Top]:
        """The board period's top item (one GetItem): its top rows and the write-shard count
        it was projected with (which wins over the rules' ``shards``, so a changed
        ``shards`` only applies to periods that start after the change)."""
        item = self.boards.store.get(keys.board_top_key(ref.tenant, ref.board, ref.period, ref.period_key))
        if item and "shards" in item:
            ref = replace(ref, shards=int(item["shards"]))
        return ref, Top.load(item)

    def top(self, ref: BoardRef, limit: int, top: Top | None = None) -> list[Row]:
        """The best ``limit`` rows: from the top item when it holds them (1 request), else
        S small GSI queries, merged, plus a refill of the few shards that may hold more
        (:func:`gather_top`)."""
        if top is None:
            ref, top = self.layout(ref)
        if top.complete or len(top.rows) >= limit:
            return top.rows[:limit]
        return gather_top(
            lambda s, n: self.boards.top(ref.score_pk(s), n),
            lambda s, last, n: self.boards.after(ref.score_pk(s), last.sort_key, n),
            self.boards.gather,
            ref.shards,
            limit,
        )

    def position(self, ref: BoardRef, user_id: str, top: Top | None = None) -> tuple[Row | None, int | None]:
        """The user's row and exact rank (None, None when not on the board): from the top
        item if the user is in it, else one GetItem of the score item and one BatchGetItem
        of the 13 count items and 2 tie items of its score (``ref`` as from :meth:`layout`)."""
        shard = shard_of(user_id, ref.shards)
        item = self.boards.store.get(
            keys.board_score_key(ref.tenant, ref.board, ref.period, ref.period_key, shard, user_id)
        )
        if not item:
            return None, None
        row = Row(user_id, int(item["score"]), str(item["reached_at"]))
        for i, r in enumerate(top.rows if top else []):
            if r.user_id == user_id and r == row:
                return row, i + 1
        counts = [keys.board_counts_key(ref.tenant, ref.board, ref.period, ref.period_key, sk) for sk in rank_keys(row.score)]
        ties = [keys.board_tie_key(ref.tenant, ref.board, ref.period, ref.period_key, sk) for sk in tie_keys(row)]
        found = ProjectionStore(self.boards.store).read(counts + ties)
        above = players_above(row.score, {k["sk"]: found.get((k["pk"], k["sk"]), {}) for k in counts})
        ahead = ties_ahead(row, *(found.get((k["pk"], k["sk"])) for k in ties))
        return row, 1 + above + ahead

    def around(self, ref: BoardRef, row: Row, rank: int, n: int) -> list[dict[str, object]]:
        """The user's entry with up to ``n`` entries above and below, best first."""
        above = merge_above(
            self.boards.gather(lambda s: self.boards.before(ref.score_pk(s), row.sort_key, n), ref.shards), n
        )
        below = merge_top(
            self.boards.gather(lambda s: self.boards.after(ref.score_pk(s), row.sort_key, n), ref.shards), n
        )
        return ranked(above + [row] + below, rank - len(above))

    def read(
        self,
        tenant: str,
        board: str,
        period: str,
        on: date | None = None,
        *,
        now: datetime,
        limit: int = 10,
        user_id: str | None = None,
        around: int | None = None,
        final: bool = False,
    ) -> LeaderboardResponse:
        """The answer of ``GET /v1/leaderboards/{board}`` (its body leaves out the
        :data:`OPTIONAL_FIELDS` that are None).

        ``on``: a local date inside the wanted period (default: today in the rules' zone).
        Raises UnknownLeaderboard / UnknownPeriod (400), PeriodNotFinal (404 with ``final``).
        """
        ref = self.ref(tenant, board, period, on or local_date(now, self.rules.zone))
        finalised_at = None
        if final:
            snap = self.boards.snapshot(keys.board_snapshot_key(tenant, board, period, ref.period_key))
            if snap is None:
                raise PeriodNotFinal(
                    f"Leaderboard {board} {period} {ref.period_key} is not finalised"
                    + (" (all_time never ends)" if period == "all_time" else " yet"),
                    board=board,
                    period=period,
                    period_key=ref.period_key,
                )
            entries = [
                {"rank": int(e["rank"]), "user_id": e["user_id"], "score": int(e["score"])}
                for e in snap["entries"][:limit]
            ]
            finalised_at = snap.get("finalised_at")
        else:
            ref, top = self.layout(ref)
            entries = ranked(self.top(ref, limit, top))
        body: dict[str, Any] = {
            "board": board,
            "metric": self.rules.leaderboards[board].metric,
            "period": period,
            "period_key": ref.period_key,
            "final": final,
            "entries": entries,
            "finalised_at": finalised_at,
        }
        if user_id is not None:
            if final:
                ref, top = self.layout(ref)
            row, rank = self.position(ref, user_id, top)
            body["user"] = {"user_id": user_id, "rank": rank, "score": row.score if row else 0}
            if around is not None:
                body["around"] = self.around(ref, row, rank, around) if row and rank else []
        return LeaderboardResponse.model_validate(body)
