"""The leaderboard projection in ``make bench``: what the board projector costs per award,
amortised over its batches at a stated load, and how far boards trail an award.

- capacity: ``AWARDS`` awards of the ``award_xp`` operation's kind (30 XP, default rules,
  the default board of 4 periods) to ``PLAYERS`` players are committed through the API, then
  their ledger entries are fed to the projector as Lambda stream batches of ``size`` records
  (one stream shard), metered (bench/instruments/ddbmeter.py): RCU/WCU per award. At a
  1-second batching window, a batch of ``size`` records stands for a load of ``size``
  awards/s on one stream shard (a table partition); fewer awards per second mean smaller
  batches and fewer coalesced writes.
- freshness: awards sent one by one through the local stack with the stream poller running
  template.yaml's mapping (batching window, filter); the time from an award's response
  (its commit) until the board read shows it, p50 / p99.
"""

from __future__ import annotations

import statistics
import time
import uuid
from typing import Any

AWARDS = 600
PLAYERS = 300
BATCH_SIZES = (100, 1000)
FRESHNESS_SAMPLES = 40


def _ledger(client: Any, table: str, tenant: str) -> list[dict[str, Any]]:
    from gamification.dal.store import unmarshal

    from bench.instruments.ledger_view import as_entries

    # Entries of the users' partitions, and keyed entries (on their Idempotency-Key's record).
    out, kwargs = [], {"TableName": table, "FilterExpression": "begins_with(pk, :p) OR (begins_with(pk, :k) AND attribute_exists(ledger_sk))",
                       "ExpressionAttributeValues": {":p": {"S": f"T#{tenant}#U#"}, ":k": {"S": f"T#{tenant}#IDEM#"}},
                       "ConsistentRead": True}  # fmt: skip
    while True:
        resp = client.scan(**kwargs)
        out += [e for i in resp["Items"] if i["sk"]["S"].startswith(("XP#", "COIN#", "IDEM")) for e in as_entries(unmarshal(i))]
        if "LastEvaluatedKey" not in resp:
            return sorted(out, key=lambda i: i["recorded_at"])
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


def capacity(driver: Any, rec: Any, shadow: Any, table: str, new_tenant: Any) -> dict[str, Any]:
    """Projector RCU/WCU per award at each batch size (each on a fresh tenant)."""
    from gamification import runtime
    from gamification.usecases.board_projector import Projector

    from bench.operations import xp
    from tests.board_model import stream_record

    out: dict[str, Any] = {}
    for size in BATCH_SIZES:
        tenant, api_key = new_tenant()
        driver.tenant, driver.api_key = tenant, api_key
        run = uuid.uuid4().hex[:6]
        for i in range(AWARDS):
            user = f"p{i % PLAYERS}"
            action = "create_character" if i < 2 * PLAYERS else "forked"  # 2 a day, then forked
            result = driver.call(xp(user, action, f"{run}-{i}"))
            if result["statusCode"] != 200:
                raise RuntimeError(f"projection setup answered {result['statusCode']}: {result.get('body')}")
        entries = _ledger(shadow, table, tenant)
        records = [stream_record(item, seq) for seq, item in enumerate(entries, start=10**20)]
        projector = Projector(runtime.engine().rules, runtime.engine().store)
        started = time.perf_counter()
        with rec:
            rec.reset()
            for i in range(0, len(records), size):
                report = projector.project_records(records[i : i + size], "shardId-bench")
                if report.failed_from is not None:
                    raise RuntimeError(f"projection failed: {report.errors}")
        seconds = time.perf_counter() - started
        t = rec.totals()
        out[f"batch_{size}"] = {
            "awards": AWARDS, "players": PLAYERS, "records": len(records), "batches": -(-len(records) // size),
            "load": f"{size} awards/s on one stream shard (1 s batching window)",
            "requests": t.requests, "items_written": t.items_written,
            "rcu_per_award": round(t.rcu / AWARDS, 3), "wcu_per_award": round(t.wcu / AWARDS, 3),
            "seconds": seconds,
        }
    return out


def freshness(base_url: str, api_key: str, samples: int = FRESHNESS_SAMPLES) -> dict[str, Any]:
    """Seconds from an award's response to the first board read that shows it."""
    import requests

    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {api_key}"
    lags = []
    for i in range(samples):
        user = f"fresh-{uuid.uuid4().hex[:8]}"
        r = s.post(f"{base_url}/v1/users/{user}/xp", json={"action": "forked"}, timeout=30)
        committed = time.perf_counter()
        if r.status_code != 200:
            raise RuntimeError(f"freshness award answered {r.status_code}: {r.text}")
        while True:
            body = s.get(f"{base_url}/v1/leaderboards/xp", params={"period": "daily", "user_id": user}, timeout=30).json()
            if body["user"]["rank"] is not None:
                lags.append(time.perf_counter() - committed)
                break
            if time.perf_counter() - committed > 30:
                raise RuntimeError("an award did not reach its board within 30 s")
            time.sleep(0.02)
    q = statistics.quantiles(lags, n=100, method="inclusive")  # never beyond the largest lag
    return {"samples": samples, "p50_s": round(statistics.median(lags), 3), "p99_s": round(q[98], 3),
            "max_s": round(max(lags), 3),
            "what": "award response -> first GET /v1/leaderboards showing it, local stack + stream poller "
                    "(template.yaml: MaximumBatchingWindowInSeconds 1), polled every 20 ms"}
