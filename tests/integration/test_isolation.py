"""Execution environments are isolated as in Lambda (tools/local/lambdas.py): concurrent
requests never see another request's event, body, query or tenant."""

from __future__ import annotations

import json
import random
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest

from tools.local import apigw, lambdas, template

from ..conftest import Api

NOON = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)
PROBE = template.Function("ProbeFunction", template.ROOT / "tests" / "isolation_probe", "app.handler", timeout_s=30)


@pytest.mark.parametrize("pool, shares", [(lambdas.Containers, False), (lambdas.InProcessContainers, True)])
def test_a_request_never_reads_the_event_another_environment_resolved(tmp_path, monkeypatch, pool, shares):
    """Deterministic: ``a`` is inside its route when ``b`` resolves in another environment.
    Environments in one process share Powertools' class-level current event (the defect the
    process pool removes); processes do not."""
    monkeypatch.setenv("PROBE_DIR", str(tmp_path))
    containers = pool(PROBE)
    route = template.Route("GET", "/probe/{name}")

    def call(name: str) -> dict:
        event = apigw.http_event("GET", f"/probe/{name}", {}, None, route, {"name": name})
        return json.loads(containers.invoke(event)["body"])

    try:
        with ThreadPoolExecutor(2) as ex:
            a, b = ex.submit(call, "a"), ex.submit(call, "b")
            a, b = a.result(timeout=60), b.result(timeout=60)
    finally:
        containers.close()
    assert b["seen_path"] == "/probe/b"
    assert a["seen_path"] == ("/probe/b" if shares else "/probe/a")
    assert (a["pid"] == b["pid"]) is shares


@pytest.mark.race
def test_concurrent_requests_of_different_tenants_bodies_and_queries_see_only_their_own(base_url, clock, dynamo):
    from gamification.dal.store import Store
    from gamification.usecases import auth

    clock.set(NOON)
    tenants = {}
    for _ in range(4):
        tid, key = f"iso-{uuid.uuid4().hex[:8]}", auth.new_api_key()
        auth.register_api_key(Store(dynamo.client, dynamo.table), tid, key)
        tenants[tid] = Api(base_url, key)
    actions = ["create_character", "forked", "character_liked", "daily_chat"]
    dates = [(NOON - timedelta(days=d)).date().isoformat() for d in range(4)]
    periods = ["daily", "weekly", "monthly", "all_time"]
    plan = []
    for n, tid in enumerate(tenants):
        for u in range(3):
            user = f"{tid}-u{u}"
            plan += [("xp", tid, user, actions[(n + u) % 4]), ("coins", tid, user, "daily_login")]
            plan += [("limits", tid, user, dates[(n + u) % 4]), ("board", tid, user, periods[(n + 2 * u) % 4])]
    plan = plan * 2
    random.Random(9).shuffle(plan)

    def send(step):
        kind, tid, user, arg = step
        api = tenants[tid]
        if kind == "xp":
            return api.xp(user, arg)
        if kind == "coins":
            return api.coins(user, arg)
        if kind == "limits":
            return api.get(f"/v1/users/{user}/limits", date=arg)
        return api.get("/v1/leaderboards/xp", period=arg, user_id=user)

    with ThreadPoolExecutor(24) as ex:
        answers = list(ex.map(send, plan))
    awarded: dict[str, int] = defaultdict(int)
    for (kind, tid, user, arg), r in zip(plan, answers, strict=True):
        assert r.status_code in (200, 429), (kind, arg, r.status_code, r.text)
        body = r.json()
        if r.status_code == 429:
            assert kind == "xp" and body["error"]["code"] in ("action_limit_reached", "daily_xp_cap_reached"), body
            continue
        if kind == "xp":
            assert (body["user_id"], body["action"]) == (user, arg)
            awarded[user] += body["xp_awarded"]
        elif kind == "coins":
            assert (body["reason"], body["window"]) == (arg, "day")
        elif kind == "limits":
            assert (body["user_id"], body["date"]) == (user, arg)
        else:
            assert (body["board"], body["period"]) == ("xp", arg)
            assert body["user"] is None or body["user"]["user_id"] == user
            assert all(e["user_id"].startswith(f"{tid}-") for e in body["entries"]), body
    for tid, api in tenants.items():
        ledger = dynamo.ledger(tid)
        assert {e["user_id"] for e in ledger} <= {f"{tid}-u{u}" for u in range(3)}
        xp_by_user = Counter()
        for e in ledger:
            xp_by_user[e["user_id"]] += int(e["xp"])
        for u in range(3):
            user = f"{tid}-u{u}"
            assert xp_by_user[user] == awarded[user]
            assert api.get(f"/v1/users/{user}").json()["total_xp"] == awarded[user]
