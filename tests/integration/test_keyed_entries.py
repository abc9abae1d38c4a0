"""A keyed award's ledger entry is its idempotency record (docs/benchmarks.md, "Award items:
a keyed award's ledger entry is its idempotency record"): 3 items for a keyed award as for an
unkeyed one, and everything that reads a user's ledger sees the keyed entries: history pages
(typed and untyped), reversals (bonus coins, boards, already_reversed), the stream
consumers (boards, domain events), board rebuilds and erasure."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from gamification import runtime
from gamification.dal import keys
from gamification.usecases.board_rebuild import BoardRebuild
from tests.integration.test_board_rebuild import PERIODS, board_items

NOON = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)


def user_items(dynamo, tenant, user):
    return [i for i in dynamo.items(tenant) if i["pk"] == keys.user_pk(tenant, user)]


def record(dynamo, tenant, key):
    return next((i for i in dynamo.items(tenant) if i["pk"] == keys.idempotency_key(tenant, key)["pk"]), None)


def entries(api, user, **params):
    resp = api.get(f"/v1/users/{user}/ledger", **params)
    assert resp.status_code == 200, resp.text
    return resp.json()


def reverse(api, user, entry_id, key=None):
    return api.post(f"/v1/users/{user}/ledger/{entry_id}/reversal", {"reason": "fraud"}, key=key)


def test_a_keyed_award_writes_its_entry_as_the_record_and_the_ledger_lists_it(api, clock, dynamo, tenant):
    clock.set(NOON)
    assert api.xp("kay", "forked", key="kay-0").status_code == 200  # the profile exists
    before = {(i["pk"], i["sk"]) for i in dynamo.items(tenant.id)}
    clock.set(NOON + timedelta(minutes=1))
    first = api.xp("kay", "character_liked", key="kay-1", metadata={"post": 7})  # 10 -> 15 XP: no coin
    assert first.status_code == 200, first.text
    written = [i for i in dynamo.items(tenant.id) if (i["pk"], i["sk"]) not in before]
    # 3 items: the record (which is the XP entry) and the two running totals updated in place.
    assert [(i["pk"], i["sk"]) for i in written] == [(f"T#{tenant.id}#IDEM#kay-1", "IDEM")]
    assert not [i for i in user_items(dynamo, tenant.id, "kay") if i["sk"].startswith("XP#")
                and i.get("idempotency_key") == "kay-1"]  # fmt: skip
    entry = written[0]
    body = first.json()
    assert entry["ledger_pk"] == keys.user_pk(tenant.id, "kay")
    assert entry["ledger_sk"] == f"{body['occurred_at']}#{body['event_id']}#XP"
    assert (entry["type"], entry["user_id"], entry["action"], entry["xp"], entry["total_xp"]) == ("xp", "kay", "character_liked", 5, 15)
    assert entry["idempotency_key"] == "kay-1" and json.loads(entry["metadata"]) == {"post": 7}
    assert "fingerprint" in entry and "response_z" in entry
    # Listed as a ledger entry with an opaque id, in both pages; a replay reads the same item.
    top = entries(api, "kay")["entries"][0]
    assert top == entries(api, "kay", type="xp")["entries"][0]
    assert (top["amount"], top["reason"], top["idempotency_key"], top["metadata"]) == (5, "character_liked", "kay-1", {"post": 7})
    assert top["entry_id"] == keys.keyed_entry_id("kay-1")
    again = api.xp("kay", "character_liked", key="kay-1", metadata={"post": 7})
    assert again.headers["Idempotent-Replayed"] == "true" and again.json() == body
    assert api.xp("other", "character_liked", key="kay-1", metadata={"post": 7}).status_code == 422


def test_typed_pages_list_keyed_and_unkeyed_entries_of_their_type_newest_first(api, clock):
    expected = {"xp": [], "coins": []}
    for i in range(9):
        clock.set(NOON + timedelta(minutes=i))
        key = f"tp-{i}" if i % 3 else None  # two keyed awards of three
        if i % 4 == 3:
            resp = api.coins("tp", "daily_login", key=key) if i == 3 else api.coins("tp", "daily_goal", key=key, tier="easy")
            assert resp.status_code == 200, resp.text
            expected["coins"].append(resp.json()["event_id"])
        else:
            resp = api.xp("tp", "forked", key=key)  # 10 XP: one xp_bonus coin each
            expected["xp"].append(resp.json()["event_id"])
        assert resp.status_code == 200, resp.text
    for kind in ("xp", "coins"):
        seen, cursor = [], None
        for _ in range(20):
            page = entries(api, "tp", type=kind, limit=2, **({"cursor": cursor} if cursor else {}))
            assert len(page["entries"]) <= 2
            seen += page["entries"]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert {e["type"] for e in seen} == {kind}
        assert [e["occurred_at"] for e in seen] == sorted((e["occurred_at"] for e in seen), reverse=True)
        assert len({e["entry_id"] for e in seen}) == len(seen)
        if kind == "xp":
            assert len(seen) == len(expected["xp"]) and all(e["reason"] == "forked" for e in seen)
        else:  # the rewards and every forked award's xp_bonus coin
            assert sorted(e["reason"] for e in seen) == ["daily_goal", "daily_login"] + ["xp_bonus"] * 7
    everything = entries(api, "tp", limit=100)["entries"]
    assert len(everything) == 7 + 2 + 7
    assert sum(e["entry_id"] == keys.keyed_entry_id(e["idempotency_key"] or "-") for e in everything) == 6


@pytest.mark.usefixtures("boards_projected")
def test_reversing_a_keyed_award_takes_back_its_bonus_and_its_boards(api, clock, dynamo, tenant):
    clock.set(NOON)
    api.xp("rk", "paid_char_sold", key="rk-1")  # 50: 5 coins
    clock.set(NOON + timedelta(minutes=1))
    up = api.xp("rk", "paid_char_sold", key="rk-2").json()  # 100: level 2, 5 coins more
    assert up["leveled_up"] and up["coins_balance"] == 10
    board = api.get("/v1/leaderboards/xp", period="daily", user_id="rk").json()
    assert board["user"]["score"] == 100
    award = entries(api, "rk", type="xp")["entries"][0]
    assert award["entry_id"] == keys.keyed_entry_id("rk-2")
    resp = reverse(api, "rk", award["entry_id"], key="rk-rev")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["amount"], body["coins_reversed"], body["total_xp"], body["level"]) == (-50, -5, 50, 1)
    assert body["bonus_entry_id"] and body["reverses"] == award["entry_id"]
    assert api.get("/v1/leaderboards/xp", period="daily", user_id="rk").json()["user"]["score"] == 50
    assert record(dynamo, tenant.id, "rk-2")["reversed_by"] == body["entry_id"]
    listed = {e["entry_id"]: e for e in entries(api, "rk", limit=100)["entries"]}
    assert listed[award["entry_id"]]["reversed_by"] == body["entry_id"]
    assert listed[body["entry_id"]]["reverses"] == award["entry_id"]
    # The award's own key still replays its first answer; a second reversal is refused.
    assert api.xp("rk", "paid_char_sold", key="rk-2").json() == up
    assert reverse(api, "rk", award["entry_id"], key="rk-rev").json() == body
    second = reverse(api, "rk", award["entry_id"])
    assert second.status_code == 409 and second.json()["error"]["code"] == "already_reversed"
    # The award's key on the reversal route is another request: 422, nothing reversed.
    reused = reverse(api, "rk", keys.keyed_entry_id("rk-1"), key="rk-1")
    assert reused.status_code == 422 and reused.json()["error"]["code"] == "idempotency_key_reused"


def test_a_keyed_entry_id_reverses_only_a_ledger_entry_of_its_own_user(api, clock):
    clock.set(NOON)
    api.xp("own", "forked", key="own-1")
    spent = api.post("/v1/users/own/coins/spend", {"amount": 1, "reason": "shop"}, key="own-spend")
    assert spent.status_code == 200, spent.text
    for user, entry_id in [
        ("thief", keys.keyed_entry_id("own-1")),  # another user's keyed entry
        ("own", keys.keyed_entry_id("own-spend")),  # a plain idempotency record, not an entry
        ("own", keys.keyed_entry_id("nothing")),
        ("own", keys.entry_id("K#")),
    ]:
        resp = reverse(api, user, entry_id)
        assert resp.status_code == 404 and resp.json()["error"]["code"] == "entry_not_found", (entry_id, resp.text)
    assert reverse(api, "own", keys.keyed_entry_id("own-1")).status_code == 200


def test_keyed_entries_reach_the_domain_events(api, clock, streams):
    clock.set(NOON)
    api.xp("ev", "paid_char_sold", key="ev-1")
    assert api.xp("ev", "paid_char_sold", key="ev-2").json()["leveled_up"]
    api.post("/v1/users/ev/coins/spend", {"amount": 1, "reason": "shop"}, key="ev-spend")
    streams.wait_until_drained()
    notes = api.get("/v1/users/ev/notifications").json()["notifications"]
    assert [n["type"] for n in notes] == ["level.up"]


def test_a_rebuild_counts_keyed_entries_as_the_projection_does(api, clock, tenant, dynamo, streams):
    clock.set(NOON)
    for i, action in enumerate(["forked", "create_character", "paid_char_sold", "forked"] * 2):
        assert api.xp(f"r{i % 3}", action, key=f"rb-{i}" if i % 2 else None).status_code == 200
    streams.wait_until_drained()
    live = board_items(dynamo, tenant.id)
    assert live
    engine = runtime.engine()
    for period, key in PERIODS.items():
        assert BoardRebuild(engine.rules, engine.store).run(tenant.id, "xp", period, key, now=NOON).done
    assert board_items(dynamo, tenant.id) == live


def test_erasing_a_user_deletes_its_keyed_entries(api, clock, dynamo, tenant, boards_projected):
    clock.set(NOON)
    api.xp("er", "forked", key="er-1")
    api.coins("er", "daily_login", key="er-2")
    api.xp("er", "forked")
    assert record(dynamo, tenant.id, "er-1") and record(dynamo, tenant.id, "er-2")
    assert api.get("/v1/leaderboards/xp", period="daily", user_id="er").json()["user"]["score"] == 20  # projected
    resp = api.session.delete(f"{api.base}/v1/users/er", timeout=30)
    assert resp.status_code == 200, resp.text
    assert resp.json()["items_deleted"] >= 2 + 4  # the keyed entries and the partition's items
    left = [i for i in dynamo.items(tenant.id) if "er" in (i.get("user_id"), i.get("pk", "").rsplit("#", 1)[-1])
            or i.get("ledger_pk") == keys.user_pk(tenant.id, "er")]  # fmt: skip
    assert left == []
    assert record(dynamo, tenant.id, "er-1") is None and record(dynamo, tenant.id, "er-2") is None
