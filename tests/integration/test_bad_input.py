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
    ("/v1/users/u1/xp", '{"action": "forked", "occurred_at": "2026-11-21T99:00:00Z"}', "validation_error"),
    ("/v1/users/u1/xp", '{"action": "forked", "occurred_at": "2026-02-30T10:00:00Z"}', "validation_error"),
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


@pytest.mark.parametrize("value", ["2026-11-21T99:00:00Z", "2026-02-30T10:00:00Z", "2026-11-21T10:61:00+01:00"])
def test_an_impossible_event_time_says_so(api, clock, value):
    """Right shape, impossible calendar or clock: the message says the time is not real
    (pydantic's own says "unexpected extra characters at the end of the input")."""
    clock.set(NOON)
    r = api.post("/v1/users/u1/xp", {"action": "forked", "occurred_at": value})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["message"].startswith(f"body.occurred_at: Value error, '{value}' is not a real date and time")


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


@pytest.mark.parametrize("query", [{"date": "soon"}, {"date": "2026-1-1"}, {"date": "1999-12-31"}, {"date": "2026-02-30"}])
def test_bad_limits_queries(api, query):
    r = api.get("/v1/users/u1/limits", **query)
    assert r.status_code == 400 and r.json()["error"]["code"] == "validation_error"


@pytest.mark.parametrize(
    "path, name, value",
    [("/v1/users/u1/limits", "date", "soon"), ("/v1/users/u1/limits", "date", "2026-13-01"),
     ("/v1/users/u1/reviews", "due_by", "tomorrow"), ("/v1/leaderboards/xp?period=daily", "date", "21-11-2026")],
)  # fmt: skip
def test_a_bad_date_query_names_the_shape_not_the_regex(api, path, name, value):
    """The message of a pattern mismatch states the expected shape (the pattern itself is
    some 300 characters of regex; the OpenAPI document keeps it)."""
    r = api.get(path, **{name: value})
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["code"] == "validation_error"
    assert error["message"] == f"query.{name}: must be a calendar date YYYY-MM-DD of the years 2000-2999", error
    assert error["errors"] == [{"field": f"query.{name}", "message": error["message"].split(": ", 1)[1],
                                "type": "string_pattern_mismatch"}]  # fmt: skip
    assert "(?:" not in r.text
