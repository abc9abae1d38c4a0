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

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from gamification.api.models import LeaderboardResponse
from gamification.dal import keys
from gamification.dal.board_store import BoardStore
from gamification.dal.store import Store, Transaction
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

    def top(self, ref: BoardRef, limit: int) -> list[Row]:
        """The best ``limit`` rows of the board period: S small queries, merged, plus a
        refill of the few shards that may hold more (:func:`gather_top`)."""
        return gather_top(
            lambda s, n: self.boards.top(ref.score_pk(s), n),
            lambda s, last, n: self.boards.after(ref.score_pk(s), last.sort_key, n),
            self.boards.gather,
            ref.shards,
            limit,
        )

    def position(self, ref: BoardRef, user_id: str, best: int | None = None) -> tuple[Row | None, int | None]:
        """The user's row and exact rank (None, None when not on the board).

        ``best``: the board's best score when the caller has it (from the top entries); it
        lets the count reads skip levels that cannot hold anyone above the user.
        """
        shard = shard_of(user_id, ref.shards)
        item = self.boards.store.get(
            keys.board_score_key(ref.tenant, ref.board, ref.period, ref.period_key, shard, user_id)
        )
        if not item:
            return None, None
        row = Row(user_id, int(item["score"]), str(item["reached_at"]))
        jobs = [(s, lo, hi) for s in range(ref.shards) for lo, hi in above_ranges(row.score, best)]
        above = self.boards.gather(
            lambda i: self.boards.count_range(ref.count_pk(jobs[i][0]), jobs[i][1], jobs[i][2]), len(jobs)
        ) if jobs else []
        ties = self.boards.gather(
            lambda s: self.boards.ties_ahead(ref.score_pk(s), row.score, row.sort_key, user_id), ref.shards
        )
        return row, rank_of(above, ties)

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
            entries = ranked(self.top(ref, limit))
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
            best = entries[0]["score"] if entries and not final else None
            row, rank = self.position(ref, user_id, best)
            body["user"] = {"user_id": user_id, "rank": rank, "score": row.score if row else 0}
            if around is not None:
                body["around"] = self.around(ref, row, rank, around) if row and rank else []
        return LeaderboardResponse.model_validate(body)
