"""Bad input of every kind gets a 4xx in the v1 envelope and writes nothing."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

NOON = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)

XP_CASES = [
    ("/v1/users/u1/xp", "{not json", "validation_error"),
    ("/v1/users/u1/xp", "", "validation_error"),
    ("/v1/users/u1/xp", "[]", "validation_error"),
    ("/v1/users/u1/xp", '"create_character"', "validation_error"),
    ("/v1/users/u1/xp", "{}", "validation_error"),
    ("/v1/users/u1/xp", '{"action": 7}', "validation_error"),
    ("/v1/users/u1/xp", '{"action": null}', "validation_error"),
    ("/v1/users/u1/xp", '{"action": ""}', "validation_error"),
    ("/v1/users/u1/xp", json.dumps({"action": "x" * 65}), "validation_error"),
    ("/v1/users/u1/xp", '{"action": "fly_to_mars"}', "unknown_action"),
    ("/v1/users/u1/xp", '{"action": "forked", "xp": 1000000}', "validation_error"),
    ("/v1/users/u1/xp", '{"action": "forked", "occurred_at": "yesterday"}', "validation_error"),
    ("/v1/users/u1/xp", '{"action": "forked", "occurred_at": "2026-11-21T12:00:00"}', "validation_error"),
    ("/v1/users/u1/xp", '{"action": "forked", "occurred_at": "2030-01-01T00:00:00Z"}', "validation_error"),
    ("/v1/users/u1/xp", '{"action": "forked", "occurred_at": "2020-01-01T00:00:00Z"}', "validation_error"),
    ("/v1/users/u1/xp", '{"action": "forked", "metadata": "text"}', "validation_error"),
    ("/v1/users/u1/xp", json.dumps({"action": "forked", "metadata": {"blob": "x" * 3000}}), "validation_error"),
    ("/v1/users/" + "a" * 129 + "/xp", '{"action": "forked"}', "validation_error"),
    ("/v1/users/bad%23id/xp", '{"action": "forked"}', "validation_error"),
    ("/v1/users/sp%20ace/xp", '{"action": "forked"}', "validation_error"),
    ("/v1/users/u1/coins", '{"reason": 5}', "validation_error"),
    ("/v1/users/u1/coins", '{"reason": "daily_login", "extra": true}', "validation_error"),
    ("/v1/users/u1/coins", '{"reason": "daily_login", "occurred_at": "2099-01-01T00:00:00+02:00"}', "validation_error"),
]


@pytest.mark.parametrize("path, raw, code", XP_CASES)
def test_bad_award_requests_are_400_and_write_nothing(api, clock, dynamo, tenant, path, raw, code):
    clock.set(NOON)
    r = api.post(path, raw=raw)
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["code"] == code and err["message"]
    assert dynamo.items(tenant.id) == []


@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "tab\tkey", "é-unicode"])
def test_bad_idempotency_keys_are_400_and_write_nothing(api, clock, dynamo, tenant, key):
    clock.set(NOON)
    r = api.session.post(
        api.base + "/v1/users/u1/xp",
        data=b'{"action": "forked"}',
        headers={"Idempotency-Key": key.encode("utf-8")},
        timeout=10,
    )
    assert r.status_code == 400, (key, r.text)
    assert dynamo.items(tenant.id) == []


@pytest.mark.parametrize("query", [{"date": "soon"}, {"date": "2026-1-1"}])
def test_bad_limits_queries(api, query):
    r = api.get("/v1/users/u1/limits", **query)
    assert r.status_code == 400 and r.json()["error"]["code"] == "validation_error"
