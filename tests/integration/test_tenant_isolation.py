"""Tenant isolation: tenant A's key tries every route of template.yaml on tenant B's ids
(users, boards) and gets nothing of B's: exactly what a tenant with no data at all gets (its
own empty view, or the same 4xx), while B's items stay byte for byte as they were.

Routes are read from the template, so a new route is covered the day it is added; a new
path parameter must be given one of B's ids in ``B_IDS`` (the test fails until it is). The
``$default`` route (404/405 for what no route serves) is probed with B's user id.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

import pytest

from tests.conftest import Api, fixed_clock
from tools.local import template
from gamification.dal.store import Store
from gamification.usecases import apikeys

NOON = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)
B_USER = "bob"
#: One of tenant B's ids for each path parameter of the template's routes (the fixture
#: ``tenant_b`` adds those minted at run time: ``webhook_id``, ``entry_id``).
B_IDS = {"user_id": B_USER, "board": "xp", "topic": "whole_numbers"}
#: Query parameters by route path (unknown query parameters are a 400, so each route gets
#: only those it declares; a route not listed gets none).
QUERY = {
    "/v1/leaderboards/{board}": {"period": "all_time", "user_id": B_USER, "around": "2"},
    "/v1/users/{user_id}/reviews": {"due_by": "2026-12-31"},
}
#: Request bodies by the last path segment (any other route gets ``{}``).
BODIES = {
    "xp": {"action": "character_liked"},
    "coins": {"reason": "daily_login"},
    "spend": {"amount": 1, "reason": "shop"},
    "attempts": {"task_id": "t1", "correct": True},
    "reversal": {"reason": "probe"},
}
#: Response fields that differ between any two requests (ids minted per request).
VOLATILE = {"event_id", "request_id", "created_at", "recorded_at"}


def routes() -> list[template.Route]:
    return sorted({r for fn in template.functions("t").values() for r in fn.routes}, key=lambda r: r.route_key)


#: What the ``$default`` route is sent (it serves what no other route matches): an unknown
#: path and a known path with a method it does not take, both naming B's user.
DEFAULT_ROUTE_PROBES = (("GET", f"/v1/users/{B_USER}/secrets", 404), ("PATCH", f"/v1/users/{B_USER}", 405))


def cases() -> list[tuple[template.Route, int]]:
    """Every route of the template once (the ``$default`` route once per probe)."""
    return [(r, i) for r in routes() for i in range(len(DEFAULT_ROUTE_PROBES) if r.is_default else 1)]


def case_id(case: tuple[template.Route, int]) -> str:
    route, i = case
    return f"$default {DEFAULT_ROUTE_PROBES[i][0]} {DEFAULT_ROUTE_PROBES[i][1]}" if route.is_default else route.route_key


def request_for(route: template.Route, probe: int, ids: dict[str, str]) -> tuple[str, str, dict[str, str] | None, Any]:
    """(method, path with B's ``ids``, query, body) for ``route``."""
    if route.is_default:
        method, path, _ = DEFAULT_ROUTE_PROBES[probe]
        return method, path, None, None
    path = route.path
    for name in [p.strip("{}") for p in path.split("/") if p.startswith("{")]:
        if name not in ids:
            pytest.fail(f"{route.route_key}: give tenant B an id for path parameter {name!r} in B_IDS")
        path = path.replace("{" + name + "}", ids[name])
    query = QUERY.get(route.path) if route.method == "GET" else None
    body = None if route.method in ("GET", "DELETE") else BODIES.get(path.rsplit("/", 1)[-1], {})
    return route.method, path, query, body


def send(api: Api, method: str, path: str, query: dict | None, body: Any, **headers: str):
    return api.session.request(
        method, api.base + path, params=query, json=body, headers=headers or None, timeout=30
    )


def scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


def body_of(response) -> Any:
    try:
        return scrub(response.json())
    except ValueError:
        return response.text


def new_tenant(dynamo, base_url: str, prefix: str) -> tuple[str, Api]:
    tenant = f"{prefix}-{uuid.uuid4().hex[:10]}"
    key, _ = apikeys.create(Store(dynamo.client, dynamo.table), tenant)
    return tenant, Api(base_url, key)


@pytest.fixture(scope="module")
def tenant_b(base_url, dynamo, streams, queues, local_api):
    """Tenant B with XP, coins, day usage, board scores, a level-up notification, a topic
    task due for review and a webhook, for ``bob`` and a rival; the stream drained, so that
    nothing of B's changes while a test runs (each test checks it). One B for the module.
    Returns (B's tenant id, its API, its ids, its items): a test compares B's items with
    those (a read of B's items costs more than the probe), and reads them again after B's
    own requests."""
    with fixed_clock(local_api) as clock:
        clock.set(NOON)
        return make_tenant_b(base_url, dynamo, streams, queues)


def make_tenant_b(base_url, dynamo, streams, queues):
    b_id, b = new_tenant(dynamo, base_url, "b")
    for user in (B_USER, "rival"):
        assert b.xp(user, "character_liked").status_code == 200
        assert b.coins(user, "daily_login").status_code == 200
    for _ in range(2):  # 100 XP: a level up, so a notification
        assert b.xp(B_USER, "paid_char_sold").status_code == 200
    assert b.post(f"/v1/users/{B_USER}/topics/whole_numbers/attempts", {"task_id": "t1", "correct": True}).status_code == 200
    # Subscribed to an event B's data never makes: no delivery writes to B while a test runs.
    # A loopback receiver (allowed locally): registration resolves the host, and the tests
    # have no DNS of their own.
    hook = b.post("/v1/webhooks", {"url": "http://127.0.0.1:9/b", "events": ["leaderboard.finalised"]})
    assert hook.status_code == 200, hook.text
    entry_id = b.get(f"/v1/users/{B_USER}/ledger").json()["entries"][0]["entry_id"]
    streams.wait_until_drained(timeout=300)
    queues.wait_until_idle("WebhookQueue", timeout=120)
    items = {"now": dynamo.items(b_id)}
    assert items["now"], "tenant B has data"
    return b_id, b, {**B_IDS, "webhook_id": hook.json()["id"], "entry_id": entry_id}, items


@pytest.mark.parametrize("case", cases(), ids=case_id)
def test_tenant_a_gets_nothing_of_tenant_bs(base_url, clock, dynamo, tenant_b, case):
    route, probe = case
    clock.set(NOON)
    b_id, b, ids, b_items = tenant_b
    before = b_items["now"]
    _, a = new_tenant(dynamo, base_url, "a")
    _, empty = new_tenant(dynamo, base_url, "c")  # a tenant with no data at all
    method, path, query, body = request_for(route, probe, ids)

    seen_by_a = send(a, method, path, query, body)
    seen_by_empty = send(empty, method, path, query, body)
    assert seen_by_a.status_code < 500, seen_by_a.text
    assert (seen_by_a.status_code, body_of(seen_by_a)) == (seen_by_empty.status_code, body_of(seen_by_empty))
    assert dynamo.items(b_id) == before  # B's items unchanged

    if route.is_default:  # the probe really reaches the $default route, for every tenant
        assert seen_by_a.status_code == DEFAULT_ROUTE_PROBES[probe][2], seen_by_a.text
        assert seen_by_a.json()["error"]["code"] in ("not_found", "method_not_allowed")
        assert b_id not in seen_by_a.text
    if method == "GET" and "{" in route.path:  # the test can fail: B itself sees its data there
        seen_by_b = send(b, method, path, query, body)
        b_items["now"] = dynamo.items(b_id)  # what B's own read may have written, for the next test
        assert seen_by_b.status_code == 200 and body_of(seen_by_b) != body_of(seen_by_a), seen_by_b.text


@pytest.mark.parametrize("case", cases(), ids=case_id)
def test_no_header_or_parameter_can_name_another_tenant(base_url, clock, dynamo, tenant_b, case):
    route, probe = case
    clock.set(NOON)
    b_id, _, ids, b_items = tenant_b
    before = b_items["now"]
    _, a = new_tenant(dynamo, base_url, "a")
    _, empty = new_tenant(dynamo, base_url, "c")
    method, path, query, body = request_for(route, probe, ids)
    spoof = {"X-Tenant-Id": b_id, "X-Amzn-Tenant": b_id, "X-Forwarded-For": "10.0.0.1"}
    for params in (query, {**(query or {}), "tenant_id": b_id, "tenant": b_id}):  # headers alone, then with query
        seen_by_a = send(a, method, path, params, body, **spoof)
        seen_by_empty = send(empty, method, path, params, body, **spoof)
        assert (seen_by_a.status_code, body_of(seen_by_a)) == (seen_by_empty.status_code, body_of(seen_by_empty))
        assert dynamo.items(b_id) == before


def test_every_route_of_the_template_is_covered():
    """The suite above runs once per route of the template: nothing is left out by hand."""
    keys = [r.route_key for r in routes()]
    assert len(keys) >= 6 and len(set(keys)) == len(keys)
    assert {"POST /v1/users/{user_id}/xp", "GET /v1/leaderboards/{board}", template.DEFAULT_ROUTE} <= set(keys)
