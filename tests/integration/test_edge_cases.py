"""Edge cases found in review: retries across time, encodings, hostile bodies, and
conditions that must hold even when the optimistic version check does not decide."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests
from gamification import runtime
from gamification.dal import keys
from gamification.dal.store import Store, WriteConflict

NOON = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)


def test_retry_of_a_committed_request_replays_even_after_its_event_aged(api, clock):
    old = (NOON - timedelta(hours=47, minutes=59)).isoformat()
    clock.set(NOON)
    first = api.xp("old", "daily_chat", key="aged-1", occurred_at=old)
    assert first.status_code == 200
    clock.set(NOON + timedelta(minutes=2))  # the event is now past max_event_age
    retry = api.xp("old", "daily_chat", key="aged-1", occurred_at=old)
    assert retry.status_code == 200 and retry.json() == first.json()
    assert api.xp("old", "daily_chat", key="aged-2", occurred_at=old).status_code == 400  # a new request is refused


def test_same_instant_with_another_offset_is_the_same_request(api, clock):
    clock.set(NOON)
    a = api.xp("tz", "forked", key="off-1", occurred_at="2026-11-21T11:00:00+00:00")
    b = api.xp("tz", "forked", key="off-1", occurred_at="2026-11-21T12:00:00+01:00")
    assert b.status_code == 200 and b.json() == a.json()


def test_invalid_key_is_401_before_any_validation(base_url):
    r = requests.post(base_url + "/v1/users/x/xp", data='{"bad": 1}', headers={"Authorization": "Bearer nope-nope-nope"}, timeout=10)
    assert r.status_code == 401 and "errors" not in r.json()["error"]


def test_percent_encoded_ids_are_the_same_user(api, clock):
    clock.set(NOON)
    assert api.xp("al%40ice", "forked").json()["user_id"] == "al@ice"
    assert api.get("/v1/users/al@ice").json()["total_xp"] == 10


def test_a_backdated_429_has_no_retry_after(api, clock):
    clock.set(NOON)
    yesterday = (NOON - timedelta(days=1)).isoformat()
    api.xp("back", "daily_chat", occurred_at=yesterday)
    r = api.xp("back", "daily_chat", occurred_at=yesterday)
    assert r.status_code == 429 and "Retry-After" not in r.headers
    api.xp("back", "daily_chat")
    assert int(api.xp("back", "daily_chat").headers["Retry-After"]) == 12 * 3600


def test_xp_bonus_ledger_entry_records_the_idempotency_key(api, clock, dynamo, tenant):
    clock.set(NOON)
    api.xp("bon", "create_character", key="bonus-key")
    (coin,) = dynamo.ledger(tenant.id, "COIN")
    assert (coin["reason"], coin["idempotency_key"]) == ("xp_bonus", "bonus-key")


@pytest.mark.parametrize("date", ["9999-12-31", "0001-01-01", "2026-11-23", "2026-11-11"])
def test_limits_dates_outside_retention_are_400(api, clock, date):
    clock.set(NOON)
    r = api.get("/v1/users/lim/limits", date=date)
    # years outside 2000-2999 fail the documented pattern (field query.date), the others the window
    error = r.json()["error"]
    assert r.status_code == 400 and error.get("field", error.get("errors", [{}])[0].get("field")) in ("date", "query.date")


def test_usage_is_readable_exactly_while_it_is_retained(api, clock):
    """Usage of 2026-11-20 expires at its end + max_event_age (2d) + 7d = 2026-11-30T00:00Z;
    after that it is refused, not read (TTL deletes late, so reading could flip-flop)."""
    clock.set(NOON)
    api.xp("ttl", "daily_chat", occurred_at=(NOON - timedelta(days=1)).isoformat())
    clock.set(datetime(2026, 11, 29, 23, 59, 59, tzinfo=timezone.utc))
    assert api.get("/v1/users/ttl/limits", date="2026-11-20").json()["actions"]["daily_chat"]["count"] == 1
    clock.set(datetime(2026, 11, 30, 0, 0, 1, tzinfo=timezone.utc))
    assert api.get("/v1/users/ttl/limits", date="2026-11-20").status_code == 400


@pytest.mark.parametrize(
    "raw, status",
    [
        (b"\xff\xfe\x00", 400),
        (b'{"action":"forked","metadata":' + b'{"a":' * 2000 + b"1" + b"}" * 2001, 400),  # 12 KB, too deep
        (b'{"action":"forked","metadata":{"x":NaN}}', 400),
        (b'{"action":"forked","metadata":{"x":1e400}}', 400),
        (json.dumps({"action": "forked", "metadata": {"pad": "x" * 20000}}).encode(), 413),
    ],
)
def test_hostile_bodies_are_4xx_and_write_nothing(api, clock, dynamo, tenant, raw, status):
    clock.set(NOON)
    r = api.session.post(api.base + "/v1/users/u/xp", data=raw, headers={"Content-Type": "application/json"}, timeout=30)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] in ("validation_error", "payload_too_large")
    assert dynamo.items(tenant.id) == []


def _stale_usage_tx(store: Store, tenant: str, user: str, *, count_seen: int, gained_seen: int, profile) -> None:
    """Commit an award decided from a stale view of the day (the version is right)."""
    tx = store.transaction()
    tx.bump_profile(keys.profile_key(tenant, user), int(profile["version"]), user_id=user, now=NOON, xp=10)
    tx.add_day_usage(
        keys.usage_key(tenant, user, "2026-11-21"),
        day="2026-11-21",
        action="create_character",
        cap_amount=150 - gained_seen,
        cap=150,
        limit=2 if count_seen < 2 else count_seen + 1,
        expires_at=NOON + timedelta(days=10),
    )
    store.commit(tx)


def test_the_day_item_itself_refuses_a_limit_or_cap_overshoot(api, clock, tenant):
    """The version check is not the only guard: the usage item's own conditions refuse an
    award decided from a stale count or XP total."""
    clock.set(NOON)
    store = runtime.engine().store
    api.xp("guard", "create_character")
    api.xp("guard", "create_character")  # count 2 = limit, 60 XP gained
    profile = store.get(keys.profile_key(tenant.id, "guard"))
    with pytest.raises(WriteConflict):  # believes the count is 1
        _stale_usage_tx(store, tenant.id, "guard", count_seen=1, gained_seen=60, profile=profile)
    with pytest.raises(WriteConflict):  # believes only 50 XP were gained: 100 more would pass 150
        tx = store.transaction()
        tx.bump_profile(keys.profile_key(tenant.id, "guard"), int(profile["version"]), user_id="guard", now=NOON, xp=100)
        tx.add_day_usage(
            keys.usage_key(tenant.id, "guard", "2026-11-21"), day="2026-11-21", action="forked",
            cap_amount=100, cap=150, limit=None, expires_at=NOON + timedelta(days=10),
        )  # fmt: skip
        store.commit(tx)
    assert api.get("/v1/users/guard").json()["total_xp"] == 60


def test_a_non_retryable_cancellation_is_not_retried():
    class Client:
        calls = 0

        class exceptions:  # noqa: N801 - mirrors botocore's attribute
            class TransactionCanceledException(Exception):
                def __init__(self):
                    self.response = {"CancellationReasons": [{"Code": "None"}, {"Code": "ValidationError"}]}

        def transact_write_items(self, **kwargs):
            Client.calls += 1
            raise self.exceptions.TransactionCanceledException()

    store = Store(Client(), "t")
    with pytest.raises(Client.exceptions.TransactionCanceledException):
        store.commit(store.transaction())
    assert Client.calls == 1


def test_local_stack_never_plants_the_default_key_in_a_remote_table(monkeypatch):
    from tools.local import stack

    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "https://dynamodb.eu-west-1.amazonaws.com")
    monkeypatch.delenv("GAMIFICATION_API_KEY", raising=False)
    with pytest.raises(SystemExit, match="GAMIFICATION_API_KEY"):
        stack.prepare()


def test_the_local_engine_deletes_expired_items_so_test_tables_leave_ttl_off(dynamo):
    """Why the tests' tables are created with ``ttl=False`` (CONTRIBUTING.md, "Frozen clocks
    and TTL"): DynamoDB Local deletes an item whose ``expires_at`` is before the machine's
    clock, as DynamoDB does, so an item a frozen-clock engine wrote would vanish mid-test."""
    from tools.local import backend

    if not dynamo.endpoint or not backend.is_local(dynamo.endpoint):
        pytest.skip("DynamoDB deletes expired items up to two days late: only a local engine sweeps in seconds")
    name = f"{dynamo.table}-ttl"
    tables = {"on": name + "-on", "off": name + "-off"}
    backend.create_table(dynamo.client, tables["on"], stream=False, indexes=False)
    backend.create_table(dynamo.client, tables["off"], stream=False, indexes=False, ttl=False)
    try:
        status = {k: dynamo.client.describe_time_to_live(TableName=t)["TimeToLiveDescription"] for k, t in tables.items()}
        assert status["on"] == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
        assert status["off"]["TimeToLiveStatus"] == "DISABLED"
        key = {"pk": {"S": "T#ttl#U#u"}, "sk": {"S": "DAY#2026-11-20"}}
        for t in tables.values():
            dynamo.client.put_item(TableName=t, Item={**key, "expires_at": {"N": str(int(time.time()) - 86_400)}})
        deadline = time.monotonic() + 180
        while "Item" in dynamo.client.get_item(TableName=tables["on"], Key=key, ConsistentRead=True):
            assert time.monotonic() < deadline, "DynamoDB Local kept an expired item for 3 minutes"
            time.sleep(1)
        assert "Item" in dynamo.client.get_item(TableName=tables["off"], Key=key, ConsistentRead=True)
    finally:
        for t in tables.values():
            dynamo.client.delete_table(TableName=t)
