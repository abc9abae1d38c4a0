"""Keyed ledger entries without DynamoDB: an award sent with an Idempotency-Key stores its
ledger entry as the key's record (docs/benchmarks.md, "Award items: a keyed award's ledger
entry is its idempotency record"). Their ids, the stream filters and consumers that must take
them (and not plain records), the history cursors over them, and a commit refused but
applied."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from gamification.api.spend_models import SpendRequest
from gamification.api.models import AwardCoinsRequest, AwardXpRequest
from gamification.dal import items, keys
from bench.instruments.ddbmeter import item_size
from gamification.dal.store import marshal
from gamification.domain.board_projection import entry_of
from gamification.domain.errors import ValidationFailed
from gamification.domain.events import derive
from gamification.domain.ledger import decode_cursor, encode_cursor, ledger_kind, ledger_owner
from gamification.domain.rules import load_rules
from gamification.usecases.engine import Engine
from gamification.usecases.ledger import Ledger
from tools.local import event_filter, template

NOON = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)
T = "mem"


@pytest.fixture
def engine(store):
    return Engine(load_rules(), store, now=lambda: NOON, max_attempts=5, retry_budget_s=5)


def record_of(store, key):
    return store.items.get((f"T#{T}#IDEM#{key}", "IDEM"))


def test_a_keyed_award_writes_three_items_and_its_entry_is_the_record(engine, store):
    engine.award_xp(T, "ann", AwardXpRequest(action="forked"), "k0")  # profile, usage exist now
    before = set(store.items)
    out = engine.award_xp(T, "ann", AwardXpRequest(action="character_liked"), "k1")  # no coin earned
    tx_items = [i for i in store.items if i not in before]
    assert tx_items == [(f"T#{T}#IDEM#k1", "IDEM")]
    entry = record_of(store, "k1")
    assert ledger_kind(entry) == "xp" and ledger_owner(entry) == (T, "ann")
    assert entry["ledger_sk"] == f"{out.result.occurred_at}#{out.result.event_id}#XP"
    assert items.stored_response(entry) == out.body
    assert item_size(marshal(entry)) < 1024  # 2 WCU in the transaction, 1 for its GSI row
    again = engine.award_xp(T, "ann", AwardXpRequest(action="character_liked"), "k1")
    assert again.replayed and again.body == out.body
    # Without a key the entry is an item of the user's partition, as before.
    engine.award_xp(T, "ann", AwardXpRequest(action="character_liked"), None)
    assert len([k for k in store.items if k[1].startswith("XP#")]) == 1


def test_a_keyed_coin_award_is_its_record_and_a_spend_keeps_a_record_of_its_own(engine, store):
    engine.award_coins(T, "bo", AwardCoinsRequest(reason="daily_login"), "c1")
    assert ledger_kind(record_of(store, "c1")) == "coins"
    assert not [k for k in store.items if k[1].startswith("COIN#")]
    Ledger(engine).spend(T, "bo", SpendRequest(amount=1, reason="shop"), "s1")
    spend_record = record_of(store, "s1")
    assert ledger_kind(spend_record) is None and "ledger_sk" not in spend_record
    assert len([k for k in store.items if k[1].startswith("COIN#")]) == 1  # the spend's entry


def test_a_keyed_commit_refused_but_applied_answers_as_the_first_attempt(engine, store, commit_lands_then_refuses):
    """The transaction lands, then reports a conflict (a re-sent transaction): the next
    attempt finds its own entry as the record and answers as the first (not a replay)."""
    commit_lands_then_refuses()
    out = engine.award_xp(T, "cy", AwardXpRequest(action="create_character"), "k1")
    assert not out.replayed and out.result.total_xp == 30
    commit_lands_then_refuses()
    paid = engine.award_coins(T, "cy", AwardCoinsRequest(reason="daily_login"), "c1")
    assert not paid.replayed and paid.result.balance == 13
    assert store.requests["TransactWriteItems"] == 2
    assert engine.award_xp(T, "cy", AwardXpRequest(action="create_character"), "k1").replayed


def test_entry_ids_name_either_kind_and_nothing_else():
    sk = "XP#2026-11-21T12:00:00.000000Z#e1"
    assert keys.entry_key(T, "ann", keys.entry_id(sk)) == {"pk": keys.user_pk(T, "ann"), "sk": sk}
    assert keys.entry_sk(keys.entry_id(sk)) == sk
    for key in ("k1", "a#b", "~" * 255):
        assert keys.entry_key(T, "ann", keys.keyed_entry_id(key)) == keys.idempotency_key(T, key)
        assert keys.entry_sk(keys.keyed_entry_id(key)) is None
        assert len(keys.keyed_entry_id(key)) <= 400  # the path pattern's bound
    for bad in (keys.entry_id("K#"), keys.entry_id("K#" + "x" * 256), keys.entry_id("K#a b"), keys.entry_id("DAY#x"),
                "%%%", keys.keyed_entry_id("k1") + "A"):
        assert keys.entry_key(T, "ann", bad) is None, bad
    keyed = {"pk": f"T#{T}#IDEM#a#IDEM#b", "sk": "IDEM", "ledger_pk": keys.user_pk(T, "ann"),
             "ledger_sk": "2026-11-21T12:00:00.000000Z#e1#XP"}  # fmt: skip
    assert keys.stored_entry_id(keyed) == keys.keyed_entry_id("a#IDEM#b")
    assert keys.stored_entry_id({"pk": f"T#{T}#IDEM#a", "sk": "IDEM"}) is None  # a plain record
    assert keys.stored_entry_id({"pk": keys.user_pk(T, "ann"), "sk": sk}) == keys.entry_id(sk)


def keyed_image(**extra):
    return {"pk": f"T#{T}#IDEM#k1", "sk": "IDEM", "ledger_pk": f"T#{T}#U#ann",
            "ledger_sk": "2026-11-21T12:00:00.000000Z#e1#XP", "type": "xp", "user_id": "ann", "action": "forked",
            "reason": "forked", "xp": 60, "total_xp": 100, "occurred_at": "2026-11-21T12:00:00.000000Z",
            "recorded_at": "2026-11-21T12:00:00.000000Z", "fingerprint": "f", "response_z": "eJw=", **extra}  # fmt: skip


def stream_record(image):
    ddb_image = {k: {"N": str(v)} if isinstance(v, int) else {"S": v} for k, v in image.items()}
    return {"eventName": "INSERT", "dynamodb": {"Keys": {"pk": ddb_image["pk"], "sk": ddb_image["sk"]},
                                                 "NewImage": ddb_image}}  # fmt: skip


def test_the_stream_filters_take_keyed_entries_and_not_plain_records():
    sources = {s.function: s for s in template.stream_sources()}
    plain = {"pk": f"T#{T}#IDEM#s1", "sk": "IDEM", "fingerprint": "f", "response": "{}"}
    for name in ("BoardProjectorFunction", "DomainEventsFunction"):
        filters = sources[name].filters
        assert event_filter.matches_any(filters, stream_record(keyed_image())), name
        assert not event_filter.matches_any(filters, stream_record(plain)), name
        modify = {**stream_record(keyed_image()), "eventName": "MODIFY"}  # e.g. marked reversed_by
        assert not event_filter.matches_any(filters, modify), name


def test_the_projector_and_the_domain_events_read_a_keyed_entry_by_its_attributes():
    entry = entry_of(keyed_image())
    assert entry is not None and (entry.tenant, entry.user_id, entry.kind, entry.amount) == (T, "ann", "xp", 60)
    coin = entry_of(keyed_image(ledger_sk="2026-11-21T12:00:00.000000Z#e1#COIN", type="coins", amount=10,
                                reason="daily_login"))  # fmt: skip
    assert coin is not None and (coin.kind, coin.amount) == ("coins", 10)
    assert entry_of({"pk": f"T#{T}#IDEM#s1", "sk": "IDEM", "fingerprint": "f"}) is None
    events = derive(load_rules(), "INSERT", keyed_image(), keys.keyed_entry_id("k1"))
    assert [(e["type"], e["user_id"], e["tenant"]) for e in events] == [("xp.awarded", "ann", T), ("level.up", "ann", T)]
    assert events[0]["data"]["entry_id"] == keys.keyed_entry_id("k1")
    assert derive(load_rules(), "INSERT", {"pk": f"T#{T}#IDEM#s1", "sk": "IDEM", "fingerprint": "f"}, None) == []


def test_history_cursors_are_gsi_keys_of_either_kind_and_old_typed_cursors_still_work():
    pk = keys.user_pk(T, "ann")

    def index_sk(key):
        return keys.ledger_index(key).get("ledger_sk")

    keyed = {"pk": f"T#{T}#IDEM#k1", "sk": "IDEM", "ledger_pk": pk, "ledger_sk": "2026-11-21T12:00:00.000000Z#e1#COIN"}
    for type_filter in (None, "xp", "coins"):
        assert decode_cursor(encode_cursor(type_filter, keyed), type_filter, pk, index_sk) == (keyed, 0)
    assert decode_cursor(encode_cursor(None, keyed, 1), None, pk, index_sk) == (keyed, 1)  # inside an item
    sk = "XP#2026-11-21T12:00:00.000000Z#e2"
    old = {"pk": pk, "sk": sk}
    assert decode_cursor(encode_cursor("xp", old), "xp", pk, index_sk) == ({**old, **keys.ledger_index(old)}, 0)
    for skip in (2, -1, True, "1"):
        with pytest.raises(ValidationFailed):
            decode_cursor(encode_cursor(None, keyed, skip), None, pk, index_sk)
    for bad in ({**keyed, "ledger_pk": keys.user_pk(T, "bob")}, {**keyed, "pk": "T#other#IDEM#k1"},
                {**keyed, "ledger_sk": "x"}, {**keyed, "sk": "PROFILE"}):  # fmt: skip
        with pytest.raises(ValidationFailed):
            decode_cursor(encode_cursor(None, bad), None, pk, index_sk)


def test_an_answer_too_large_to_share_a_write_unit_keeps_entry_and_record_apart(engine, store):
    """The first create_character unlocks an achievement: with long ids its answer is too
    large for one 1 KB item with the entry, so the entry stays in the user's partition next
    to the record (two items under 1 KB cost less than one over it); the replay is the same."""
    user, key = "dee-" + "d" * 60, "k1-" + "k" * 60
    out = engine.award_xp(T, user, AwardXpRequest(action="create_character"), key)
    assert out.result.achievements_unlocked
    record = record_of(store, key)
    assert "ledger_sk" not in record and ledger_kind(record) is None
    assert [v["idempotency_key"] for k, v in store.items.items() if k[1].startswith("XP#")
            and v.get("idempotency_key")] == [key]  # fmt: skip
    assert engine.award_xp(T, user, AwardXpRequest(action="create_character"), key).body == out.body
    # The same award with short ids fits: one item.
    engine.award_xp(T, "dee", AwardXpRequest(action="create_character"), "k1")
    assert ledger_kind(record_of(store, "k1")) == "xp"


def test_the_size_that_decides_the_layout_is_at_least_what_dynamodb_counts(engine, store):
    engine.award_xp(T, "eve", AwardXpRequest(action="create_character", metadata={"a": [1, 2.5, {"b": None}]}), "k1")
    engine.award_xp(T, "eve", AwardXpRequest(action="forked"), "k2")
    for (pk, sk), item in store.items.items():
        key = {"pk": pk, "sk": sk}
        attrs = {k: v for k, v in item.items() if k not in key}
        assert items.stored_size((key, attrs)) >= item_size(marshal(item)), (pk, sk)
