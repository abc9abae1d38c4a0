"""Bounded input: body size, ``metadata`` depth, keys, strings and numbers, the ranges of
every numeric field: 400/413 in the v1 envelope with nothing written, checked case by case
and fuzzed (hypothesis) through the local API."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gamification.api import bounds

NOON = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)


def nested(depth: int) -> dict:
    value: dict = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"n": value}
    return value


TOO_MUCH = {
    "depth": nested(bounds.MAX_DEPTH + 1),
    "keys": {f"k{i}": i for i in range(bounds.MAX_KEYS + 1)},
    "keys across levels": {f"k{i}": {f"j{j}": 0 for j in range(8)} for i in range(8)},
    "long key": {"k" * (bounds.MAX_KEY_LENGTH + 1): 1},
    "empty key": {"": 1},
    "long string": {"s": "x" * (bounds.MAX_STRING_LENGTH + 1)},
    "long array": {"a": list(range(bounds.MAX_ITEMS + 1))},
    "huge integer": {"n": 2**53},
    "huge negative integer": {"n": -(2**64)},
    "huge float": {"x": 1e16},
    "bytes": {f"k{i}": "é" * 40 for i in range(14)},  # 14 x 80 bytes of UTF-8 + keys > 2 KB
}


@pytest.mark.parametrize("case", list(TOO_MUCH))
def test_metadata_past_a_bound_is_400_and_writes_nothing(api, clock, dynamo, tenant, case):
    clock.set(NOON)
    r = api.xp("u1", "forked", metadata=TOO_MUCH[case])
    assert r.status_code == 400, (case, r.text)
    assert r.json()["error"]["code"] == "validation_error" and "metadata" in r.json()["error"]["message"]
    assert dynamo.items(tenant.id) == []


@pytest.mark.parametrize("metadata", ['{"s": "\\ud800"}', '{"\\udfff": 1}', '{"a": ["ok", "\\ud83d"]}'])
def test_metadata_with_a_lone_surrogate_is_400_and_writes_nothing(api, clock, dynamo, tenant, metadata):
    # Valid JSON escapes with no UTF-8 form: stored, they came back replaced by U+FFFD (a key)
    # or not at all.
    clock.set(NOON)
    r = api.post("/v1/users/u1/xp", raw='{"action": "forked", "metadata": ' + metadata + "}")
    assert r.status_code == 400, (metadata, r.text)
    assert r.json()["error"]["code"] == "validation_error" and "Unicode" in r.json()["error"]["message"]
    assert dynamo.items(tenant.id) == []


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400", "1" * 400])
def test_non_finite_and_overlong_number_literals_are_400(api, clock, dynamo, tenant, literal):
    clock.set(NOON)
    r = api.post("/v1/users/u1/xp", raw='{"action": "forked", "metadata": {"x": ' + literal + "}}")
    assert r.status_code == 400, (literal, r.text)
    assert r.json()["error"]["code"] == "validation_error"
    assert dynamo.items(tenant.id) == []


def test_metadata_at_every_bound_is_accepted_and_stored_as_sent(api, clock, dynamo, tenant):
    clock.set(NOON)
    at_bounds = {
        "d": nested(bounds.MAX_DEPTH - 1),
        "k" * bounds.MAX_KEY_LENGTH: -(2**53 - 1),
        "s": "x" * bounds.MAX_STRING_LENGTH,
        "a": list(range(40)),
        "f": -1e15,
        "ok": [True, None, 0.5],
    }
    r = api.xp("u1", "forked", metadata=at_bounds)
    assert r.status_code == 200, r.text
    [entry] = dynamo.ledger(tenant.id)
    assert json.loads(entry["metadata"]) == at_bounds


@pytest.mark.parametrize(
    "path, body",
    [
        ("/v1/users/u1/xp", {"action": "bounty", "amount": 1_000_001}),
        ("/v1/users/u1/xp", {"action": "bounty", "amount": -1_000_001}),
        ("/v1/users/u1/xp", {"action": "bounty", "amount": 10**30}),
        ("/v1/users/u1/xp", {"action": "bounty", "amount": 1.5}),
        ("/v1/users/u1/xp", {"action": "forked", "occurred_at": "9999-12-31T23:59:59Z"}),
        ("/v1/users/u1/xp", {"action": "forked", "occurred_at": "0001-01-01T00:00:00Z"}),
        ("/v1/users/u1/coins", {"reason": "daily_login", "scope": "s" * 129}),
        ("/v1/users/u1/coins", {"reason": "daily_login", "tier": "t" * 65}),
    ],
)
def test_numbers_and_strings_out_of_range_are_400(api, clock, dynamo, tenant, path, body):
    clock.set(NOON)
    r = api.post(path, body)
    assert r.status_code == 400, (body, r.text)
    assert dynamo.items(tenant.id) == []


@pytest.mark.parametrize("query", [{"limit": 0}, {"limit": 101}, {"limit": 10**20}, {"around": 51, "user_id": "u"},
                                   {"around": -1, "user_id": "u"}, {"user_id": "x" * 129}])
def test_leaderboard_query_numbers_out_of_range_are_400(api, query):
    r = api.get("/v1/leaderboards/reputation", period="all_time", **query)
    assert r.status_code == 400, (query, r.text)
    assert r.json()["error"]["code"] in ("validation_error", "unknown_leaderboard")


@pytest.mark.parametrize(
    "path, query",
    [
        ("/v1/leaderboards/xp", {"period": "daily", "limit": "5_0"}),
        ("/v1/leaderboards/xp", {"period": "daily", "limit": "+5"}),
        ("/v1/leaderboards/xp", {"period": "daily", "limit": " 5"}),
        ("/v1/leaderboards/xp", {"period": "daily", "limit": "5.0"}),
        ("/v1/leaderboards/xp", {"period": "daily", "user_id": "u", "around": "1_0"}),
        ("/v1/leaderboards/xp", {"period": "daily", "final": "yes"}),
        ("/v1/leaderboards/xp", {"period": "daily", "final": "1"}),
        ("/v1/users/u/ledger", {"limit": "2_0"}),
        ("/v1/users/u/reviews", {"limit": "1_0"}),
        ("/v1/users/u/notifications", {"unread": "on"}),
    ],
)  # fmt: skip
def test_query_numbers_are_decimal_digits_and_flags_true_or_false(api, path, query):
    r = api.get(path, **query)
    assert r.status_code == 400, (path, query, r.text)
    assert r.json()["error"]["code"] == "validation_error"
    name = next(k for k in query if k not in ("period", "user_id"))
    assert f"query.{name}" in r.json()["error"]["message"], r.text


@pytest.mark.parametrize(
    "path, query",
    [("/v1/leaderboards/xp", {"period": "daily", "limit": "50", "final": "false"}), ("/v1/users/u/ledger", {"limit": "20"}),
     ("/v1/users/u/notifications", {"unread": "true"})],
)  # fmt: skip
def test_plain_numbers_and_flags_still_pass(api, path, query):
    assert api.get(path, **query).status_code == 200


def test_a_body_one_byte_over_the_limit_is_413(api, clock, dynamo, tenant):
    # Imported here, after the local API applied the template's environment: importing the
    # HTTP layer at collection would build Powertools' Metrics without its namespace.
    from gamification.api.http import MAX_BODY_BYTES

    clock.set(NOON)
    filler = "x" * (MAX_BODY_BYTES - len('{"action": "forked", "pad": ""}') + 1)
    r = api.post("/v1/users/u1/xp", raw='{"action": "forked", "pad": "' + filler + '"}')
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    assert dynamo.items(tenant.id) == []


# ---- fuzz ------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False, width=64) | st.text(max_size=600),
    lambda children: st.lists(children, max_size=70) | st.dictionaries(st.text(max_size=70), children, max_size=70),
    max_leaves=80,
)


def within_bounds(metadata) -> bool:
    try:
        bounds._bounded_metadata(metadata)
    except ValueError:
        return False
    return True


def user_items(dynamo, tenant: str, user: str) -> list[dict]:
    """Every item of one user's partition (one Query: the fuzz runs many examples)."""
    resp = dynamo.client.query(
        TableName=dynamo.table,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": f"T#{tenant}#U#{user}"}},
        ConsistentRead=True,
    )
    return resp["Items"]


FUZZ = settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))


@FUZZ
@given(metadata=st.dictionaries(st.text(max_size=70), json_values, max_size=70))
def test_fuzzed_metadata_is_accepted_exactly_when_within_bounds(api, clock, dynamo, tenant, metadata):
    clock.set(NOON)
    before = user_items(dynamo, tenant.id, "fuzz")
    r = api.xp("fuzz", "character_liked", metadata=metadata)
    assert r.status_code in (200, 400, 413, 429), r.text
    if r.status_code != 200:
        assert "error" in r.json() and user_items(dynamo, tenant.id, "fuzz") == before
    if r.status_code in (200, 400):
        assert (r.status_code == 200) == within_bounds(metadata), (r.text, metadata)


@FUZZ
@given(body=json_values, route=st.sampled_from(["/v1/users/fz/xp", "/v1/users/fz/coins"]))
def test_fuzzed_bodies_never_fail_the_server_and_refusals_write_nothing(api, clock, dynamo, tenant, body, route):
    clock.set(NOON)
    before = user_items(dynamo, tenant.id, "fz")
    r = api.post(route, body)
    assert r.status_code < 500, r.text
    if r.status_code >= 400:
        assert set(r.json()["error"]) >= {"code", "message"}
        assert user_items(dynamo, tenant.id, "fz") == before
