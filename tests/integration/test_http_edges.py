"""HTTP edges answer in the error envelope: unknown routes and methods, bodies that are
not JSON objects, event times that are not RFC 3339, unknown query parameters. None of
them writes anything."""

from __future__ import annotations

import json

import pytest
import requests


def envelope(r: requests.Response, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    error = r.json()["error"]
    assert error["code"] == code and error["message"]
    return error


@pytest.mark.parametrize("path", ["/v1/nope", "/v1/users/alice/xp/extra", "/", "/v2/levels"])
def test_an_unknown_route_is_404_not_found(api, path):
    envelope(api.get(path), 404, "not_found")


@pytest.mark.parametrize("path", ["/v1/levels/", "/v1/users/alice/", "/v1/users/alice/limits/"])
def test_a_route_path_with_a_trailing_slash_is_served_by_its_route(api, path):
    """API Gateway routes ``/v1/levels/`` as ``/v1/levels`` (the function sees the slash)."""
    r = api.get(path)
    assert r.status_code == 200, r.text
    assert r.json() == api.get(path.rstrip("/")).json()


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "TRACE", "OPTIONS"])
def test_a_known_path_with_another_method_is_405_with_allow(api, method):
    r = api.session.request(method, api.base + "/v1/users/alice/xp", timeout=30)
    error = envelope(r, 405, "method_not_allowed")
    assert r.headers["allow"] == "POST" and error["allow"] == ["POST"]


def test_unknown_routes_still_need_an_api_key(base_url):
    r = requests.get(base_url + "/v1/nope", timeout=30)
    assert r.status_code == 401


@pytest.mark.parametrize("raw", ['["create_character"]', '[{"action": "forked"}]', '"forked"', "42", "null", "true"])
def test_a_body_that_is_not_a_json_object_is_400_and_writes_nothing(api, dynamo, tenant, raw):
    r = api.post("/v1/users/alice/xp", raw=raw)
    error = envelope(r, 400, "validation_error")
    assert error["field"] == "body" and "JSON object" in error["message"]
    assert dynamo.items(tenant.id) == []


@pytest.mark.parametrize(
    "when", [1764000000, "1764000000", "2026-11-21", "2026-11-21 09:30:00Z", "2026-11-21T09:30:00", "21/11/2026"]
)
def test_occurred_at_must_be_rfc_3339_with_offset(api, dynamo, tenant, when):
    for r in (api.xp("alice", "forked", occurred_at=when), api.coins("alice", "daily_login", occurred_at=when)):
        error = envelope(r, 400, "validation_error")
        assert "occurred_at" in error["message"]
    assert dynamo.items(tenant.id) == []


def test_rfc_3339_with_an_offset_is_accepted(api):
    from datetime import datetime, timedelta, timezone

    when = (datetime.now(timezone(timedelta(hours=2))) - timedelta(minutes=1)).isoformat(timespec="seconds")
    assert api.xp("alice", "forked", occurred_at=when).status_code == 200


@pytest.mark.parametrize(
    "path, params",
    [
        ("/v1/leaderboards/xp", {"period": "daily", "perod": "weekly"}),
        ("/v1/users/alice/limits", {"day": "2026-11-21"}),
        ("/v1/levels", {"x": "1"}),
        ("/v1/users/alice", {"verbose": "true"}),
    ],
)
def test_an_unknown_query_parameter_is_400_naming_it(api, path, params):
    error = envelope(api.get(path, **params), 400, "validation_error")
    unknown = next(k for k in params if k not in ("period",))
    assert error["field"] == f"query.{unknown}" and unknown in error["message"]


def test_unknown_query_parameters_on_a_write_write_nothing(api, dynamo, tenant):
    r = api.session.post(api.base + "/v1/users/alice/xp?dry_run=1", json={"action": "forked"}, timeout=30)
    envelope(r, 400, "validation_error")
    assert dynamo.items(tenant.id) == []


def test_a_failure_behind_the_gateway_is_api_gateways_own_500(local_api, monkeypatch):
    """Whatever fails behind the local gateway (here the OpenAPI document it builds) is
    answered as the HTTP API answers a failed integration, not with a dropped connection."""

    def broken():
        raise RuntimeError("broken on purpose")

    monkeypatch.setattr(local_api, "_openapi", broken)
    status, headers, body = local_api.handle("GET", "/openapi.json", [], b"")
    assert (status, json.loads(body)) == (500, {"message": "Internal Server Error"})
    assert headers["content-type"] == "application/json"
