"""Per-tenant request limits: a DynamoDB conditional counter per tenant per window, 429
``rate_limited`` with ``Retry-After`` past it, configurable per tenant, one tenant's burst
never spending another's budget; and what the counter costs (one UpdateItem, 1 WCU,
outside the award transaction)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import boto3
import pytest

from tests.conftest import Api, load_event
from tools.local import lambdas, template
from gamification import runtime
from gamification.dal import keys
from gamification.dal.store import Store
from gamification.domain.errors import RateLimited
from gamification.usecases import apikeys
from gamification.usecases.throttle import tenant_limit, throttle

NOON = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)


def counters(dynamo, tenant: str) -> list[dict]:
    """The tenant's counter items (every page of the scan: one page reads 1 MB at most, and
    the session's table outgrows that)."""
    pages = dynamo.client.get_paginator("scan").paginate(
        TableName=dynamo.table,
        FilterExpression="begins_with(pk, :p)",
        ExpressionAttributeValues={":p": {"S": f"RATE#{tenant}#"}},
        ConsistentRead=True,
    )
    return [item for page in pages for item in page["Items"]]


def store_of(dynamo) -> Store:
    return Store(dynamo.client, dynamo.table)


def test_the_counter_refuses_past_the_limit_and_says_when_the_window_ends(dynamo, tenant):
    store = store_of(dynamo)
    t = 1_000_000_000.25  # 0.25 s into a 10 s window that ends at ...010
    for _ in range(3):
        throttle(store, tenant.id, 3, 10, now=lambda: t)
    with pytest.raises(RateLimited) as info:
        throttle(store, tenant.id, 3, 10, now=lambda: t + 2)
    assert info.value.status == 429 and info.value.code == "rate_limited"
    assert info.value.retry_after == 8  # ceil(1_000_000_010 - 1_000_000_002.25)
    throttle(store, tenant.id, 3, 10, now=lambda: t + 10)  # next window: counted afresh
    [first, second] = sorted(counters(dynamo, tenant.id), key=lambda i: i["pk"]["S"])
    assert first["n"] == {"N": "3"} and second["n"] == {"N": "1"}
    assert int(first["expires_at"]["N"]) == 1_000_000_020  # TTL: one window after its end


def test_a_limit_of_zero_means_unlimited_and_writes_no_counter(dynamo, tenant):
    for _ in range(5):
        throttle(store_of(dynamo), tenant.id, 0, 1)
    assert counters(dynamo, tenant.id) == []


def test_the_authorizer_context_sets_the_limit_else_the_default_applies():
    assert tenant_limit({}, 100, 1) == (100, 1)
    assert tenant_limit({"rate_limit": 5, "rate_window_seconds": 60}, 100, 1) == (5, 60)
    assert tenant_limit({"rate_limit": "7"}, 100, 1) == (7, 1)
    assert tenant_limit({"rate_limit": -1, "rate_window_seconds": 0}, 100, 1) == (100, 1)
    assert tenant_limit({"rate_limit": "lots"}, 100, 1) == (100, 1)


def test_over_the_limit_the_api_answers_429_rate_limited_with_retry_after_and_writes_nothing(
    api, clock, dynamo, tenant
):
    clock.set(NOON)
    apikeys.set_limit(store_of(dynamo), tenant.id, 2, 3600)
    assert api.xp("u1", "character_liked").status_code == 200
    assert api.get("/v1/users/u1").status_code == 200
    r = api.xp("u1", "character_liked")
    assert r.status_code == 429, r.text
    assert r.json()["error"]["code"] == "rate_limited"
    assert r.json()["error"]["limit"] == 2 and r.json()["error"]["window_seconds"] == 3600
    assert 1 <= int(r.headers["Retry-After"]) <= 3600
    assert len(dynamo.ledger(tenant.id)) == 1  # the refused award wrote nothing
    # Clearing the tenant's limit takes effect at once locally (no authorizer cache).
    apikeys.set_limit(store_of(dynamo), tenant.id, None, None)
    assert api.xp("u1", "character_liked").status_code == 200


def test_requests_refused_before_any_io_are_not_counted(api, dynamo, tenant):
    apikeys.set_limit(store_of(dynamo), tenant.id, 1, 3600)
    assert api.post("/v1/users/u/xp", raw="{not json").status_code == 400
    assert api.post("/v1/users/u/xp", raw='{"a": "' + "x" * 20000 + '"}').status_code == 413
    assert counters(dynamo, tenant.id) == []
    assert api.get("/v1/levels").status_code == 200  # the first counted request
    assert api.get("/v1/levels").status_code == 429  # every route is counted, levels too


@pytest.mark.race
def test_one_tenants_burst_does_not_starve_another(base_url, clock, dynamo):
    """Tenant A (limit 5 per hour) fires 40 concurrent requests while tenant B's 12 are
    interleaved with them: A is cut at its limit, every one of B's gets through."""
    clock.set(NOON)
    store = store_of(dynamo)
    a_tenant, b_tenant = f"burst-{uuid.uuid4().hex[:8]}", f"calm-{uuid.uuid4().hex[:8]}"
    a = Api(base_url, apikeys.create(store, a_tenant)[0])
    b = Api(base_url, apikeys.create(store, b_tenant)[0])
    apikeys.set_limit(store, a_tenant, 5, 3600)
    jobs = [("A", i) for i in range(40)]
    jobs[::4] = [("B", i) for i in range(10)]
    jobs += [("B", 10), ("B", 11)]

    def fire(job):
        who, i = job
        client = a if who == "A" else b
        return who, client.xp(f"{who.lower()}{i % 4}", "character_liked")

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(fire, jobs))
    a_codes = [r.status_code for who, r in results if who == "A"]
    b_codes = [r.status_code for who, r in results if who == "B"]
    assert b_codes == [200] * 12, [r.text for who, r in results if who == "B" and r.status_code != 200]
    # Fixed windows: a burst that straddles an hour boundary may get 2 x 5 through.
    assert 5 <= a_codes.count(200) <= 10, a_codes
    assert a_codes.count(429) == len(a_codes) - a_codes.count(200)
    refused = [r for who, r in results if who == "A" and r.status_code == 429]
    assert all(r.json()["error"]["code"] == "rate_limited" and int(r.headers["Retry-After"]) >= 1 for r in refused)
    assert len(dynamo.ledger(a_tenant)) == a_codes.count(200)  # DynamoDB held the limit, not Python
    assert len(dynamo.ledger(b_tenant)) == 12


def test_the_counter_costs_one_update_of_one_wcu_outside_the_award_transaction(clock, dynamo, tenant):
    """Measured with bench/instruments/ddbmeter on the functions' own client (docs/security.md)."""
    from bench.instruments import ddbmeter

    clock.set(NOON)
    client = runtime.store().client
    shadow = boto3.client("dynamodb")
    shape = ddbmeter.TableShape.from_definition(template.table_definition())
    fn = template.functions(dynamo.table)["AwardXpFunction"]
    handler = lambdas.load_handler(fn)  # in this process, where the recorder sees its client

    def award(limit: int | None, user: str) -> ddbmeter.Recorder:
        event = load_event("award_xp.json", tenant.id)
        event["rawPath"] = f"/v1/users/{user}/xp"
        event["pathParameters"] = {"user_id": user}
        event["headers"].pop("idempotency-key", None)
        if limit is not None:
            event["requestContext"]["authorizer"]["lambda"].update(rate_limit=limit, rate_window_seconds=3600)
        rec = ddbmeter.Recorder(client, shadow, dynamo.table, shape, ask_capacity=False)
        with rec:
            result = lambdas.invoke(fn, handler, event)
        assert result["statusCode"] == 200, result
        return rec

    unlimited, limited = award(0, "m1").totals(), award(1000, "m2").totals()
    extra = {op: n - unlimited.operations.get(op, 0) for op, n in limited.operations.items()}
    assert {op: n for op, n in extra.items() if n} == {"UpdateItem": 1}
    assert limited.wcu - unlimited.wcu == 1  # one write unit: the counter item is under 1 KB
    assert limited.operations["TransactWriteItems"] == unlimited.operations["TransactWriteItems"] == 1
    assert limited.items_written - unlimited.items_written == 1
