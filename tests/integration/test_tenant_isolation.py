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

from tests.conftest import Api
from tools.local import template
from gamification.dal.store import Store
from gamification.usecases import apikeys

NOON = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)
B_USER = "bob"
#: One of tenant B's ids for each path parameter of the template's routes.
B_IDS = {"user_id": B_USER, "board": "xp"}
#: Query parameters by route path (unknown query parameters are a 400, so each route gets
#: only those it declares; a route not listed gets none).
QUERY = {"/v1/leaderboards/{board}": {"period": "all_time", "user_id": B_USER, "around": "2"}}
#: Request bodies by the last path segment (any other route gets ``{}``).
BODIES = {"xp": {"action": "character_liked"}, "coins": {"reason": "daily_login"}}
#: Response fields that differ between any two requests (ids minted per request).
VOLATILE = {"event_id", "request_id", "created_at", "recorded_at"}


def routes() -> list[template.Route]:
    return sorted({r for fn in template.functions("t").values() for r in fn.routes}, key=lambda r: r.route_key)


#: What the ``$default`` route is sent (it serves what no other route matches): an unknown
#: path and a known path with a method it does not take, both naming B's user.
DEFAULT_ROUTE_PROBES = (("GET", f"/v1/users/{B_USER}/secrets", 404), ("DELETE", f"/v1/users/{B_USER}", 405))


def cases() -> list[tuple[template.Route, int]]:
    """Every route of the template once (the ``$default`` route once per probe)."""
    return [(r, i) for r in routes() for i in range(len(DEFAULT_ROUTE_PROBES) if r.is_default else 1)]


def case_id(case: tuple[template.Route, int]) -> str:
    route, i = case
    return f"$default {DEFAULT_ROUTE_PROBES[i][0]} {DEFAULT_ROUTE_PROBES[i][1]}" if route.is_default else route.route_key


def request_for(route: template.Route, probe: int = 0) -> tuple[str, str, dict[str, str] | None, Any]:
    """(method, path with B's ids, query, body) for ``route``."""
    if route.is_default:
        method, path, _ = DEFAULT_ROUTE_PROBES[probe]
        return method, path, None, None
    path = route.path
    for name in [p.strip("{}") for p in path.split("/") if p.startswith("{")]:
        if name not in B_IDS:
            pytest.fail(f"{route.route_key}: give tenant B an id for path parameter {name!r} in B_IDS")
        path = path.replace("{" + name + "}", B_IDS[name])
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


@pytest.fixture
def tenant_b(base_url, clock, dynamo):
    """Tenant B with XP, coins, day usage and board scores for ``bob`` and a rival."""
    clock.set(NOON)
    b_id, b = new_tenant(dynamo, base_url, "b")
    for user in (B_USER, "rival"):
        assert b.xp(user, "character_liked").status_code == 200
        assert b.coins(user, "daily_login").status_code == 200
    assert b.xp(B_USER, "character_liked").status_code == 200
    return b_id, b


@pytest.mark.parametrize("case", cases(), ids=case_id)
def test_tenant_a_gets_nothing_of_tenant_bs(base_url, clock, dynamo, tenant_b, case):
    route, probe = case
    b_id, b = tenant_b
    _, a = new_tenant(dynamo, base_url, "a")
    _, empty = new_tenant(dynamo, base_url, "c")  # a tenant with no data at all
    method, path, query, body = request_for(route, probe)
    before = dynamo.items(b_id)
    assert before, "tenant B has data"

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
        assert seen_by_b.status_code == 200 and body_of(seen_by_b) != body_of(seen_by_a), seen_by_b.text


@pytest.mark.parametrize("case", cases(), ids=case_id)
def test_no_header_or_parameter_can_name_another_tenant(base_url, clock, dynamo, tenant_b, case):
    route, probe = case
    b_id, _ = tenant_b
    _, a = new_tenant(dynamo, base_url, "a")
    _, empty = new_tenant(dynamo, base_url, "c")
    method, path, query, body = request_for(route, probe)
    before = dynamo.items(b_id)
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
