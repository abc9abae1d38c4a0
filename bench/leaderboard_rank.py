"""Leaderboard read cost at 1k, 10k and 100k players: DynamoDB requests and items read for
the top 10 and for the exact rank of the median player (``make bench-leaderboard``).

The board is seeded in bulk in its final state (score items with their GSI keys, and the
count-hierarchy items aggregated per shard) with BatchWriteItem on an in-process moto
table built from template.yaml; then the same reader the API uses runs with botocore
``after-call.dynamodb`` hooks counting requests and items (``ScannedCount`` for queries:
what DynamoDB reads and bills, before any filter). Prints a table and writes
bench/leaderboard_rank.json. Wall times are moto's, not DynamoDB's: only the counts matter.

Scores: 5 * floor(e^N(4, 1.2)) capped at 100,000 (a long tail, many ties at low scores);
reached_at spread over one day. Usage: python -m bench.leaderboard_rank [--sizes 1000,10000]
[--shards 16]
"""

from __future__ import annotations

import argparse
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
from gamification.domain.leaderboards import Row, count_deltas, count_sk, rank_sort_key, shard_of  # noqa: E402
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


def seed(client: Any, table: str, players: int, shards: int, rnd: random.Random) -> tuple[dict[str, Any], list[Row]]:
    """Write ``players`` score items and their count-hierarchy items in bulk; returns facts
    about the board and every row in board order (the ground truth)."""
    start = datetime(2026, 11, 21, tzinfo=timezone.utc)
    counts: dict[tuple[int, str], int] = defaultdict(int)
    rows = []
    for i in range(players):
        user = f"player-{i:06d}"
        score = 5 * min(int(math.exp(rnd.gauss(4, 1.2))), 20_000)
        reached = keys.stamp(start + timedelta(microseconds=rnd.randrange(86_400_000_000)))
        shard = shard_of(user, shards)
        for level, bucket_id, d in count_deltas(None, score):
            counts[(shard, count_sk(level, bucket_id))] += d
        key = keys.board_score_key(TENANT, BOARD, PERIOD, PERIOD_KEY, shard, user)
        rows.append(
            {**key, "lb_pk": key["pk"], "lb_sk": rank_sort_key(score, reached, user), "user_id": user,
             "score": score, "reached_at": reached}
        )
    for (shard, sk), n in counts.items():
        rows.append({**keys.board_count_key(TENANT, BOARD, PERIOD, PERIOD_KEY, shard, sk), "n": n})
    for i in range(0, len(rows), 25):
        batch = [{"PutRequest": {"Item": marshal(r)}} for r in rows[i : i + 25]]
        while batch:
            resp = client.batch_write_item(RequestItems={table: batch})
            batch = resp.get("UnprocessedItems", {}).get(table, [])
    board = sorted(
        (Row(r["user_id"], r["score"], r["reached_at"]) for r in rows if "user_id" in r), key=lambda r: r.sort_key
    )
    scores = [r.score for r in board]
    return {"distinct_scores": len(set(scores)), "count_items": len(counts), "max_score": max(scores)}, board


def run(sizes: list[int], shards: int, seed_value: int = 7) -> list[dict[str, Any]]:
    backend.use_local_credentials()
    results = []
    rules = rules_with(shards)
    for players in sizes:
        with mock_aws():
            client = boto3.client("dynamodb", region_name="us-east-1")
            table = f"bench-{players}"
            backend.create_table(client, table)
            t0 = time.perf_counter()
            info, everyone = seed(client, table, players, shards, random.Random(seed_value))
            seeded = time.perf_counter() - t0
            meter = Meter(client)
            reader = LeaderboardReader(rules, Store(client, table))
            ref = BoardRef(TENANT, BOARD, PERIOD, PERIOD_KEY, shards)

            meter.reset()
            t0 = time.perf_counter()
            top = reader.top(ref, 10)
            top_cost = meter.snapshot() | {"seconds": round(time.perf_counter() - t0, 3)}

            # the median player: rank players // 2 in the global order
            # ground truth: the seeded rows in board order (computed in Python, not read)
            median = everyone[players // 2 - 1]
            tie_group = sum(1 for r in everyone if r.score == median.score)
            meter.reset()
            t0 = time.perf_counter()
            row, rank = reader.position(ref, median.user_id, best=top[0].score)  # as the route does
            rank_cost = meter.snapshot() | {"seconds": round(time.perf_counter() - t0, 3)}
            assert rank == players // 2, (rank, players // 2)
            higher_scores = len({r.score for r in everyone if r.score > median.score})
            ties_ahead = sum(1 for r in everyone if r.score == median.score and r.sort_key < median.sort_key)
            results.append(
                {
                    "players": players,
                    "shards": shards,
                    **info,
                    "seed_seconds": round(seeded, 1),
                    "top10": top_cost | {"first": top[0].score},
                    "median_rank": rank_cost
                    | {
                        "rank": rank,
                        "score": row.score if row else None,
                        "distinct_higher_scores": higher_scores,
                        "tie_group": tie_group,
                        "ties_ahead": ties_ahead,
                        # what the rank read besides the tie group: GetItem + count items
                        "count_items_read": rank_cost["items_read"] - 1 - ties_ahead,
                        "naive_items_read": rank - 1,
                    },
                }
            )
            print(f"  {players:>7} players seeded in {seeded:.1f}s", file=sys.stderr, flush=True)
    return results


def table(results: list[dict[str, Any]]) -> str:
    head = (
        f"{'players':>8} {'S':>3} {'distinct':>8} | {'top10 req':>9} {'items':>6} | "
        f"{'rank':>6} {'req':>4} {'items':>6} {'= counts + ties ahead':>21} {'distinct above':>14} | {'naive items':>11}"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        m = r["median_rank"]
        lines.append(
            f"{r['players']:>8} {r['shards']:>3} {r['distinct_scores']:>8} | {r['top10']['requests']:>9} "
            f"{r['top10']['items_read']:>6} | {m['rank']:>6} {m['requests']:>4} {m['items_read']:>6} "
            f"{str(m['count_items_read']) + ' + ' + str(m['ties_ahead']):>21} {m['distinct_higher_scores']:>14} | "
            f"{m['naive_items_read']:>11}"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--shards", type=int, default=16)
    args = parser.parse_args()
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    sizes = [int(s) for s in args.sizes.split(",")]
    results = run(sizes, args.shards)
    print(table(results))
    OUT.write_text(json.dumps({"generated_at": keys.stamp(datetime.now(timezone.utc)), "results": results}, indent=2))
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
