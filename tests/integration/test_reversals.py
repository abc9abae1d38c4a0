"""Reversals: the compensating entry moves balances, the day's usage and the boards back,
once, idempotently, in one transaction."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from gamification.domain.rules import parse_rules

NOON = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)
pytestmark = pytest.mark.usefixtures("boards_projected")  # boards are the ledger's projection
#: Reputation (start 1, floor 1) with an XP board, to see what a floored reversal moves.
STACKEXCHANGE = Path(__file__).parents[2] / "examples" / "stackexchange" / "rules.yaml"
XP_BOARD = {"xp": {"metric": "xp", "periods": ["daily", "all_time"]}}
FLOOR_RULES = parse_rules({**yaml.safe_load(STACKEXCHANGE.read_text()), "leaderboards": XP_BOARD})


def entries(api, user, **params):
    return api.get(f"/v1/users/{user}/ledger", **params).json()["entries"]


def reverse(api, user, entry_id, reason="fraud", key=None):
    return api.post(f"/v1/users/{user}/ledger/{entry_id}/reversal", {"reason": reason}, key=key)


def board(api, user, period="daily"):
    return api.get("/v1/leaderboards/xp", period=period, user_id=user).json()


def test_reversing_an_award_that_moved_a_board_and_levelled_up_levels_down(api, clock):
    clock.set(NOON)
    api.xp("lev", "paid_char_sold")  # 50
    api.xp("rival", "paid_char_sold")
    api.xp("rival", "create_character")  # rival 80
    up = api.xp("lev", "paid_char_sold").json()  # 100: level 2, board rank 1
    assert up["leveled_up"] and up["level"] == 2 and up["coins_balance"] == 10
    assert board(api, "lev")["user"] == {"user_id": "lev", "rank": 1, "score": 100}
    award = entries(api, "lev", type="xp")[0]
    clock.set(NOON + timedelta(minutes=10))
    resp = reverse(api, "lev", award["entry_id"], key="rev-1")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["amount"] == -50 and body["total_xp"] == 50 and body["level"] == 1
    assert body["coins_reversed"] == -5 and body["coins_balance"] == 5 and body["bonus_entry_id"]
    profile = api.get("/v1/users/lev").json()
    assert profile["total_xp"] == 50 and profile["level"] == 1 and profile["coins_balance"] == 5
    for period in ("daily", "weekly", "monthly", "all_time"):
        b = board(api, "lev", period)
        assert b["user"] == {"user_id": "lev", "rank": 2, "score": 50}, (period, b)
        assert [e["user_id"] for e in b["entries"]] == ["rival", "lev"]
    limits = api.get("/v1/users/lev/limits").json()
    assert limits["xp_gained"] == 50 and limits["actions"]["paid_char_sold"]["count"] == 1
    # The ledger shows the reversal (XP and its bonus coins) and links both ways.
    top = entries(api, "lev")
    assert [(e["type"], e["amount"], e["kind"]) for e in top[:2]] == [("xp", -50, "reversal"), ("coins", -5, "reversal")]
    assert top[0]["reverses"] == award["entry_id"] and top[0]["reason"] == "fraud"
    original = next(e for e in top if e["entry_id"] == award["entry_id"])
    assert original["reversed_by"] == body["entry_id"]
    # Same key: replayed. Another attempt: 409 already_reversed. Reversing the reversal: 409.
    again = reverse(api, "lev", award["entry_id"], key="rev-1")
    assert again.json() == body and again.headers.get("Idempotent-Replayed") == "true"
    second = reverse(api, "lev", award["entry_id"])
    assert second.status_code == 409 and second.json()["error"]["code"] == "already_reversed"
    undo = reverse(api, "lev", body["entry_id"])
    assert undo.status_code == 409 and undo.json()["error"]["code"] == "not_reversible"
    bonus = reverse(api, "lev", body["bonus_entry_id"])
    assert bonus.status_code == 409 and bonus.json()["error"]["code"] == "not_reversible"


def test_a_reversal_frees_the_days_limit_and_cap_again(api, clock):
    clock.set(NOON)
    api.xp("lim", "create_character")
    api.xp("lim", "create_character")
    assert api.xp("lim", "create_character").status_code == 429
    last = entries(api, "lim", type="xp")[0]
    assert reverse(api, "lim", last["entry_id"]).status_code == 200
    assert api.xp("lim", "create_character").status_code == 200
    assert api.get("/v1/users/lim").json()["total_xp"] == 60


def test_reversing_a_coin_reward_and_a_spend(api, clock):
    clock.set(NOON)
    api.coins("cr", "daily_login")
    api.coins("cr", "variant_clear", scope="v1")  # 40
    spent = api.post("/v1/users/cr/coins/spend", {"amount": 15, "reason": "shop"}).json()
    assert spent["balance"] == 25
    refund = reverse(api, "cr", spent["entry_id"], reason="refund").json()
    assert refund["amount"] == 15 and refund["coins_balance"] == 40
    login = next(e for e in entries(api, "cr") if e["reason"] == "daily_login")
    assert reverse(api, "cr", login["entry_id"]).json()["coins_balance"] == 30
    # Once-markers stay: the reward is not paid twice in its window after a reversal.
    assert api.coins("cr", "daily_login").json()["awarded"] is False


def test_racing_reversals_of_one_entry_reverse_once(api, clock):
    clock.set(NOON)
    api.xp("rr", "forked")
    entry = entries(api, "rr", type="xp")[0]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: reverse(api, "rr", entry["entry_id"]), range(8)))
    codes = sorted(r.status_code for r in results)
    assert codes == [200] + [409] * 7, [r.text for r in results]
    assert api.get("/v1/users/rr").json()["total_xp"] == 0
    assert sum(e["kind"] == "reversal" for e in entries(api, "rr", type="xp")) == 1


@pytest.mark.parametrize(
    "entry_id, body, status",
    [
        ("WFAjbm9wZQ", {"reason": "x"}, 404),  # base64 of "XP#nope": not a valid entry key
        ("bm90LWFuLWVudHJ5", {"reason": "x"}, 404),
        ("a%23b", {"reason": "x"}, 400),
        ("ok", {}, 400),
        ("ok", {"reason": ""}, 400),
        ("ok", {"reason": 5}, 400),
    ],
)
def test_bad_reversals_write_nothing(api, clock, dynamo, tenant, entry_id, body, status):
    clock.set(NOON)
    api.xp("bad", "forked")
    before = dynamo.snapshot(tenant.id)
    resp = api.post(f"/v1/users/bad/ledger/{entry_id}/reversal", body)
    assert resp.status_code == status, resp.text
    assert dynamo.snapshot(tenant.id) == before


def test_an_entry_of_another_user_is_404(api, clock):
    clock.set(NOON)
    api.xp("owner", "forked")
    entry = entries(api, "owner", type="xp")[0]
    resp = reverse(api, "thief", entry["entry_id"])
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "entry_not_found"


def test_a_reversal_after_a_floored_penalty_keeps_the_total_at_the_floor(api, clock, use_rules):
    clock.set(NOON)
    use_rules(FLOOR_RULES)
    assert api.xp("rep", "answer_upvoted").json()["total_xp"] == 11
    upvote = entries(api, "rep", type="xp")[0]
    clock.set(NOON + timedelta(minutes=1))
    penalty = api.xp("rep", "bounty_offered", amount=-500).json()
    assert (penalty["xp_awarded"], penalty["total_xp"], penalty["floored"]) == (-10, 1, True)
    clock.set(NOON + timedelta(minutes=2))
    resp = reverse(api, "rep", upvote["entry_id"])
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["amount"], body["total_xp"], body["floored"], body["boards"]) == (0, 1, True, [])
    assert api.get("/v1/users/rep").json()["total_xp"] == 1
    top = entries(api, "rep", type="xp")[0]
    assert (top["entry_id"], top["amount"], top["kind"]) == (body["entry_id"], 0, "reversal")
    assert board(api, "rep", "all_time")["user"]["score"] == 0  # +10 -10 +0: the entries' sum
    again = reverse(api, "rep", upvote["entry_id"])
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_reversed"


def test_a_reversal_cut_by_the_floor_moves_the_day_and_the_boards_by_what_it_took(api, clock, use_rules):
    clock.set(NOON)
    use_rules(FLOOR_RULES)
    api.xp("cut", "answer_upvoted")  # 11
    upvote = entries(api, "cut", type="xp")[0]
    clock.set(NOON + timedelta(minutes=1))
    api.xp("cut", "downvoted")  # 9
    clock.set(NOON + timedelta(minutes=2))
    body = reverse(api, "cut", upvote["entry_id"]).json()
    assert (body["amount"], body["total_xp"], body["floored"]) == (-8, 1, True)
    moved = [(b["board"], b["period"], b["delta"]) for b in body["boards"]]
    assert moved == [("xp", "daily", -8), ("xp", "all_time", -8)]
    for period in ("daily", "all_time"):
        assert board(api, "cut", period)["user"]["score"] == 0  # 10 - 2 - 8
    limits = api.get("/v1/users/cut/limits").json()
    assert limits["xp_gained"] == 0 and limits["actions"]["answer_upvoted"]["count"] == 0
    assert sum(e["amount"] for e in entries(api, "cut", type="xp")) == 1


def topic(api, user, name):
    return next(t for t in api.get(f"/v1/users/{user}/topics").json()["topics"] if t["topic"] == name)


def attempt(api, user, name, task):
    return api.post(f"/v1/users/{user}/topics/{name}/attempts", {"task_id": task, "correct": True})


def test_reversing_a_topic_attempt_takes_its_xp_back_from_the_topic(api, clock, dynamo, tenant):
    for i in range(5):  # 50 XP: whole_numbers level 2 unlocks fractions
        clock.set(NOON + timedelta(minutes=i))
        assert attempt(api, "kid", "whole_numbers", f"t{i}").status_code == 200
    assert topic(api, "kid", "fractions")["locked"] is False
    last = entries(api, "kid", type="xp")[0]
    assert last["reason"] == "topic:whole_numbers" and last["amount"] == 10
    clock.set(NOON + timedelta(minutes=10))
    resp = reverse(api, "kid", last["entry_id"])
    assert resp.status_code == 200, resp.text
    assert (resp.json()["amount"], resp.json()["total_xp"]) == (-10, 40)
    whole = topic(api, "kid", "whole_numbers")
    assert (whole["xp"], whole["level"]) == (40, 1)
    fractions = topic(api, "kid", "fractions")
    assert fractions["locked"] is True and fractions["missing_prerequisites"] == ["whole_numbers"]
    locked = attempt(api, "kid", "fractions", "f1")
    assert locked.status_code == 409 and locked.json()["error"]["code"] == "topic_locked"
    again = reverse(api, "kid", last["entry_id"])
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_reversed"
    # The sum of the topic's ledger entries is its XP, as on the topic item.
    topic_entries = [e for e in dynamo.ledger(tenant.id) if e.get("topic") == "whole_numbers"]
    assert sum(int(e["xp"]) for e in topic_entries) == topic(api, "kid", "whole_numbers")["xp"] == 40
    assert api.get("/v1/users/kid").json()["total_xp"] == 40


@pytest.mark.race
def test_a_topic_reversal_racing_attempts_on_its_topic_moves_the_topic_once(api, clock, dynamo, tenant):
    clock.set(NOON)
    attempt(api, "race", "whole_numbers", "t0")
    entry = entries(api, "race", type="xp")[0]
    clock.set(NOON + timedelta(minutes=1))

    def call(i):
        return reverse(api, "race", entry["entry_id"]) if i % 2 else attempt(api, "race", "whole_numbers", f"r{i}")

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(call, range(8)))
    reversals = sorted(r.status_code for i, r in enumerate(results) if i % 2)
    assert reversals == [200, 409, 409, 409], [r.text for r in results]
    assert all(r.status_code == 200 for i, r in enumerate(results) if not i % 2), [r.text for r in results]
    topic_entries = [e for e in dynamo.ledger(tenant.id) if e.get("topic") == "whole_numbers"]
    xp = topic(api, "race", "whole_numbers")["xp"]
    assert sum(int(e["xp"]) for e in topic_entries) == xp == 40  # 4 racing attempts of 10; t0 taken back
    assert api.get("/v1/users/race").json()["total_xp"] == 40
