"""Leaderboard read cost at 1k, 10k and 100k players: DynamoDB requests and items read for
the top 10 and for the exact rank of the median player (``make bench-leaderboard``).

The board is seeded in bulk in the state the projector leaves it (score items with their GSI
keys, count items, tie items, the top item) with BatchWriteItem, on the backend of
``TEST_DYNAMODB_ENDPOINT`` (DynamoDB Local, e.g. http://127.0.0.1:8100; default: in-process
moto); then the reader the API uses runs with botocore ``after-call.dynamodb`` hooks
counting requests and items (``ScannedCount`` for queries: what DynamoDB reads and bills).
Prints a table and writes bench/leaderboard_rank.json. Only the counts matter, not times.

Scores: 5 * floor(e^N(4, 1.2)) capped at 100,000 (a long tail, many ties at low scores);
reached_at spread over one day. Usage: python -m bench.leaderboard_rank [--sizes 1000,10000]
[--shards 16] [--max-seed-seconds 600] [--all-scores-above N]

The aggregate items (count hierarchy, tie items, top item) are computed by the projection's
own pure functions (:mod:`gamification.domain.board_projection`: ``count_moves``,
``tie_moves``, ``Top``) over every player, exactly as the projector would leave them. Score
items: every player's up to ``--all-scores-above`` players (10,000); above it only those the
measured reads can touch (the top item's players and the measured player), since the top
10 and the rank read score items by known key only (:class:`LeaderboardReader`); the JSON
says how many were written (``score_items_written``). The rank read is checked against the
ground truth computed in Python from every row, so the aggregates are exact either way.
Writes go in parallel ``BatchWriteItem`` calls (4 threads).
"""

from __future__ import annotations

import argparse
import contextlib
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
import json
import math
import os
import random
import sys
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools.local import (
    backend,
    lambdas,  # noqa: E402
)

lambdas.use_layer()

import boto3  # noqa: E402
from gamification.dal import keys  # noqa: E402
from gamification.dal.store import Store, marshal  # noqa: E402
from gamification.domain.board_projection import Top, count_moves, tie_moves  # noqa: E402
from gamification.domain.leaderboards import Row, rank_sort_key, shard_of  # noqa: E402
from gamification.domain.rules import load_rules, parse_rules  # noqa: E402
from gamification.usecases.boards import BoardRef, LeaderboardReader  # noqa: E402
from moto import mock_aws  # noqa: E402

TENANT = "bench"
BOARD, PERIOD, PERIOD_KEY = "xp", "all_time", "all"
OUT = Path(__file__).with_name("leaderboard_rank.json")


class Meter:
    """Counts DynamoDB requests and items read through botocore event hooks."""

    def __init__(self, client: Any) -> None:
        self.requests: Counter[str] = Counter()
        self.items = 0
        client.meta.events.register("after-call.dynamodb", self._after)

    def _after(self, http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        self.requests[model.name] += 1
        if model.name in ("Query", "Scan"):
            self.items += int(parsed.get("ScannedCount", parsed.get("Count", 0)))
        elif model.name == "GetItem":
            self.items += 1 if "Item" in parsed else 0
        elif model.name == "BatchGetItem":
            self.items += sum(len(v) for v in parsed.get("Responses", {}).values())

    def reset(self) -> None:
        self.requests.clear()
        self.items = 0

    def snapshot(self) -> dict[str, Any]:
        return {"requests": sum(self.requests.values()), "by_operation": dict(self.requests), "items_read": self.items}


def rules_with(shards: int):
    data = load_rules().model_dump(mode="json")
    data["max_event_age"] = "48h"
    data["leaderboards"] = {BOARD: {"metric": "xp", "periods": [PERIOD], "shards": shards}}
    return parse_rules(data)


def seed(client: Any, table: str, players: int, shards: int, rnd: random.Random,
         max_seconds: float, all_scores_above: int = 10_000) -> tuple[dict[str, Any], list[Row]]:
    """Write the projection's aggregate items of ``players`` players and their score items
    (all of them up to ``all_scores_above`` players, else those of the top item and of the
    measured median player) in bulk; returns facts about the board and every row in board
    order (the ground truth). Raises TimeoutError past ``max_seconds``."""
    start = datetime(2026, 11, 21, tzinfo=timezone.utc)
    aggregates: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    items, board = [], []
    for i in range(players):
        user = f"player-{i:06d}"
        score = 5 * min(int(math.exp(rnd.gauss(4, 1.2))), 20_000)
        row = Row(user, score, keys.stamp(start + timedelta(microseconds=rnd.randrange(86_400_000_000))))
        board.append(row)
        # the keys and deltas the projector applies for a player's first score
        for sk, attr, d in count_moves(None, score):
            aggregates[(keys.board_counts_key(TENANT, BOARD, PERIOD, PERIOD_KEY, sk)["pk"], sk)][attr] += d
        for sk, attr, d in tie_moves(None, row):
            aggregates[(keys.board_tie_key(TENANT, BOARD, PERIOD, PERIOD_KEY, sk)["pk"], sk)][attr] += d
    items += [{"pk": pk, "sk": sk, **attrs} for (pk, sk), attrs in aggregates.items()]
    board.sort(key=lambda r: r.sort_key)
    top = Top(board, True).apply([])
    items.append({**keys.board_top_key(TENANT, BOARD, PERIOD, PERIOD_KEY), "rows": top.dump(),
                  "complete": top.complete, "shards": shards, "v": 1})
    read = {r.user_id for r in top.rows} | {median_of(board).user_id}
    scored = [r for r in board if players <= all_scores_above or r.user_id in read]
    for row in scored:
        key = keys.board_score_key(TENANT, BOARD, PERIOD, PERIOD_KEY, shard_of(row.user_id, shards), row.user_id)
        items.append({**key, "lb_pk": key["pk"], "lb_sk": rank_sort_key(row.score, row.reached_at, row.user_id),
                      "user_id": row.user_id, "score": row.score, "reached_at": row.reached_at})
    deadline = time.perf_counter() + max_seconds

    def write(chunk: list[dict[str, Any]]) -> None:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"seeding {players} players took over {max_seconds} s")
        batch = [{"PutRequest": {"Item": marshal(r)}} for r in chunk]
        while batch:
            resp = client.batch_write_item(RequestItems={table: batch})
            batch = resp.get("UnprocessedItems", {}).get(table, [])

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(write, [items[i : i + 25] for i in range(0, len(items), 25)]))
    scores = [r.score for r in board]
    return {"distinct_scores": len(set(scores)), "aggregate_items": len(aggregates), "max_score": max(scores),
            "score_items_written": len(scored)}, board


def median_of(board: list[Row]) -> Row:
    """The measured player: rank ``len(board) // 2`` of the board (rows in board order)."""
    return board[len(board) // 2 - 1]


@contextlib.contextmanager
def backend_client(players: int) -> Iterator[tuple[Any, str, str]]:
    """(client, table, backend name): DynamoDB Local (or any endpoint) from
    ``TEST_DYNAMODB_ENDPOINT``, else in-process moto; the table is dropped afterwards."""
    endpoint = os.environ.get("TEST_DYNAMODB_ENDPOINT", "").strip()
    table = f"bench-lb-{players}-{uuid.uuid4().hex[:6]}"
    if endpoint:
        client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
        backend.create_table(client, table)
        try:
            yield client, table, f"endpoint {endpoint}"
        finally:
            client.delete_table(TableName=table)
        return
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        backend.create_table(client, table)
        yield client, table, "in-process moto"


def run(sizes: list[int], shards: int, max_seed_seconds: float, seed_value: int = 7,
        all_scores_above: int = 10_000) -> list[dict[str, Any]]:
    backend.use_local_credentials()
    results = []
    rules = rules_with(shards)
    for players in sizes:
        with backend_client(players) as (client, table, where):
            t0 = time.perf_counter()
            try:
                info, everyone = seed(client, table, players, shards, random.Random(seed_value), max_seed_seconds,
                                      all_scores_above)
            except TimeoutError as exc:
                results.append({"players": players, "skipped": str(exc)})
                continue
            seeded = time.perf_counter() - t0
            meter = Meter(client)
            reader = LeaderboardReader(rules, Store(client, table))
            ref = BoardRef(TENANT, BOARD, PERIOD, PERIOD_KEY, shards)

            # as the route does: the top item gives the layout and the top 10
            meter.reset()
            ref, top_item = reader.layout(ref)
            top = reader.top(ref, 10, top_item)
            top_cost = meter.snapshot()
            assert [r.user_id for r in top] == [r.user_id for r in everyone[:10]]

            # the median player: rank players // 2 in the global order (ground truth: the
            # seeded rows in board order, computed in Python, not read)
            median = median_of(everyone)
            meter.reset()
            row, rank = reader.position(ref, median.user_id, top_item)
            rank_cost = meter.snapshot()
            assert rank == players // 2, (rank, players // 2)
            results.append({
                "players": players, "shards": shards, "backend": where, **info, "seed_seconds": round(seeded, 1),
                "top10": top_cost | {"first": top[0].score},
                # the rank as the route reads it with the top: + the top item's request
                "median_rank": rank_cost | {
                    "with_top_item": {"requests": rank_cost["requests"] + top_cost["requests"],
                                      "items_read": rank_cost["items_read"] + top_cost["items_read"]},
                    "rank": rank, "score": row.score if row else None,
                    "tie_group": sum(1 for r in everyone if r.score == median.score),
                    "ties_ahead": sum(1 for r in everyone if r.score == median.score and r.sort_key < median.sort_key),
                    "naive_items_read": rank - 1,
                },
            })
            print(f"  {players:>7} players seeded in {seeded:.1f}s ({where})", file=sys.stderr, flush=True)
            save(results)  # after each size: a long run stopped later keeps what it measured
    return results


def save(results: list[dict[str, Any]]) -> None:
    OUT.write_text(json.dumps({"generated_at": keys.stamp(datetime.now(timezone.utc)), "results": results}, indent=2))


def table(results: list[dict[str, Any]]) -> str:
    head = (f"{'players':>8} {'S':>3} {'distinct':>8} | {'top10 req':>9} {'items':>6} | {'rank':>6} {'req':>4} "
            f"{'items':>6} {'(+top item)':>12} {'tie group':>9} {'ties ahead':>10} | {'naive items':>11}")
    lines = [head, "-" * len(head)]
    for r in results:
        if "skipped" in r:
            lines.append(f"{r['players']:>8} skipped: {r['skipped']}")
            continue
        m = r["median_rank"]
        w = m["with_top_item"]
        lines.append(
            f"{r['players']:>8} {r['shards']:>3} {r['distinct_scores']:>8} | {r['top10']['requests']:>9} "
            f"{r['top10']['items_read']:>6} | {m['rank']:>6} {m['requests']:>4} {m['items_read']:>6} "
            f"{str(w['requests']) + ' / ' + str(w['items_read']):>12} {m['tie_group']:>9} {m['ties_ahead']:>10} | "
            f"{m['naive_items_read']:>11}"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--shards", type=int, default=16)
    parser.add_argument("--max-seed-seconds", type=float, default=900)
    parser.add_argument("--all-scores-above", type=int, default=10_000,
                        help="write every player's score item up to this many players (above: those read)")
    args = parser.parse_args()
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    sizes = [int(s) for s in args.sizes.split(",")]
    results = run(sizes, args.shards, args.max_seed_seconds, all_scores_above=args.all_scores_above)
    print(table(results))
    save(results)
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
