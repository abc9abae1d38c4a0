"""POST /v1/users/{user_id}/xp through the local HTTP API (real API Gateway v2 events, the
authorizer and the handler), against the table built from template.yaml."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from gamification import runtime

NOON = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)


def test_award_returns_totals_level_and_daily_usage(api, clock):
    clock.set(NOON)
    r = api.xp("alice", "create_character")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["xp_awarded"] == 30 and body["xp_requested"] == 30 and body["capped"] is False
    assert body["total_xp"] == 30 and body["level"] == 1 and body["level_name"] == "Newbie"
    assert body["leveled_up"] is False
    assert body["coins_awarded"] == 3 and body["coins_balance"] == 3
    assert body["daily"] == {
        "date": "2026-11-21",
        "resets_at": "2026-11-22T00:00:00.000000Z",
        "xp_gained": 30,
        "xp_cap": 150,
        "xp_remaining": 120,
        "action_count": 1,
        "action_limit": 2,
        "action_remaining": 1,
    }


def test_action_limit_is_429_with_the_seed_message(api, clock, dynamo, tenant):
    clock.set(NOON)
    assert api.xp("bob", "create_character").status_code == 200
    assert api.xp("bob", "create_character").status_code == 200
    r = api.xp("bob", "create_character")
    assert r.status_code == 429
    assert r.json()["error"]["code"] == "action_limit_reached"
    assert r.json()["error"]["message"] == "Daily limit reached for create_character (2/day)"
    assert int(r.headers["Retry-After"]) == 12 * 3600
    assert len(dynamo.ledger(tenant.id)) == 2


def test_cap_cuts_the_last_award_then_429(api, clock, dynamo, tenant):
    clock.set(NOON)
    # forked: 10 XP, no per-action limit. 14 awards = 140 XP, the 15th reaches 150 exactly.
    for _ in range(15):
        assert api.xp("carol", "forked").status_code == 200
    r = api.xp("carol", "forked")
    assert r.status_code == 429
    err = r.json()["error"]
    assert err["code"] == "daily_xp_cap_reached"
    # carol crossed 100 XP (level 2) during the day; level-2 cap is also 150
    assert err["message"] == "Daily EXP cap reached (150 EXP/day for level 2)"


def test_partial_award_is_capped_and_counts_toward_the_action(api, clock):
    clock.set(NOON)
    for _ in range(14):
        api.xp("dave", "forked")  # 140 XP
    r = api.xp("dave", "create_character")  # 30 requested, 10 room
    body = r.json()
    assert r.status_code == 200
    assert (body["xp_awarded"], body["xp_requested"], body["capped"]) == (10, 30, True)
    assert body["daily"]["xp_gained"] == 150 and body["daily"]["xp_remaining"] == 0
    assert body["daily"]["action_count"] == 1
    limits = api.get("/v1/users/dave/limits").json()
    assert limits["actions"]["create_character"]["count"] == 1


def test_level_up_and_xp_bonus_coins(api, clock, dynamo, tenant):
    clock.set(NOON)
    for _ in range(9):
        api.xp("erin", "forked")  # 90 XP, 9 coins
    r = api.xp("erin", "forked").json()
    assert r["total_xp"] == 100 and r["level"] == 2 and r["level_name"] == "Creator" and r["leveled_up"] is True
    assert r["coins_balance"] == 10
    coins = dynamo.ledger(tenant.id, "COIN")
    assert len(coins) == 10 and {c["reason"] for c in coins} == {"xp_bonus"}
    assert api.xp("erin", "forked").json()["leveled_up"] is False


def test_every_award_writes_one_ledger_entry(api, clock, dynamo, tenant):
    clock.set(NOON)
    api.xp("fay", "daily_chat", metadata={"chat_id": "c-1"})
    (entry,) = dynamo.ledger(tenant.id)
    assert entry["action"] == "daily_chat" and entry["xp"] == 20 and entry["user_id"] == "fay"
    assert entry["occurred_at"] == "2026-11-21T12:00:00.000000Z" and entry["day"] == "2026-11-21"
    assert entry["metadata"] == '{"chat_id": "c-1"}'


def test_an_event_counts_on_its_own_day(api, clock):
    clock.set(NOON)
    yesterday = (NOON - timedelta(days=1)).isoformat()
    assert api.xp("gus", "daily_chat", occurred_at=yesterday).json()["daily"]["date"] == "2026-11-20"
    assert api.xp("gus", "daily_chat").status_code == 200  # today's limit untouched
    assert api.xp("gus", "daily_chat", occurred_at=yesterday).status_code == 429
    assert api.get("/v1/users/gus/limits", date="2026-11-20").json()["actions"]["daily_chat"]["count"] == 1


def test_day_boundary_is_midnight_in_the_rules_zone(api, clock):
    clock.set(datetime(2026, 11, 21, 23, 59, 59, tzinfo=timezone.utc))
    assert api.xp("hal", "daily_chat").status_code == 200
    clock.set(datetime(2026, 11, 22, 0, 0, 0, tzinfo=timezone.utc))
    assert api.xp("hal", "daily_chat").status_code == 200


def test_idempotency_key_replays_the_original_response(api, clock, dynamo, tenant):
    clock.set(NOON)
    first = api.xp("ivy", "create_character", key="order-1")
    again = api.xp("ivy", "create_character", key="order-1")
    assert again.status_code == 200 and again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert len(dynamo.ledger(tenant.id)) == 1
    assert api.get("/v1/users/ivy").json()["total_xp"] == 30


def test_idempotency_key_reused_for_another_request_is_422(api, clock, dynamo, tenant):
    clock.set(NOON)
    api.xp("jay", "create_character", key="k-1")
    for r in (api.xp("jay", "create_scene", key="k-1"), api.xp("kim", "create_character", key="k-1")):
        assert r.status_code == 422 and r.json()["error"]["code"] == "idempotency_key_reused"
    assert len(dynamo.ledger(tenant.id)) == 1


def land_next_commit_then_raise(environments, tmp_path, error: str) -> None:
    """The engine's next commit reaches DynamoDB, then ``error`` ("timeout" or "conflict")
    reaches the engine (a lost response); later commits are normal."""
    token = tmp_path / f"fault-{len(list(tmp_path.iterdir()))}"
    token.touch()
    environments.call("tests.environment_hooks:land_next_commit_then_raise", error, str(token))


def test_crash_after_the_write_then_retry_has_the_effect_once(api, clock, dynamo, tenant, environments, tmp_path):
    clock.set(NOON)
    land_next_commit_then_raise(environments, tmp_path, "timeout")
    crashed = api.xp("kai", "create_character", key="retry-me")
    assert crashed.status_code == 500
    retried = api.xp("kai", "create_character", key="retry-me")
    assert retried.status_code == 200 and retried.headers["Idempotent-Replayed"] == "true"
    assert retried.json()["total_xp"] == 30
    assert len(dynamo.ledger(tenant.id)) == 1


def test_occurred_at_bounds(api, clock, dynamo, tenant):
    clock.set(NOON)
    future = (NOON + timedelta(minutes=6)).isoformat()
    stale = (NOON - timedelta(hours=48, seconds=1)).isoformat()
    for when in (future, stale):
        r = api.xp("lee", "daily_chat", occurred_at=when)
        assert r.status_code == 400 and r.json()["error"]["field"] == "occurred_at"
    assert api.xp("lee", "daily_chat", occurred_at=(NOON + timedelta(minutes=4)).isoformat()).status_code == 200
    assert len(dynamo.ledger(tenant.id)) == 1


def test_tenants_are_isolated(api, clock, base_url, dynamo):
    from gamification.dal.store import Store
    from gamification.usecases import auth

    from ..conftest import Api

    clock.set(NOON)
    api.xp("mo", "create_character")
    other_key = auth.new_api_key()
    auth.register_api_key(Store(dynamo.client, dynamo.table), "other-game", other_key)
    other = Api(base_url, other_key)
    assert other.get("/v1/users/mo").json()["total_xp"] == 0


def test_a_commit_applied_but_reported_as_refused_is_not_repeated(api, clock, dynamo, tenant, environments, tmp_path):
    """botocore re-sends a transaction whose response was lost; DynamoDB refuses the copy.
    The engine must notice its first copy landed, and not award again (no key needed)."""
    clock.set(NOON)
    land_next_commit_then_raise(environments, tmp_path, "conflict")
    r = api.xp("lia", "create_character")
    assert r.status_code == 200 and r.json()["total_xp"] == 30
    land_next_commit_then_raise(environments, tmp_path, "conflict")
    c = api.coins("lia", "daily_login")
    assert c.status_code == 200 and c.json()["awarded"] is True and c.json()["balance"] == 13
    assert len(dynamo.ledger(tenant.id)) == 1
    profile = api.get("/v1/users/lia").json()
    assert (profile["total_xp"], profile["coins_balance"]) == (30, 13)
