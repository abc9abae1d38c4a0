"""Real concurrent HTTP requests against the serialised backend: DynamoDB's conditions,
not Python, must hold every limit, cap, once-rule and idempotency key."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest

pytestmark = pytest.mark.race
NOON = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)


def race(n, fn):
    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(lambda i: fn(i), range(n)))


def test_a_2_per_day_action_raced_20_times_awards_exactly_twice(api, clock, dynamo, tenant):
    clock.set(NOON)
    results = race(20, lambda i: api.xp("racer", "create_character"))
    codes = sorted(r.status_code for r in results)
    assert codes == [200] * 2 + [429] * 18, codes
    assert len(dynamo.ledger(tenant.id)) == 2
    assert api.get("/v1/users/racer").json()["total_xp"] == 60


def test_an_uncapped_action_raced_past_the_cap_never_passes_it(api, clock, dynamo, tenant):
    clock.set(NOON)
    api.xp("capper", "paid_char_sold")  # 50 XP
    api.xp("capper", "paid_char_sold")  # 100 XP: level 2, cap 150
    results = race(12, lambda i: api.xp("capper", "paid_char_sold"))
    awarded = sum(r.json()["xp_awarded"] for r in results if r.status_code == 200)
    assert awarded == 50, [r.text for r in results]  # 150 - 100 exactly: never more, never less
    assert sum(r.status_code == 429 for r in results) == 11
    limits = api.get("/v1/users/capper/limits").json()
    assert limits["xp_gained"] == 150 and limits["xp_remaining"] == 0
    assert sum(e["xp"] for e in dynamo.ledger(tenant.id)) == 150


def test_a_once_reward_raced_awards_once(api, clock, dynamo, tenant):
    clock.set(NOON)
    results = race(20, lambda i: api.coins("lucky", "daily_login"))
    assert all(r.status_code == 200 for r in results)
    assert sum(r.json()["awarded"] for r in results) == 1
    assert api.get("/v1/users/lucky").json()["coins_balance"] == 10
    assert len(dynamo.ledger(tenant.id, "COIN")) == 1


def test_one_idempotency_key_raced_awards_once(api, clock, dynamo, tenant):
    clock.set(NOON)
    results = race(20, lambda i: api.xp("dup", "forked", key="same-key"))
    assert all(r.status_code == 200 for r in results), [r.text for r in results]
    assert len({r.json()["event_id"] for r in results}) == 1
    assert len(dynamo.ledger(tenant.id)) == 1
    assert api.get("/v1/users/dup").json()["total_xp"] == 10


def test_concurrent_awards_to_one_user_lose_nothing(api, clock, dynamo, tenant):
    clock.set(NOON)
    results = race(10, lambda i: api.xp("busy", "character_liked"))  # 5 XP, 20/day
    assert all(r.status_code == 200 for r in results)
    totals = sorted(r.json()["total_xp"] for r in results)
    assert totals == list(range(5, 55, 5))  # every response saw a distinct, exact total
    assert api.get("/v1/users/busy").json()["total_xp"] == 50
