"""The ``xp_bonus`` coins of an XP award ride on its XP ledger entry (one item written, not
two), and every read still sees them as a coin entry of their own: history and its
cursors, the ``coins`` boards and their rebuild, reversals, domain events. Tables written
before keep separate bonus entries; those read and reverse as they always did."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from gamification import runtime
from gamification.dal import keys
from gamification.dal.store import marshal
from gamification.domain.rules import parse_rules
from gamification.usecases.board_rebuild import BoardRebuild

NOON = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)
pytestmark = pytest.mark.usefixtures("boards_projected")
DEFAULT_RULES = Path(__file__).parents[2] / "layers" / "common" / "python" / "gamification" / "default_rules.yaml"


def ledger_items(dynamo, tenant, user):
    """What is stored for the user's ledger: items of the partition and keyed entries."""
    pk = keys.user_pk(tenant, user)
    return [i for i in dynamo.items(tenant) if (i["pk"] == pk and i["sk"].startswith(("XP#", "COIN#")))
            or (i["sk"] == "IDEM" and i.get("ledger_pk") == pk)]  # fmt: skip


def pages(api, user, limit, **params):
    out, cursor = [], None
    while True:
        body = api.get(f"/v1/users/{user}/ledger", limit=limit, **params, **({"cursor": cursor} if cursor else {})).json()
        assert len(body["entries"]) <= limit
        out += body["entries"]
        cursor = body["next_cursor"]
        if cursor is None:
            return out


def test_an_award_that_earns_bonus_coins_stores_one_ledger_item_and_lists_two_entries(api, clock, dynamo, tenant):
    clock.set(NOON)
    keyed = api.xp("cb", "create_character", key="cb-1").json()  # 30 XP: 3 coins
    clock.set(NOON + timedelta(seconds=1))
    plain = api.xp("cb", "create_character").json()
    assert (keyed["coins_awarded"], plain["coins_awarded"], plain["coins_balance"]) == (3, 3, 6)
    stored = ledger_items(dynamo, tenant.id, "cb")
    assert len(stored) == 2 and not [i for i in stored if i["sk"].startswith("COIN#")]
    listed = api.get("/v1/users/cb/ledger").json()["entries"]
    assert [(e["type"], e["reason"], e["amount"]) for e in listed] == [
        ("xp", "create_character", 30), ("coins", "xp_bonus", 3), ("xp", "create_character", 30), ("coins", "xp_bonus", 3),
    ]  # fmt: skip
    # A bonus entry's id is the one a separate coin entry at the award's time and event id has.
    for award, bonus in ((listed[0], listed[1]), (listed[2], listed[3])):
        sk = base64.urlsafe_b64decode(bonus["entry_id"] + "==").decode()
        assert sk == f"COIN#{award['occurred_at']}#" + (plain if award is listed[0] else keyed)["event_id"]
        assert (bonus["occurred_at"], bonus["idempotency_key"]) == (award["occurred_at"], award["idempotency_key"])
    assert listed[3]["idempotency_key"] == "cb-1"
    coins = api.get("/v1/users/cb/ledger", type="coins").json()["entries"]
    assert [e["entry_id"] for e in coins] == [listed[1]["entry_id"], listed[3]["entry_id"]]
    assert [e["entry_id"] for e in api.get("/v1/users/cb/ledger", type="xp").json()["entries"]] == [
        listed[0]["entry_id"], listed[2]["entry_id"]]  # fmt: skip


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_pages_that_end_between_an_award_and_its_bonus_coins_lose_and_repeat_nothing(api, clock, tenant, limit):
    user = f"pg{limit}"
    for i, action in enumerate(["create_character", "daily_chat", "forked", "create_character"]):
        clock.set(NOON + timedelta(seconds=i))
        assert api.xp(user, action, key=f"{user}-{i}" if i % 2 else None).status_code == 200
    clock.set(NOON + timedelta(seconds=9))
    assert api.coins(user, "daily_login").status_code == 200
    whole = api.get(f"/v1/users/{user}/ledger", limit=100).json()["entries"]
    assert len(whole) == 5 + 4  # four awards with their bonus coins, one reward
    assert pages(api, user, limit) == whole
    assert pages(api, user, limit, type="coins") == [e for e in whole if e["type"] == "coins"]


def test_reversing_an_award_takes_its_carried_bonus_back_in_one_compensating_item(api, clock, dynamo, tenant):
    clock.set(NOON)
    api.xp("rv", "paid_char_sold")  # 50 XP, 5 coins
    award, bonus = api.get("/v1/users/rv/ledger").json()["entries"]
    before = len(ledger_items(dynamo, tenant.id, "rv"))
    clock.set(NOON + timedelta(minutes=1))
    body = api.post(f"/v1/users/rv/ledger/{award['entry_id']}/reversal", {"reason": "fraud"}).json()
    assert (body["amount"], body["coins_reversed"], body["coins_balance"]) == (-50, -5, 0)
    assert len(ledger_items(dynamo, tenant.id, "rv")) == before + 1
    listed = api.get("/v1/users/rv/ledger").json()["entries"]
    rev, rev_bonus = listed[0], listed[1]
    assert (rev_bonus["entry_id"], rev_bonus["type"], rev_bonus["amount"]) == (body["bonus_entry_id"], "coins", -5)
    assert (rev_bonus["kind"], rev_bonus["reason"], rev_bonus["reverses"]) == ("reversal", "fraud", bonus["entry_id"])
    assert rev["reverses"] == award["entry_id"]
    by_id = {e["entry_id"]: e for e in listed}
    assert by_id[award["entry_id"]]["reversed_by"] == body["entry_id"]
    assert by_id[bonus["entry_id"]]["reversed_by"] == body["bonus_entry_id"]
    for entry_id in (bonus["entry_id"], body["bonus_entry_id"]):  # carried coins: reverse the award
        resp = api.post(f"/v1/users/rv/ledger/{entry_id}/reversal", {"reason": "again"})
        assert resp.status_code == 409 and resp.json()["error"]["code"] == "not_reversible", resp.text
    assert api.get("/v1/users/rv").json()["coins_balance"] == 0


def test_an_older_award_with_a_separate_bonus_entry_still_reverses(api, clock, dynamo, tenant):
    """A table written before the bonus rode on the XP entry: the same award as two items."""
    clock.set(NOON)
    api.xp("old", "paid_char_sold")
    (item,) = ledger_items(dynamo, tenant.id, "old")
    carried = {k: v for k, v in item.items() if k.startswith("bonus_")}
    client, table = dynamo.client, dynamo.table
    client.update_item(TableName=table, Key=marshal({"pk": item["pk"], "sk": item["sk"]}),
                       UpdateExpression="REMOVE " + ", ".join(carried))  # fmt: skip
    coin_sk = "COIN#" + item["sk"][len("XP#"):]
    separate = {"pk": item["pk"], "sk": coin_sk, **keys.ledger_index({"pk": item["pk"], "sk": coin_sk}), "type": "coins",
                "user_id": "old", "amount": carried["bonus_amount"], "reason": "xp_bonus", "balance": carried["bonus_balance"],
                "occurred_at": item["occurred_at"], "recorded_at": item["recorded_at"]}  # fmt: skip
    client.put_item(TableName=table, Item=marshal(separate))
    award, bonus = api.get("/v1/users/old/ledger").json()["entries"]
    assert (bonus["reason"], bonus["amount"]) == ("xp_bonus", 5)
    clock.set(NOON + timedelta(minutes=1))
    body = api.post(f"/v1/users/old/ledger/{award['entry_id']}/reversal", {"reason": "fraud"}).json()
    assert (body["coins_reversed"], body["coins_balance"]) == (-5, 0)
    by_id = {e["entry_id"]: e for e in api.get("/v1/users/old/ledger").json()["entries"]}
    assert by_id[bonus["entry_id"]]["reversed_by"] == body["bonus_entry_id"]
    assert by_id[body["bonus_entry_id"]]["amount"] == -5


def test_coins_boards_count_carried_bonus_coins_live_and_rebuilt(api, clock, tenant, use_rules, dynamo, streams):
    engine = runtime.engine()
    raw = yaml.safe_load(DEFAULT_RULES.read_text())
    rules = parse_rules({**raw, "leaderboards": {**raw["leaderboards"], "rich": {"metric": "coins", "periods": ["daily"]}}})
    use_rules(rules)
    clock.set(NOON)
    api.xp("cr", "paid_char_sold", key="cr-1")  # 5 bonus coins
    api.xp("cr", "create_character")  # 3
    api.coins("cr", "daily_login")  # 10, a reward
    board = api.get("/v1/leaderboards/rich", period="daily", user_id="cr").json()
    assert board["user"]["score"] == 18, board
    streams.wait_until_drained()
    assert BoardRebuild(rules, engine.store).run(tenant.id, "rich", "daily", "2026-11-21", now=NOON).done
    assert api.get("/v1/leaderboards/rich", period="daily", user_id="cr").json()["user"]["score"] == 18
