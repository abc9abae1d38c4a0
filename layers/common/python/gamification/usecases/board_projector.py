"""The leaderboard projector: applies one batch of ledger-entry stream records (one stream
shard, in sequence order) to every board period they move, exactly once.

Per batch and board period, with ``W`` the batch's shard watermark attribute:

1. read (consistently) the top item (layout: the period's write-shard count) and the score
   items of the players in the batch;
2. per player, the records above the score item's ``W`` are pending; replayed in order from
   the score read they give the player's transitions (old row -> new row, one per record);
3. the transitions' count and tie moves are coalesced per aggregate item; each item is read,
   the moves above *its* ``W`` are summed and written in one ``UpdateItem`` conditioned on
   ``W`` still being the value read (a duplicate running at the same time re-reads);
4. score items are written (conditioned on ``W`` and the score read) only for transitions
   whose aggregate moves are all written, so a retry re-derives exactly the missing ones;
5. the top item takes the players' current rows (absolute rows: applying twice is a no-op),
   compare-and-set on its version.

A write that fails makes every record from the lowest sequence number it carried onward
"failed": Lambda re-delivers from there (partial batch response) and steps 2-5 skip what
had been applied. Watermarks of other shards older than the stream's 24 h are removed by the
next write of the item. No transactions; about one write per touched item per batch.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gamification.dal import keys
from gamification.dal.projection_store import ProjectionStore, Stale
from gamification.dal.store import Store, epoch, unmarshal
from gamification.dal.stream_shards import ShardResolver
from gamification.domain.board_projection import (
    Entry,
    Top,
    applied_seq,
    contributions,
    count_moves,
    entries_of,
    pad_seq,
    stale_watermarks,
    tie_moves,
    watermark_attr,
    watermark_value,
)
from gamification.domain.leaderboards import BoardPeriod, Row, live_expiry, period_start, shard_of

if TYPE_CHECKING:  # annotations only: the rules load with the engine, on the first request
    from gamification.domain.rules import Rules

#: Stream shard ranges, cached per execution environment.
_SHARDS = ShardResolver()

#: Re-reads of one item whose watermark moved under us (a duplicate delivery racing).
MAX_STALE_RETRIES = 8
#: Attributes one aggregate write may touch (counters, tie members, stale watermarks): well
#: inside the 4 KB of an UpdateExpression.
MAX_ATTRIBUTES_PER_WRITE = 100
WRITE_THREADS = 16

BoardKey = tuple[str, BoardPeriod]  # (tenant, board period)


@dataclass
class _Move:
    seq: str
    attr: str
    delta: int


@dataclass
class _Player:
    user_id: str
    contribs: list[tuple[str, int, str]] = field(default_factory=list)  # (seq, delta, recorded_at)
    item: dict[str, Any] | None = None
    transitions: list[tuple[Row | None, Row, str]] = field(default_factory=list)


@dataclass
class ProjectionReport:
    """What one batch did: records read, board items written, and the first failed
    sequence number (None: all applied)."""

    records: int = 0
    entries: int = 0
    writes: int = 0
    skipped: int = 0
    failed_from: str | None = None
    errors: list[str] = field(default_factory=list)

    def must_retry(self, seq: str) -> bool:
        """Whether the record of stream sequence number ``seq`` (as in the event) is to be
        re-delivered: it is at or after the first failed one."""
        return self.failed_from is not None and pad_seq(seq) >= self.failed_from

    def fail(self, seq: str, why: str) -> None:
        if self.failed_from is None or seq < self.failed_from:
            self.failed_from = seq
        if len(self.errors) < 10:
            self.errors.append(why)


def _first_records(moves: list[_Move], most: int) -> list[_Move]:
    """The moves of the oldest records (ascending ``seq``) touching at most ``most``
    attributes; always the whole first record."""
    attrs: set[str] = set()
    end = 0
    while end < len(moves):
        seq = moves[end].seq
        group_end = end
        while group_end < len(moves) and moves[group_end].seq == seq:
            group_end += 1
        grown = attrs | {m.attr for m in moves[end:group_end]}
        if end and len(grown) > most:
            break
        attrs, end = grown, group_end
    return moves[:end]


def _row(user_id: str, item: dict[str, Any] | None) -> Row | None:
    if not item or "score" not in item:
        return None
    return Row(user_id, int(item["score"]), str(item["reached_at"]))


class Projector:
    """Applies stream batches to the boards of ``rules`` in ``store``'s table."""

    def __init__(self, rules: Rules, store: Store, *, fault: Callable[[str], None] | None = None) -> None:
        self.rules = rules
        self.db = ProjectionStore(store)
        #: Test hook: called with the kind of each write ("count", "score", "top") before it.
        self.fault = fault or (lambda kind: None)

    # ---- entry points ---------------------------------------------------------------

    def project_event(self, event: dict[str, Any]) -> ProjectionReport:
        """Apply one Lambda DynamoDB stream event (``Records`` of one stream shard). The shard
        is the event's top-level ``shardId`` when present (tumbling-window events), otherwise
        the shard whose sequence-number range holds the first record's
        (:class:`gamification.dal.stream_shards.ShardResolver`, DescribeStream, cached)."""
        records = event.get("Records") or []
        if not records:
            return ProjectionReport()
        first = records[0]
        shard = event.get("shardId") or _SHARDS.shard_of(first["eventSourceARN"], first["dynamodb"]["SequenceNumber"])
        return self.project_records(records, shard)

    def project_records(self, records: list[dict[str, Any]], shard_id: str) -> ProjectionReport:
        """Apply Lambda-shaped DynamoDB stream records (``dynamodb.NewImage``,
        ``SequenceNumber``, ``ApproximateCreationDateTime``) of stream shard ``shard_id``."""
        entries: list[Entry] = []
        created = 0
        for rec in records:
            ddb = rec.get("dynamodb") or {}
            if rec.get("eventName") != "INSERT" or "NewImage" not in ddb:
                continue
            entries += entries_of(unmarshal(ddb["NewImage"]), str(ddb["SequenceNumber"]))
            created = max(created, int(float(ddb.get("ApproximateCreationDateTime", 0))))
        report = self.project(entries, shard_id, created)
        report.records = len(records)
        return report

    def project(self, entries: list[Entry], shard_id: str, created_s: int) -> ProjectionReport:
        """Apply ``entries`` (one shard, ascending ``seq``); ``created_s``: the newest
        record's creation time (epoch s), stamped on watermarks for pruning."""
        report = ProjectionReport(entries=len(entries))
        boards: dict[BoardKey, dict[str, _Player]] = defaultdict(dict)
        for e in sorted(entries, key=lambda e: e.seq):
            for bp, delta in contributions(self.rules, e):
                player = boards[(e.tenant, bp)].setdefault(e.user_id, _Player(e.user_id))
                player.contribs.append((e.seq, delta, e.recorded_at))
        if not boards:
            return report
        wm = watermark_attr(shard_id)
        tops = self.db.read([self._top_key(b) for b in boards])
        layout = {b: int(tops.get(self._k(self._top_key(b)), {}).get("shards", b[1].shards)) for b in boards}
        scores = self.db.read(
            [self._score_key(b, layout[b], u) for b, players in boards.items() for u in players]
        )
        aggregates: dict[tuple[str, str], tuple[keys.Key, int | None, list[_Move]]] = {}
        for b, players in boards.items():
            expires = self._expires(b)
            for p in players.values():
                p.item = scores.get(self._k(self._score_key(b, layout[b], p.user_id)))
                done = applied_seq(p.item, wm)
                row = _row(p.user_id, p.item)
                for seq, delta, recorded in p.contribs:
                    if seq <= done:
                        continue
                    new = Row(p.user_id, (row.score if row else 0) + delta, max(row.reached_at, recorded) if row else recorded)
                    p.transitions.append((row, new, seq))
                    for sk, attr, d in count_moves(row.score if row else None, new.score):
                        key = keys.board_counts_key(b[0], b[1].board, b[1].period, b[1].period_key, sk)
                        aggregates.setdefault(self._k(key), (key, expires, []))[2].append(_Move(seq, attr, d))
                    for sk, attr, d in tie_moves(row, new):
                        key = keys.board_tie_key(b[0], b[1].board, b[1].period, b[1].period_key, sk)
                        aggregates.setdefault(self._k(key), (key, expires, []))[2].append(_Move(seq, attr, d))
                    row = new

        # 3. aggregates, in parallel
        current = self.db.read([k for k, _, _ in aggregates.values()])
        self._parallel(
            [lambda a=a: self._apply_aggregate(a[0], a[1], a[2], current.get(self._k(a[0])), wm, created_s, report)
             for a in aggregates.values()]
        )
        # 4. score items: transitions before the first failure only
        cutoff = report.failed_from
        jobs = []
        for b, players in boards.items():
            for p in players.values():
                todo = [t for t in p.transitions if cutoff is None or t[2] < cutoff]
                if todo:
                    jobs.append(lambda b=b, p=p, todo=todo: self._apply_score(b, layout[b], p, todo, wm, created_s, report))
        self._parallel(jobs)
        # 5. top items
        self._parallel(
            [lambda b=b, players=players: self._apply_top(b, layout[b], players, tops.get(self._k(self._top_key(b))),
                                                          wm, created_s, report)
             for b, players in boards.items()]
        )
        return report

    # ---- steps ----------------------------------------------------------------------

    def _apply_aggregate(
        self, key: keys.Key, expires: int | None, moves: list[_Move], item: dict[str, Any] | None, wm: str,
        created_s: int, report: ProjectionReport,
    ) -> None:
        """Apply the ``moves`` above the item's watermark, in writes of at most
        MAX_ATTRIBUTES_PER_WRITE attributes (a tie item can gain hundreds of members in one
        batch; an UpdateExpression is at most 4 KB): each write takes whole records, oldest
        first, and moves the watermark to its last one, so a failure part-way resumes exactly."""
        stale = 0
        wrote = False
        while stale < MAX_STALE_RETRIES:
            done = applied_seq(item, wm)
            todo = sorted((m for m in moves if m.seq > done), key=lambda m: m.seq)
            if not todo:
                if not wrote:
                    report.skipped += 1
                return
            removes = stale_watermarks(item, created_s, wm)
            chunk = _first_records(todo, MAX_ATTRIBUTES_PER_WRITE - len(removes))
            net: dict[str, int] = defaultdict(int)
            for m in chunk:
                net[m.attr] += m.delta
            adds = {a: d for a, d in net.items() if d and not a.startswith("e")}
            members = {a: d for a, d in net.items() if d and a.startswith("e")}
            if not adds and not members and len(chunk) == len(todo):
                if not wrote:
                    report.skipped += 1
                return
            last = chunk[-1].seq
            mark = watermark_value(last, created_s)
            try:
                self.fault("count")
                self.db.add_counts(
                    key, adds, watermark=(wm, mark), seen=(item or {}).get(wm),
                    members=[a for a, d in members.items() if d > 0],
                    removes=[a for a, d in members.items() if d < 0] + removes,
                    expires_at=expires,
                )
                report.writes += 1
                wrote = True
                item = {k: v for k, v in (item or {}).items() if k not in removes} | {wm: mark}
            except Stale:
                stale += 1
                item = self.db.read([key]).get(self._k(key))
            except Exception as exc:  # noqa: BLE001 - reported as a partial batch failure
                report.fail(todo[0].seq, f"count {key['sk']}: {exc!r}")
                return
        report.fail(min(m.seq for m in moves), f"count {key['sk']}: kept changing")

    def _apply_score(
        self, b: BoardKey, shards: int, p: _Player, todo: list[tuple[Row | None, Row, str]], wm: str,
        created_s: int, report: ProjectionReport,
    ) -> None:
        old, new, last = todo[0][0], todo[-1][1], todo[-1][2]
        try:
            self.fault("score")
            self.db.put_score(
                self._score_key(b, shards, p.user_id), new, old=old, watermark=(wm, watermark_value(last, created_s)),
                seen=(p.item or {}).get(wm), removes=stale_watermarks(p.item, created_s, wm), expires_at=self._expires(b),
            )
            p.item = {**(p.item or {}), "score": new.score, "reached_at": new.reached_at, wm: last}
            report.writes += 1
        except Exception as exc:  # noqa: BLE001 - Stale included: a racing duplicate; retry the batch
            report.fail(todo[0][2], f"score {p.user_id}: {exc!r}")

    def _apply_top(
        self, b: BoardKey, shards: int, players: dict[str, _Player], item: dict[str, Any] | None, wm: str,
        created_s: int, report: ProjectionReport,
    ) -> None:
        rows = [r for r in (_row(p.user_id, p.item) for p in players.values()) if r is not None]
        first = min(s for p in players.values() for s, _, _ in p.contribs)
        last = max(s for p in players.values() for s, _, _ in p.contribs)
        key = self._top_key(b)
        for _ in range(MAX_STALE_RETRIES):
            before = Top.load(item)
            after = before.apply(rows)
            if item is not None and after == before and applied_seq(item, wm) >= last:
                report.skipped += 1
                return
            try:
                self.fault("top")
                self.db.put_top(
                    key, after.dump(), after.complete, shards=shards, version=(int(item["v"]) if item else None),
                    watermark=(wm, watermark_value(max(last, applied_seq(item, wm)), created_s)),
                    removes=stale_watermarks(item, created_s, wm), expires_at=self._expires(b),
                )
                report.writes += 1
                return
            except Stale:
                item = self.db.read([key]).get(self._k(key))
            except Exception as exc:  # noqa: BLE001
                report.fail(first, f"top {b[1].board}: {exc!r}")
                return
        report.fail(first, f"top {b[1].board}: kept changing")

    # ---- helpers --------------------------------------------------------------------

    @staticmethod
    def _parallel(jobs: list[Callable[[], None]]) -> None:
        if len(jobs) <= 1:
            for job in jobs:
                job()
            return
        with ThreadPoolExecutor(max_workers=min(WRITE_THREADS, len(jobs))) as pool:
            list(pool.map(lambda job: job(), jobs))

    @staticmethod
    def _k(key: keys.Key) -> tuple[str, str]:
        return key["pk"], key["sk"]

    @staticmethod
    def _top_key(b: BoardKey) -> keys.Key:
        return keys.board_top_key(b[0], b[1].board, b[1].period, b[1].period_key)

    @staticmethod
    def _score_key(b: BoardKey, shards: int, user_id: str) -> keys.Key:
        bp = b[1]
        return keys.board_score_key(b[0], bp.board, bp.period, bp.period_key, shard_of(user_id, shards), user_id)

    def _expires(self, b: BoardKey) -> int | None:
        bp = b[1]
        start = period_start(bp.period, bp.period_key)
        when = live_expiry(self.rules, bp.period, start) if start else None
        return epoch(when) if when else None


def seq_of(record: dict[str, Any]) -> str:
    """The padded sequence number of a stream record."""
    return pad_seq(str(record["dynamodb"]["SequenceNumber"]))
