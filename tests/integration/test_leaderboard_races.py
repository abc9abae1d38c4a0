"""Concurrent awards on one board (real concurrent HTTP requests): once the stream is
projected no score is lost, the count and tie items hold each player once, and ranks stay
exact."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest
from gamification.domain.board_projection import COUNT_LEVELS, count_slot, tie_keys
from gamification.domain.leaderboards import Row

from ..conftest import drain_before_board_reads

pytestmark = pytest.mark.race
NOON = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)


def test_concurrent_awards_on_one_board_keep_scores_counts_and_ranks_exact(api, clock, dynamo, tenant, streams, monkeypatch):
    drain_before_board_reads(api, streams, monkeypatch)
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

    items = {(i["pk"].rsplit("#", 1)[-1], i["pk"].split("#")[-2], i["sk"]): i for i in dynamo.items(tenant.id)}
    rows = [Row(e["user_id"], 25, "") for e in body["entries"]]
    for period_key in ("2026-11-21", "2026-W47", "2026-11", "all"):
        counts = {k[2]: i for k, i in items.items() if k[0] == "C" and k[1] == period_key}
        # every level of the count hierarchy holds the 8 players in 25's bucket, nothing else
        for level in range(COUNT_LEVELS):
            sk, attr = count_slot(25, level)
            assert {a: v for a, v in counts.pop(sk).items() if a[:1] == "c" and len(a) == 2 and v} == {attr: 8}
        assert not [i for i in counts.values() if any(v for a, v in i.items() if a[:1] == "c" and len(a) == 2)]  # emptied
        ties = {k[2]: i for k, i in items.items() if k[0] == "T" and k[1] == period_key}
        hourly = ties[tie_keys(Row("x", 25, "2026-11-21T12:00:00.000000Z"))[0]]
        assert sum(v for a, v in hourly.items() if a.startswith("h")) == 8
        scores = [i for k, i in items.items() if k[0].startswith("S") and k[1] == period_key]
        assert sorted(int(i["score"]) for i in scores) == [25] * 8 and len(rows) == 8
