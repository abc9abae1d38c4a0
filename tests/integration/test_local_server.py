"""The local API Gateway emulation behaves like the service under concurrency: every
request is handled by an execution environment of its own (as in Lambda), so concurrent
requests for different users never see each other's event."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

NOON = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)


def test_concurrent_requests_for_different_users_stay_apart(api, clock, dynamo, tenant):
    clock.set(NOON)
    users = [f"p{i}" for i in range(8)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda i: api.xp(users[i % 8], "character_liked"), range(48)))
    assert all(r.status_code == 200 for r in results)
    assert all(r.json()["user_id"] == users[i % 8] for i, r in enumerate(results))
    assert Counter(e["user_id"] for e in dynamo.ledger(tenant.id)) == {u: 6 for u in users}
