"""Use cases on the in-memory store (gamification.dal.memory): the decisions of an award,
its writes and its replays, without any DynamoDB server. Races are not tested here (the
fake is single-threaded): see tests/integration/test_races.py."""

from datetime import datetime, timedelta, timezone

import pytest

from gamification.api.models import AwardCoinsRequest, AwardCoinsResponse, AwardXpRequest, AwardXpResponse
from gamification.dal import keys
from gamification.dal.store import WriteConflict
from gamification.domain.errors import ActionLimitReached, Contention, DailyXpCapReached, IdempotencyKeyReused
from gamification.domain.ledger import ledger_entries
from gamification.domain.rules import load_rules
from gamification.usecases.engine import Engine

NOON = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)
T = "mem"


@pytest.fixture
def engine(store):
    return Engine(load_rules(), store, now=lambda: NOON, max_attempts=5, retry_budget_s=5)


def xp(engine, user, action, key=None, **kw):
    return engine.award_xp(T, user, AwardXpRequest(action=action, **kw), key)


def coins(engine, user, reason, key=None, **kw):
    return engine.award_coins(T, user, AwardCoinsRequest(reason=reason, **kw), key)


def stored(store, user):
    """Sort keys of the ledger items stored in the user's partition."""
    pk = keys.user_pk(T, user)
    return sorted(sk for (p, sk) in store.items if p == pk and sk.startswith(("XP#", "COIN#")))


def ledger(store, user):
    """Sort keys of the user's ledger entries as every read sees them (an award's XP entry
    carries its xp_bonus coins: two entries, one item)."""
    pk = keys.user_pk(T, user)
    return sorted(e["sk"] for (p, sk), item in store.items.items() if p == pk and sk.startswith(("XP#", "COIN#"))
                  for e in ledger_entries(item))  # fmt: skip


def test_an_award_is_one_read_and_one_transaction_and_returns_a_typed_result(engine, store):
    out = xp(engine, "ann", "create_character")
    assert isinstance(out.result, AwardXpResponse) and not out.replayed
    assert (out.result.xp_awarded, out.result.total_xp, out.result.daily.action_remaining) == (30, 30, 1)
    assert out.body == out.result.model_dump(mode="json")
    assert store.requests == {"BatchGetItem": 1, "TransactWriteItems": 1}
    assert [sk[:3] for sk in ledger(store, "ann")] == ["COI", "XP#"]  # the award and its xp_bonus coins
    assert [sk[:3] for sk in stored(store, "ann")] == ["XP#"]  # in one item


def test_the_daily_limit_refuses_the_third_award(engine, store):
    xp(engine, "bo", "create_character")
    xp(engine, "bo", "create_character")
    with pytest.raises(ActionLimitReached):
        xp(engine, "bo", "create_character")
    assert len([sk for sk in ledger(store, "bo") if sk.startswith("XP#")]) == 2


def test_the_cap_cuts_the_award_that_reaches_it_then_refuses(engine, store):
    for _ in range(14):  # 140 XP of the 150 cap (forked has no daily limit)
        xp(engine, "cy", "forked")
    last = xp(engine, "cy", "paid_char_sold")  # 50 asked, 10 left under the cap
    assert (last.result.xp_awarded, last.result.capped, last.result.daily.xp_remaining) == (10, True, 0)
    with pytest.raises(DailyXpCapReached):
        xp(engine, "cy", "forked")
    profile = store.get(keys.profile_key(T, "cy"))
    assert (profile["total_xp"], profile["coins_balance"]) == (150, 15)  # xp_bonus: 1 coin per 10 XP


def test_a_coin_reward_is_paid_once_per_window(engine, store):
    first, again = coins(engine, "di", "daily_login"), coins(engine, "di", "daily_login")
    assert isinstance(first.result, AwardCoinsResponse)
    assert (first.result.awarded, first.result.balance) == (True, 10)
    assert (again.result.awarded, again.result.amount, again.result.balance) == (False, 0, 10)
    engine.now = lambda: NOON + timedelta(days=1)
    assert coins(engine, "di", "daily_login").result.balance == 20
    assert len([sk for sk in ledger(store, "di") if sk.startswith("COIN#")]) == 2


def test_a_replay_returns_the_first_response_and_writes_nothing(engine, store):
    first = xp(engine, "ed", "daily_chat", key="k1")
    writes = store.requests["TransactWriteItems"]
    again = xp(engine, "ed", "daily_chat", key="k1")
    assert again.replayed and again.body == first.body and isinstance(again.result, AwardXpResponse)
    assert store.requests["TransactWriteItems"] == writes
    with pytest.raises(IdempotencyKeyReused):
        xp(engine, "ed", "create_scene", key="k1")
    engine.now = lambda: NOON + timedelta(days=5)  # the event has aged: still a replay
    assert xp(engine, "ed", "daily_chat", key="k1", occurred_at=None).replayed


def test_a_repeat_once_reward_is_remembered_under_its_key(engine, store):
    coins(engine, "fa", "daily_login")
    repeat = coins(engine, "fa", "daily_login", key="r1")
    assert coins(engine, "fa", "daily_login", key="r1").body == repeat.body
    assert coins(engine, "fa", "daily_login", key="r1").replayed


def test_a_commit_refused_but_applied_is_answered_from_its_proof(engine, store, commit_lands_then_refuses):
    """The first commit lands, then reports a conflict (a re-sent transaction): the next
    attempt finds its ledger entry (XP) or marker (coins) and does not award again."""
    commit_lands_then_refuses()
    assert xp(engine, "gus", "create_character").result.total_xp == 30
    commit_lands_then_refuses()
    assert coins(engine, "gus", "daily_login").result.balance == 13
    assert len(ledger(store, "gus")) == 3  # XP entry, its xp_bonus coins, the reward


def test_endless_conflicts_end_in_contention(engine, store, monkeypatch):
    monkeypatch.setattr(store, "commit", lambda tx: (_ for _ in ()).throw(WriteConflict(["TransactionConflict"])))
    with pytest.raises(Contention):
        xp(engine, "hal", "forked")
    assert store.requests["BatchGetItem"] == 5


def test_the_memory_store_enforces_the_day_items_own_conditions(store):
    """Conditions are evaluated, not trusted: a stale decision is refused as a whole."""
    day = keys.usage_key(T, "ivy", "2026-11-21")
    tx = store.transaction().add_day_usage(day, day="2026-11-21", action="a", cap_amount=100, cap=150, limit=1,
                                           expires_at=NOON)  # fmt: skip
    store.commit(tx)
    tx = store.transaction().add_day_usage(day, day="2026-11-21", action="a", cap_amount=10, cap=150, limit=5,
                                           expires_at=NOON)  # fmt: skip
    tx.put_new(keys.profile_key(T, "ivy"), {"total_xp": 1})
    store.commit(tx)
    refused = store.transaction().add_day_usage(day, day="2026-11-21", action="a", cap_amount=50, cap=150,
                                                limit=None, expires_at=NOON)  # fmt: skip
    with pytest.raises(WriteConflict):
        store.commit(refused)
    assert store.get(day)["xp_gained"] == 110 and store.get(day)["n_a"] == 2
