"""Leaderboard reads: ``GET /v1/leaderboards/{board}`` and the roll-over's top N.

Boards are a projection of the ledger (:mod:`gamification.usecases.board_projector`), so
they may trail an award by the projector's batching window plus one invocation (about 1-2 s).
Reads of one board period (:class:`LeaderboardReader`):

- top N: the period's top item (1 GetItem) when it holds N rows, else S GSI queries of
  ceil(N/S)+2 items each, merged, plus a refill of the few shards that may hold more;
- a user's rank: from the top item if the user is in it; else 1 GetItem of the score item
  and 1 BatchGetItem of 15 items with known keys (13 count items, 2 tie items): 3 requests
  with the top item, at most 17 items, whatever the board's size;
- ``around=N``: S queries above and S below the user, N items each at most.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from gamification.dal import keys
from gamification.dal.board_store import BoardStore
from gamification.dal.projection_store import ProjectionStore
from gamification.dal.store import Store
from gamification.domain.board_projection import Top, players_above, rank_keys, tie_keys, ties_ahead
from gamification.domain.errors import PeriodNotFinal, UnknownLeaderboard, UnknownPeriod
from gamification.domain.leaderboards import (  # RETENTION, live_expiry: re-exported
    RETENTION,
    BoardPeriod,
    Row,
    gather_top,
    live_expiry,
    merge_above,
    merge_top,
    period_key,
    ranked,
    shard_of,
)
from gamification.domain.periods import local_date

if TYPE_CHECKING:
    from gamification.domain.rules import Rules
    from gamification.api.models import LeaderboardResponse
    from gamification.domain.rules import Rules

MAX_LIMIT = 100
#: Top-level fields of a leaderboard answer left out when they do not apply (None).
OPTIONAL_FIELDS = ("user", "around", "finalised_at")
MAX_AROUND = 50


class BoardRef(NamedTuple):
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
            ref = ref._replace(shards=int(item["shards"]))
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
        frozen: list[dict[str, Any]] = []  # the snapshot's entries (a final read)
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
            frozen = [
                {"rank": int(e["rank"]), "user_id": e["user_id"], "score": int(e["score"])} for e in snap["entries"]
            ]
            entries = frozen[:limit]
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
        # A final read answers a user in the snapshot from it, as its entries are (later
        # reversals and erasures leave a frozen period alone); below it, from the period's board.
        at = next((i for i, e in enumerate(frozen) if e["user_id"] == user_id), None)
        if at is not None:
            body["user"] = {"user_id": user_id, "rank": frozen[at]["rank"], "score": frozen[at]["score"]}
            if around is not None:
                body["around"] = frozen[max(0, at - around) : at + around + 1]
        elif user_id is not None:
            if final:
                ref, top = self.layout(ref)
            row, rank = self.position(ref, user_id, top)
            body["user"] = {"user_id": user_id, "rank": rank, "score": row.score if row else 0}
            if around is not None:
                body["around"] = self.around(ref, row, rank, around) if row and rank else []
        # Imported here: the projector, the roll-over and the dashboard use this module
        # without answering the leaderboard route (its model and the read routes' beside it).
        from gamification.api.models import LeaderboardResponse

        return LeaderboardResponse.model_validate(body)
