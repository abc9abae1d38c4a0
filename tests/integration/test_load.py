"""The load test's locustfile (bench/load/locustfile.py, ``make load``) for 5 seconds at 2
users against the test stack: it writes a well-formed per-route report, the stack answers
without a server error, 429s are counted as the rules' answers, and the report's counts agree
with what the engine wrote.

Locust runs as its own process (it monkey-patches the standard library with gevent), through
the same function ``make load`` uses."""

from __future__ import annotations

import importlib.util

import pytest

from bench.load import run as load

pytestmark = [
    pytest.mark.load,
    pytest.mark.skipif(importlib.util.find_spec("locust") is None, reason="locust (the dev extra) is not installed"),
]

ROUTES = {
    "POST /v1/users/{user_id}/xp", "POST /v1/users/{user_id}/xp (replay)", "POST /v1/users/{user_id}/coins",
    "GET /v1/users/{user_id}/limits", "GET /v1/users/{user_id}", "GET /v1/leaderboards/xp (top 10)",
    "GET /v1/leaderboards/xp (around me)",
}
FIELDS = {
    "requests", "requests_per_s", "p50_ms", "p95_ms", "p99_ms", "max_ms", "ok", "limited",
    "server_errors", "connection_errors", "unexpected", "failures",
}
USERS = 2


def _well_formed(r: dict) -> None:
    assert set(r) == FIELDS, r
    assert r["requests"] == r["ok"] + sum(r["limited"].values()) + r["failures"], r
    assert r["failures"] == r["server_errors"] + r["connection_errors"] + sum(r["unexpected"].values()), r
    answered = r["requests"] - r["connection_errors"]
    if answered:
        assert 0 <= r["p50_ms"] <= r["p95_ms"] <= r["p99_ms"] <= r["max_ms"], r
        assert r["requests_per_s"] > 0, r


def test_the_locustfile_reports_every_route_with_no_server_error(api, base_url, tenant, dynamo):
    # One of the 4 players has reached today's XP cap (150 at level 2): their awards are 429s.
    for _ in range(3):
        assert api.xp("p00000", "paid_char_sold").status_code == 200  # 50 XP each
    assert api.xp("p00000", "forked").status_code == 429
    assert api.get("/v1/users/p00000/limits").status_code == 200  # start its environments too
    report = load.run_locust(base_url, tenant.api_key, users=USERS, seconds=5, max_requests=25, players=4)

    assert report["users"] == USERS and report["players"] == 4 and report["max_requests"] == 25
    assert report["seconds"] > 0
    assert set(report["routes"]) <= ROUTES, report["routes"].keys()
    for r in [*report["routes"].values(), report["total"]]:
        _well_formed(r)
    total = report["total"]
    assert total["requests"] == sum(r["requests"] for r in report["routes"].values())
    assert total["requests"] >= 1, report
    assert total["server_errors"] == 0 and total["connection_errors"] == 0, report
    assert total["failures"] == 0, report  # no unexpected 4xx either: the mix is valid input
    # 429s are the rules' answers (the capped player, a daily action limit), not failures.
    assert set(total["limited"]) <= {"daily_xp_cap_reached", "action_limit_reached"}, total["limited"]
    # Every 200 award wrote one XP entry and a replay none (users finish their request in
    # flight before locust stops, so the report covers every request served).
    xp = report["routes"].get("POST /v1/users/{user_id}/xp", {"ok": 0})["ok"]
    assert len(dynamo.ledger(tenant.id, "XP")) == 3 + xp


def test_the_load_test_refuses_a_host_that_is_not_loopback():
    with pytest.raises(ValueError, match="loopback only"):
        load.run_locust("http://192.0.2.1:3000", "key", users=1, seconds=1, max_requests=1, players=1)
