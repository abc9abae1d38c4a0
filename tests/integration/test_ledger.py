"""Ledger history, spending coins and reversals over HTTP against the local stack."""

from __future__ import annotations

import base64
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest

from gamification import runtime
from gamification.usecases.ledger import Ledger

NOON = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)


def race(n, fn):
    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(fn, range(n)))


def all_pages(api, user, **params):
    entries, cursor, pages = [], None, 0
    while True:
        resp = api.get(f"/v1/users/{user}/ledger", **params, **({"cursor": cursor} if cursor else {}))
        assert resp.status_code == 200, resp.text
        body = resp.json()
        entries += body["entries"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return entries, pages


# ---- history -------------------------------------------------------------------------------


def test_history_lists_both_types_newest_first_with_every_field(api, clock):
    clock.set(NOON)
    assert api.xp("ann", "create_character", key="k-1", metadata={"character_id": 7}).status_code == 200
    clock.set(NOON + timedelta(minutes=1))
    assert api.coins("ann", "daily_login").status_code == 200
    body = api.get("/v1/users/ann/ledger").json()
    assert body["next_cursor"] is None
    kinds = [(e["type"], e["reason"], e["amount"]) for e in body["entries"]]
    # An award and its xp_bonus coins share their time; the award lists first.
    assert kinds == [("coins", "daily_login", 10), ("xp", "create_character", 30), ("coins", "xp_bonus", 3)]
    xp = body["entries"][1]
    assert xp["action"] == "create_character" and xp["idempotency_key"] == "k-1"
    assert xp["metadata"] == {"character_id": 7}
    assert xp["occurred_at"] == "2026-11-21T12:00:00.000000Z" and xp["recorded_at"]
    assert {e["entry_id"] for e in body["entries"]}.__len__() == 3
    only_xp = api.get("/v1/users/ann/ledger", type="xp").json()["entries"]
    assert [e["type"] for e in only_xp] == ["xp"]
    coins = api.get("/v1/users/ann/ledger", type="coins").json()["entries"]
    assert [e["reason"] for e in coins] == ["daily_login", "xp_bonus"]


def test_a_page_that_holds_the_last_entry_has_no_next_cursor(api, clock):
    clock.set(NOON)
    assert api.coins("full", "daily_login").status_code == 200
    assert api.coins("full", "daily_goal", tier="easy").status_code == 200
    for params in ({"limit": 2}, {"limit": 2, "type": "coins"}):
        body = api.get("/v1/users/full/ledger", **params).json()
        assert len(body["entries"]) == 2 and body["next_cursor"] is None, (params, body)
    first = api.get("/v1/users/full/ledger", limit=1).json()
    last = api.get("/v1/users/full/ledger", limit=1, cursor=first["next_cursor"]).json()
    assert len(last["entries"]) == 1 and last["next_cursor"] is None


def test_an_unknown_user_has_an_empty_ledger(api):
    assert api.get("/v1/users/nobody/ledger").json() == {"user_id": "nobody", "entries": [], "next_cursor": None}


def test_cursor_paging_over_hundreds_of_entries_merges_types_in_time_order(api, clock, tenant):
    ledger = Ledger(runtime.engine())
    # Coin adjustments interleaved in time with XP awards over two days (the daily cap
    # bounds XP per day): a few hundred entries of both types.
    expected = 0
    for day in (1, 0):
        t0 = NOON - timedelta(days=day)
        for i in range(80):
            clock.set(t0 + timedelta(seconds=2 * i))
            ledger.adjust(tenant.id, "pager", 1, f"grant {i}")
            expected += 1
            if i < 20:
                clock.set(t0 + timedelta(seconds=2 * i + 1))
                resp = api.xp("pager", "forked")
                if resp.status_code == 200:
                    expected += 1 + (resp.json()["coins_awarded"] > 0)
    clock.set(NOON + timedelta(minutes=5))
    assert expected > 200
    entries, pages = all_pages(api, "pager", limit=37)
    assert len(entries) == expected
    order = [(e["occurred_at"], e["type"] == "xp") for e in entries]
    assert order == sorted(order, reverse=True)  # newest first; an award before its bonus
    assert len({e["entry_id"] for e in entries}) == len(entries)
    assert pages == -(-expected // 37)  # a full last page says it is the last (next_cursor null)
    xp_only, _ = all_pages(api, "pager", type="xp", limit=100)
    coins_only, _ = all_pages(api, "pager", type="coins", limit=7)
    assert {e["entry_id"] for e in xp_only} | {e["entry_id"] for e in coins_only} == {e["entry_id"] for e in entries}
    assert all(e["type"] == "xp" for e in xp_only) and all(e["type"] == "coins" for e in coins_only)
    assert [e["entry_id"] for e in entries if e["type"] == "coins"] == [e["entry_id"] for e in coins_only]


@pytest.mark.parametrize(
    "cursor",
    [
        "not-base64!",
        base64.urlsafe_b64encode(b"[1,2]").decode(),
        base64.urlsafe_b64encode(json.dumps({"v": 1, "t": "all", "k": {"pk": "T#x#U#eve", "sk": "XP#a"}}).encode()).decode(),
    ],
)
def test_a_tampered_cursor_is_400(api, clock, cursor):
    assert api.get("/v1/users/ann/ledger", cursor=cursor).status_code == 400


def test_a_cursor_of_another_user_or_filter_is_400(api, clock):
    clock.set(NOON)
    for i in range(3):
        api.coins("bob", "variant_clear", scope=f"v{i}")
    cursor = api.get("/v1/users/bob/ledger", limit=1).json()["next_cursor"]
    assert cursor
    assert api.get("/v1/users/bob/ledger", limit=1, cursor=cursor).status_code == 200
    other = api.get("/v1/users/carl/ledger", limit=1, cursor=cursor)
    assert other.status_code == 400 and other.json()["error"]["code"] == "validation_error"
    assert api.get("/v1/users/bob/ledger", limit=1, type="coins", cursor=cursor).status_code == 400
    # Edit the key inside the cursor: still refused.
    raw = json.loads(base64.urlsafe_b64decode(cursor + "=="))
    raw["k"]["ledger_sk"] = "2020-01-01T00:00:00.000000Z#x#COIN"
    forged = base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")
    assert api.get("/v1/users/bob/ledger", cursor=forged).status_code == 400


@pytest.mark.parametrize("params", [{"type": "gems"}, {"limit": 0}, {"limit": 101}, {"limit": "x"}])
def test_bad_history_queries_are_400(api, params):
    resp = api.get("/v1/users/ann/ledger", **params)
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "validation_error"


# ---- spending ------------------------------------------------------------------------------


def test_spend_takes_coins_off_and_ledgers_it(api, clock, dynamo, tenant):
    clock.set(NOON)
    api.coins("sam", "daily_login")  # 10
    clock.set(NOON + timedelta(seconds=1))
    resp = api.post("/v1/users/sam/coins/spend", {"amount": 4, "reason": "shop", "item": "hat-3"}, key="buy-1")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["spent"] == 4 and body["balance"] == 6 and body["item"] == "hat-3"
    again = api.post("/v1/users/sam/coins/spend", {"amount": 4, "reason": "shop", "item": "hat-3"}, key="buy-1")
    assert again.json() == body and again.headers.get("Idempotent-Replayed") == "true"
    assert api.get("/v1/users/sam").json()["coins_balance"] == 6
    top = api.get("/v1/users/sam/ledger", type="coins").json()["entries"][0]
    assert top["entry_id"] == body["entry_id"] and top["amount"] == -4 and top["kind"] == "spend"
    assert top["item"] == "hat-3" and top["idempotency_key"] == "buy-1"


def test_spending_more_than_the_balance_is_409_and_writes_nothing(api, clock, dynamo, tenant):
    clock.set(NOON)
    api.coins("poor", "daily_login")
    before = dynamo.snapshot(tenant.id)
    resp = api.post("/v1/users/poor/coins/spend", {"amount": 11, "reason": "shop"}, key="too-much")
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "insufficient_coins"
    assert resp.json()["error"]["balance"] == 10
    assert dynamo.snapshot(tenant.id) == before
    assert api.post("/v1/users/newbie/coins/spend", {"amount": 1, "reason": "shop"}).status_code == 409


@pytest.mark.parametrize(
    "body",
    [{"amount": 0, "reason": "shop"}, {"amount": -5, "reason": "shop"}, {"amount": "5", "reason": "shop"},
     {"amount": 10**9, "reason": "shop"}, {"reason": "shop"}, {"amount": 1}, {"amount": 1, "reason": "shop", "x": 1},
     {"amount": 1, "reason": "shop", "item": "a#b"}, [1]],
)  # fmt: skip
def test_bad_spends_are_400_and_write_nothing(api, clock, dynamo, tenant, body):
    clock.set(NOON)
    api.coins("rich", "daily_login")
    before = dynamo.snapshot(tenant.id)
    resp = api.post("/v1/users/rich/coins/spend", body)
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "validation_error"
    assert dynamo.snapshot(tenant.id) == before


@pytest.mark.race
def test_racing_spends_never_overdraw(api, clock, tenant):
    clock.set(NOON)
    api.coins("racer", "daily_login")  # 10
    api.coins("racer", "variant_clear", scope="v1")  # +30 = 40
    results = race(16, lambda i: api.post("/v1/users/racer/coins/spend", {"amount": 7, "reason": "shop"}))
    codes = sorted(r.status_code for r in results)
    assert codes == [200] * 5 + [409] * 11, [r.text for r in results]  # 5 * 7 = 35 <= 40 < 42
    assert sorted(r.json()["balance"] for r in results if r.status_code == 200) == [5, 12, 19, 26, 33]
    assert api.get("/v1/users/racer").json()["coins_balance"] == 5
    spends = [e for e in api.get("/v1/users/racer/ledger", type="coins").json()["entries"] if e["kind"] == "spend"]
    assert len(spends) == 5


def test_operator_adjustments_grant_and_deduct_with_a_reason(api, tenant):
    ledger = Ledger(runtime.engine())
    assert ledger.adjust(tenant.id, "opd", 50, "support ticket 12", operator="kim").body["balance"] == 50
    assert ledger.adjust(tenant.id, "opd", -20, "chargeback").body["balance"] == 30
    from gamification.domain.ledger import InsufficientCoins

    with pytest.raises(InsufficientCoins):
        ledger.adjust(tenant.id, "opd", -31, "too much")
    entries = api.get("/v1/users/opd/ledger").json()["entries"]
    assert [(e["amount"], e["reason"], e["kind"]) for e in entries] == [
        (-20, "chargeback", "adjustment"), (50, "support ticket 12", "adjustment")]  # fmt: skip


# ---- dashboard -----------------------------------------------------------------------------


def test_the_dashboard_shows_profile_ranks_and_recent_entries(api, clock, boards_projected):
    clock.set(NOON)
    api.xp("dash", "paid_char_sold")
    api.xp("dash2", "paid_char_sold")
    api.xp("dash2", "forked")
    body = api.get("/v1/users/dash/dashboard").json()
    assert body["profile"]["total_xp"] == 50 and body["profile"]["coins_balance"] == 5
    assert [(b["board"], b["period"], b["rank"], b["score"]) for b in body["boards"]] == [
        ("xp", p, 2, 50) for p in ("daily", "weekly", "monthly", "all_time")]  # fmt: skip
    assert [e["reason"] for e in body["recent_entries"]] == ["paid_char_sold", "xp_bonus"]
    assert body["streak"] == {"current": 1, "longest": 1, "last_active_date": "2026-11-21"} and body["recent_unlocks"] == []
    new = api.get("/v1/users/fresh/dashboard").json()
    assert new["profile"]["total_xp"] == 0 and all(b["rank"] is None for b in new["boards"])
