"""Signed amounts and backfill against the table: penalties, variable amounts, cap-exempt
actions, the floor as a DynamoDB condition, the starting balance and backfill mode."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from gamification.api.models import AwardCoinsRequest, AwardXpRequest
from gamification.dal import keys
from gamification.dal.store import Store, WriteConflict
from gamification.domain.errors import DailyXpCapReached, ValidationFailed
from gamification.domain.rules import parse_rules
from gamification.usecases.engine import Engine
from tests.conftest import RACE_RETRY

from ..signed_rules import SIGNED_RULES

NOON = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)
RULES = parse_rules(SIGNED_RULES)


@pytest.fixture
def engine(dynamo):
    return Engine(RULES, Store(dynamo.client, dynamo.table), now=lambda: NOON, **RACE_RETRY)


def xp(engine, tenant, user, action, **kw):
    return engine.award_xp(tenant.id, user, AwardXpRequest(action=action, **kw), None).body


def test_a_new_user_starts_at_the_starting_balance_with_a_ledger_entry(engine, tenant, dynamo):
    assert engine.profile(tenant.id, "new").body["total_xp"] == 1  # unknown reads as new
    body = xp(engine, tenant, "ann", "upvoted")
    assert body["total_xp"] == 11 and body["xp_awarded"] == 10
    entries = dynamo.ledger(tenant.id)
    assert [(e["reason"], e["xp"]) for e in entries] == [("starting_balance", 1), ("upvoted", 10)]
    assert engine.profile(tenant.id, "ann").body["total_xp"] == 11


def test_a_coin_reward_creating_the_profile_also_opens_the_balance(engine, tenant):
    engine.award_coins(tenant.id, "cob", AwardCoinsRequest(reason="daily_login"), None)
    assert engine.profile(tenant.id, "cob").body["total_xp"] == 1
    assert xp(engine, tenant, "cob", "upvoted")["total_xp"] == 11


def test_penalties_stop_at_the_floor(engine, tenant, dynamo):
    assert xp(engine, tenant, "bo", "downvoted")["total_xp"] == 1  # 1 - 2 -> floored at 1
    xp(engine, tenant, "bo", "upvoted")  # 11
    body = xp(engine, tenant, "bo", "downvoted")
    assert (body["xp_awarded"], body["total_xp"], body["floored"]) == (-2, 9, False)
    body = xp(engine, tenant, "bo", "bounty_offered", amount=-50)
    assert (body["xp_awarded"], body["total_xp"], body["floored"]) == (-8, 1, True)
    assert sum(e["xp"] for e in dynamo.ledger(tenant.id) if e["user_id"] == "bo") == 1


def test_dynamodb_refuses_a_write_below_the_floor(engine, tenant):
    xp(engine, tenant, "cy", "upvoted")  # total 11, version 1
    store = engine.store
    tx = store.transaction()
    tx.bump_profile(keys.profile_key(tenant.id, "cy"), 1, user_id="cy", now=NOON, xp=-11, xp_floor=1)
    with pytest.raises(WriteConflict) as exc:
        store.commit(tx)
    assert exc.value.reasons == ["ConditionalCheckFailed"]
    tx = store.transaction()
    tx.bump_profile(keys.profile_key(tenant.id, "cy"), 1, user_id="cy", now=NOON, xp=-10, xp_floor=1)
    store.commit(tx)
    assert engine.profile(tenant.id, "cy").body["total_xp"] == 1


def test_the_daily_cap_is_on_the_net_of_the_day_and_exempt_actions_pass_it(engine, tenant):
    for _ in range(20):
        xp(engine, tenant, "di", "upvoted")  # 200 = cap
    with pytest.raises(DailyXpCapReached):
        xp(engine, tenant, "di", "upvoted")
    assert xp(engine, tenant, "di", "accepted")["xp_awarded"] == 15  # exempt
    assert xp(engine, tenant, "di", "bounty_won", amount=100)["total_xp"] == 1 + 200 + 15 + 100
    body = xp(engine, tenant, "di", "downvoted")
    assert body["daily"]["xp_gained"] == 198 and body["daily"]["xp_remaining"] == 2
    body = xp(engine, tenant, "di", "upvoted")
    assert (body["xp_awarded"], body["capped"]) == (2, True)
    limits = engine.limits(tenant.id, "di").body
    assert limits["xp_gained"] == 200
    assert limits["actions"]["bounty_won"] == {
        "count": 1, "limit": None, "remaining": None, "xp": None, "xp_min": 50, "xp_max": 500
    }


def test_amount_is_validated_before_any_write(engine, tenant, dynamo):
    for action, amount in (("bounty_won", None), ("bounty_won", 10), ("upvoted", 10)):
        with pytest.raises(ValidationFailed):
            xp(engine, tenant, "ed", action, amount=amount)
    assert dynamo.items(tenant.id) == [] or all(not i["sk"].startswith("XP#") for i in dynamo.items(tenant.id))


def test_backfill_is_an_explicit_engine_mode(dynamo, tenant):
    store = Store(dynamo.client, dynamo.table)
    old = NOON - timedelta(days=400)
    live = Engine(RULES, store, now=lambda: NOON)
    with pytest.raises(ValidationFailed):
        live.award_xp(tenant.id, "fa", AwardXpRequest(action="upvoted", occurred_at=old), None)
    backfill = Engine(RULES, store, now=lambda: NOON, backfill=True)
    for _ in range(21):
        try:
            body = backfill.award_xp(tenant.id, "fa", AwardXpRequest(action="upvoted", occurred_at=old), None).body
        except DailyXpCapReached:
            break
    else:
        pytest.fail("the old day's cap was not applied")
    assert body["daily"]["date"] == old.date().isoformat() and body["total_xp"] == 201
    # The old day's cap does not touch today's.
    assert live.award_xp(tenant.id, "fa", AwardXpRequest(action="upvoted"), None).body["xp_awarded"] == 10


def test_the_http_api_takes_an_optional_amount(api, clock):
    clock.set(NOON)
    # The bundled rules have fixed-XP actions only: an amount is refused, none works as before.
    r = api.xp("gil", "forked", amount=10)
    assert r.status_code == 400 and r.json()["error"]["field"] == "amount"
    r = api.xp("gil", "forked")
    assert r.status_code == 200 and r.json()["xp_awarded"] == 10 and r.json()["floored"] is False
    r = api.xp("gil", "forked", amount="10")
    assert r.status_code == 400


def test_a_penalty_is_still_two_round_trips(engine, tenant, dynamo):
    xp(engine, tenant, "hy", "upvoted")
    calls = []
    handler = lambda **kw: calls.append(kw["model"].name)  # noqa: E731
    dynamo.client.meta.events.register("before-call.dynamodb", handler)
    try:
        assert xp(engine, tenant, "hy", "downvoted")["total_xp"] == 9
        assert xp(engine, tenant, "hy", "bounty_won", amount=60)["total_xp"] == 69
    finally:
        dynamo.client.meta.events.unregister("before-call.dynamodb", handler)
    assert calls == ["BatchGetItem", "TransactWriteItems"] * 2


@pytest.mark.race
def test_racing_penalties_never_pass_the_floor(engine, tenant):
    from concurrent.futures import ThreadPoolExecutor

    xp(engine, tenant, "iz", "upvoted")  # 11
    with ThreadPoolExecutor(max_workers=8) as pool:
        bodies = list(pool.map(lambda _: xp(engine, tenant, "iz", "downvoted"), range(12)))
    assert sorted(b["xp_awarded"] for b in bodies) == [-2] * 5 + [0] * 7
    assert engine.profile(tenant.id, "iz").body["total_xp"] == 1
