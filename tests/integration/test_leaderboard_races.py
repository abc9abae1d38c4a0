"""Concurrent awards on one board (real concurrent HTTP requests, serialised backend): no
score is lost, the per-score counts stay equal to the players, and ranks stay exact."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest
from gamification.domain.leaderboards import COUNT_LEVELS, bucket, count_sk

pytestmark = pytest.mark.race
NOON = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)


def test_concurrent_awards_on_one_board_keep_scores_counts_and_ranks_exact(api, clock, dynamo, tenant):
    clock.set(NOON)
    users = [f"r{i}" for i in range(8)]
    jobs = [users[i % 8] for i in range(40)]  # 5 awards each, raced across and within users
    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(lambda u: api.xp(u, "character_liked"), jobs))  # 5 XP, 20/day
    assert all(r.status_code == 200 for r in results), [r.text for r in results if r.status_code != 200]

    ledger = Counter(e["user_id"] for e in dynamo.ledger(tenant.id))
    assert ledger == {u: 5 for u in users}, ledger
    body = api.get("/v1/leaderboards/xp", period="daily", limit=100).json()
    assert sorted((e["user_id"], e["score"]) for e in body["entries"]) == [(u, 25) for u in users]
    assert [e["rank"] for e in body["entries"]] == list(range(1, 9))
    # Same score: the order is who reached 25 first, and each user's exact rank agrees.
    for entry in body["entries"]:
        user = api.get("/v1/leaderboards/xp", period="daily", user_id=entry["user_id"]).json()["user"]
        assert user == entry | {"user_id": entry["user_id"]}

    items = dynamo.items(tenant.id)
    for period_key in ("2026-11-21", "2026-W47", "2026-11", "all"):
        counts = Counter()
        for i in items:
            if f"#{period_key}#N" in i["pk"]:
                counts[i["sk"]] += int(i["n"])
        # every level of the count hierarchy holds the 8 players in 25's bucket, nothing else
        expected = {count_sk(level, bucket(25, level)): 8 for level in range(COUNT_LEVELS)}
        assert {sk: n for sk, n in counts.items() if n} == expected, (period_key, counts)
        scores = [i for i in items if f"#{period_key}#S" in i["pk"]]
        assert sorted(int(i["score"]) for i in scores) == [25] * 8
