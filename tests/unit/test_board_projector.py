"""The leaderboard projector on Lambda-shaped DynamoDB stream batches (against the test
backend): a batch delivered twice, a retry after a partial failure, a crash mid-batch,
bisected retries, shards delivered in any order; and exact top / rank / around against a
brute-force model, ties included."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from tests.board_model import board_of, day_of, stream_record, xp_entry
from tools.local import lambdas

lambdas.use_layer()

from gamification.dal.store import Store  # noqa: E402
from gamification.domain.rules import load_rules, parse_rules  # noqa: E402
from gamification.usecases.board_projector import Projector, seq_of  # noqa: E402
from gamification.usecases.boards import LeaderboardReader  # noqa: E402

NOON = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)


def rules(shards: int = 4):
    data = load_rules().model_dump(mode="json")
    data["max_event_age"] = "48h"
    data["leaderboards"] = {"xp": {"metric": "xp", "periods": ["daily", "all_time"], "shards": shards}}
    return parse_rules(data)


@pytest.fixture
def store(dynamo):
    return Store(dynamo.client, dynamo.table)


def tenant() -> str:
    return f"p-{uuid.uuid4().hex[:10]}"


def ledger(t: str, users: int, awards: int, rnd: random.Random) -> list[dict]:
    """Awards of 5/10/20 XP (many ties) to ``users`` players, recorded a few seconds apart,
    with a few penalties (negative XP) so scores also move down."""
    out = []
    for i in range(awards):
        user = f"u{rnd.randrange(users):03d}"
        xp = rnd.choice([5, 10, 10, 20, -5]) if i > users else rnd.choice([5, 10])
        recorded = NOON + timedelta(seconds=i * rnd.choice([1, 7, 900]) % 20000)
        out.append(xp_entry(t, user, xp, recorded, recorded))
    return out


def shard_batches(items: list[dict], shards: int = 3, size: int = 10, start: int = 1000) -> dict[str, list[list[dict]]]:
    """Records per stream shard (a user's entries always on one shard, in order), in batches."""
    per: dict[str, list[dict]] = {f"shardId-{n:02d}": [] for n in range(shards)}
    for seq, item in enumerate(items, start=start):
        per[f"shardId-{hash(item['user_id']) % shards:02d}"].append(stream_record(item, seq))
    return {s: [recs[i : i + size] for i in range(0, len(recs), size)] for s, recs in per.items()}


def assert_boards_match(r, store, t: str, items: list[dict]) -> None:
    reader = LeaderboardReader(r, store)
    expected = {"daily": board_of(items, period_of=day_of).get("2026-11-21", []), "all_time": board_of(items).get("all", [])}
    for period, model in expected.items():
        ref = reader.ref(t, "xp", period, NOON.date())
        ref, top = reader.layout(ref)
        got = [(row.user_id, row.score, row.reached_at) for row in reader.top(ref, 10, top)]
        assert got == model[:10], period
        for rank, (user, score, _) in enumerate(model, start=1):
            row, found = reader.position(ref, user, top)
            assert (row.score, found) == (score, rank), (period, user)
        if model:
            user = model[len(model) // 2][0]
            row, rank = reader.position(ref, user, top)
            around = reader.around(ref, row, rank, 3)
            lo = max(rank - 4, 0)
            assert [(e["rank"], e["user_id"]) for e in around] == [(i + 1, model[i][0]) for i in range(lo, min(rank + 3, len(model)))]


def run_all(projector: Projector, batches: dict[str, list[list[dict]]], order: list[str]) -> None:
    cursors = {s: 0 for s in batches}
    for shard in order:
        if cursors[shard] < len(batches[shard]):
            report = projector.project_records(batches[shard][cursors[shard]], shard)
            assert report.failed_from is None, report.errors
            cursors[shard] += 1


def interleaving(batches, rnd) -> list[str]:
    order = [s for s, bs in batches.items() for _ in bs]
    rnd.shuffle(order)
    return order


def test_every_board_equals_the_brute_force_model_with_ties_and_penalties(store):
    rnd, t = random.Random(1), tenant()
    r = rules()
    items = ledger(t, 30, 160, rnd)
    batches = shard_batches(items)
    run_all(Projector(r, store), batches, interleaving(batches, rnd))
    assert_boards_match(r, store, t, items)


def test_a_batch_delivered_twice_or_out_of_date_counts_once(store):
    rnd, t = random.Random(2), tenant()
    r = rules()
    items = ledger(t, 12, 60, rnd)
    batches = shard_batches(items)
    p = Projector(r, store)
    for shard, bs in batches.items():
        for i, batch in enumerate(bs):
            p.project_records(batch, shard)
            p.project_records(batch, shard)  # duplicate delivery
            if i:
                p.project_records(bs[i - 1], shard)  # an older batch again, after a newer one
    assert_boards_match(r, store, t, items)


class Crash(BaseException):
    """The function dies (timeout, out of memory): nothing after it runs."""


def test_a_retry_after_a_partial_failure_or_a_crash_applies_the_rest_once(store):
    rnd, t = random.Random(3), tenant()
    r = rules()
    items = ledger(t, 15, 120, rnd)
    batches = shard_batches(items, size=25)
    writes = {"n": 0}

    def flaky(kind: str) -> None:
        writes["n"] += 1
        if writes["n"] % 11 == 0:
            raise RuntimeError(f"injected {kind} failure")
        if writes["n"] % 37 == 0:
            raise Crash()

    p = Projector(r, store, fault=flaky)
    seen = {"partial": 0, "crashes": 0}

    def deliver(batch: list[dict], shard: str) -> None:
        """As Lambda: retry from the first reported failure; on a crash, bisect and retry."""
        pending = batch
        while pending:
            try:
                report = p.project_records(pending, shard)
            except Crash:
                seen["crashes"] += 1
                if len(pending) > 1:
                    half = len(pending) // 2
                    deliver(pending[:half], shard)
                    deliver(pending[half:], shard)
                    return
                continue
            if report.failed_from is None:
                return
            seen["partial"] += 1
            pending = [rec for rec in pending if seq_of(rec) >= report.failed_from]

    for shard, bs in batches.items():
        for batch in bs:
            deliver(batch, shard)
    partial, crashes = seen["partial"], seen["crashes"]
    assert partial and crashes  # the faults did happen
    assert_boards_match(r, store, t, items)


def test_shards_in_any_order_give_the_same_boards(store):
    rnd = random.Random(4)
    r = rules()
    t1, t2 = tenant(), tenant()
    base = ledger("X", 15, 80, rnd)
    for t, seed in ((t1, 5), (t2, 6)):
        items = [{**i, "pk": i["pk"].replace("T#X#", f"T#{t}#")} for i in base]
        batches = shard_batches(items)
        run_all(Projector(r, store), batches, interleaving(batches, random.Random(seed)))
        assert_boards_match(r, store, t, items)


def test_a_changed_shard_count_mid_period_keeps_the_period_readable(store):
    rnd, t = random.Random(7), tenant()
    items = ledger(t, 20, 80, rnd)
    first, second = items[:40], items[40:]
    run_all(Projector(rules(4), store), shard_batches(first), ["shardId-00", "shardId-01", "shardId-02"] * 10)
    run_all(Projector(rules(9), store), shard_batches(second, start=5000), ["shardId-00", "shardId-01", "shardId-02"] * 10)
    assert_boards_match(rules(9), store, t, items)  # reads use the period's own layout (4)


def test_records_that_are_not_ledger_entries_are_ignored(store):
    t = tenant()
    r = rules()
    item = xp_entry(t, "amy", 10, NOON, NOON)
    other = {"pk": f"T#{t}#U#amy", "sk": "PROFILE", "total_xp": 10}
    report = Projector(r, store).project_records([stream_record(other, 1), stream_record(item, 2)], "shardId-x")
    assert report.entries == 1 and report.failed_from is None
    assert_boards_match(r, store, t, [item])


def test_a_tie_of_hundreds_in_one_batch_is_written_within_the_expression_limit(store):
    """400 players tied on one score in one batch: the tie item gains 400 members, more
    than one UpdateExpression (4 KB) holds, so the projector writes them in parts."""
    t, r = tenant(), rules(shards=1)
    items = [xp_entry(t, f"u{i:03d}", 10, NOON, NOON) for i in range(400)]
    report = Projector(r, store).project_records([stream_record(item, seq) for seq, item in enumerate(items, 1000)], "shardId-00")
    assert report.failed_from is None, report.errors
    assert_boards_match(r, store, t, items)


def test_a_failure_between_the_parts_of_one_write_resumes_exactly(store, monkeypatch):
    from gamification.usecases import board_projector

    monkeypatch.setattr(board_projector, "MAX_ATTRIBUTES_PER_WRITE", 6)
    rnd, t = random.Random(7), tenant()
    r = rules(shards=1)
    items = ledger(t, 40, 120, rnd)
    calls = {"n": 0}

    def flaky(kind: str) -> None:
        calls["n"] += 1
        if kind == "count" and calls["n"] % 4 == 0:
            raise RuntimeError("injected")

    p = Projector(r, store, fault=flaky)
    failures = 0
    for shard, bs in shard_batches(items, shards=1, size=60).items():
        for batch in bs:
            pending = batch
            while pending:
                report = p.project_records(pending, shard)
                if report.failed_from is None:
                    break
                failures += 1
                pending = [rec for rec in pending if seq_of(rec) >= report.failed_from]
    assert failures  # parts did fail in between
    assert_boards_match(r, store, t, items)
