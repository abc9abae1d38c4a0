"""DELETE /v1/users/{id}: nothing of the user is left in the table (scanned), boards and
their counts are fixed, and a crashed erasure finishes when called again."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from gamification import runtime
from gamification.usecases.erasure import Erasure

NOON = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)


def traces(dynamo, tenant, user):
    """Every item of the tenant that names ``user`` anywhere (keys, attributes, lists)."""
    marks = (f"#U#{user}", f"U#{user}", f"#{user}", f'"{user}"')
    out = []
    for item in dynamo.items(tenant):
        text = json.dumps(item, default=str)
        if item.get("user_id") == user or any(m in text for m in marks):
            out.append(item)
    return out


def unlocked_count(api, achievement):
    catalogue = {a["id"]: a for a in api.get("/v1/achievements").json()["achievements"]}
    return catalogue[achievement]["unlocked_count"]


def make_history(api, clock, user):
    clock.set(NOON - timedelta(days=1))
    api.xp(user, "create_character", key=f"{user}-k1")
    clock.set(NOON)
    api.xp(user, "paid_char_sold", key=f"{user}-k2")
    api.coins(user, "daily_login")
    api.post(f"/v1/users/{user}/coins/spend", {"amount": 3, "reason": "shop"}, key=f"{user}-spend")
    entry = api.get(f"/v1/users/{user}/ledger", type="xp").json()["entries"][0]
    assert api.post(f"/v1/users/{user}/ledger/{entry['entry_id']}/reversal", {"reason": "test"}).status_code == 200
    api.xp(user, "forked")


def test_a_deleted_user_leaves_nothing_behind(api, clock, dynamo, tenant, boards_projected):
    make_history(api, clock, "gone")
    clock.set(NOON)
    api.xp("stay", "forked")  # 10 XP: below "gone" on every board
    assert api.get("/v1/leaderboards/xp", period="daily", user_id="stay").json()["user"]["rank"] == 2
    assert traces(dynamo, tenant.id, "gone")
    assert unlocked_count(api, "first_character") == 1
    resp = api.session.delete(f"{api.base}/v1/users/gone", timeout=30)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["deleted"] is True and body["items_deleted"] > 5 and body["boards_left"] == 5  # 4 today + yesterday's daily
    assert traces(dynamo, tenant.id, "gone") == []
    # Reads as new, on no board; the other user's rank is exact again (counts fixed).
    profile = api.get("/v1/users/gone").json()
    assert profile["total_xp"] == 0 and profile["coins_balance"] == 0
    assert api.get("/v1/users/gone/ledger").json()["entries"] == []
    for period in ("daily", "weekly", "monthly", "all_time"):
        b = api.get("/v1/leaderboards/xp", period=period, user_id="stay").json()
        assert [e["user_id"] for e in b["entries"]] == ["stay"], b
        assert b["user"]["rank"] == 1
    assert api.get("/v1/leaderboards/xp", period="daily", user_id="gone").json()["user"]["rank"] is None
    # The catalogue no longer counts the user's unlock.
    assert unlocked_count(api, "first_character") == 0
    # The other user is untouched; idempotency keys of the deleted user are free again.
    assert traces(dynamo, tenant.id, "stay")
    again = api.xp("gone", "paid_char_sold", key="gone-k2")
    assert again.status_code == 200 and again.headers.get("Idempotent-Replayed") is None
    # Deleting twice is harmless.
    assert api.session.delete(f"{api.base}/v1/users/nobody", timeout=30).json()["items_deleted"] == 0


def test_a_crashed_erasure_finishes_when_called_again(api, clock, dynamo, tenant, monkeypatch, streams):
    make_history(api, clock, "crash")
    # The boards have taken the history in (an erasure racing the projection is another
    # matter: usecases/erasure.py, step 4).
    streams.wait_until_drained()
    eng = runtime.engine()
    erasure = Erasure(eng.rules, eng.store)
    real = erasure._delete_partition
    monkeypatch.setattr(erasure, "_delete_partition", lambda pk: (_ for _ in ()).throw(ConnectionError("lost")))
    with pytest.raises(ConnectionError):
        erasure.erase(tenant.id, "crash", NOON)
    left = traces(dynamo, tenant.id, "crash")
    # It stopped in step 3: the partition and the board rows (step 4) are still there.
    assert any(i["pk"] == f"T#{tenant.id}#U#crash" for i in left)
    assert any(i["pk"].startswith(f"T#{tenant.id}#LB#") and "#S" in i["pk"] for i in left)
    # Step 2 ran: the unlock is off the count; the resumed run must not take it off again.
    assert unlocked_count(api, "first_character") == 0
    monkeypatch.setattr(erasure, "_delete_partition", real)
    erasure.erase(tenant.id, "crash", NOON)
    assert traces(dynamo, tenant.id, "crash") == []
    assert unlocked_count(api, "first_character") == 0


def test_a_bad_user_id_is_400(api):
    assert api.session.delete(f"{api.base}/v1/users/a%23b", timeout=30).status_code == 400


@pytest.mark.parametrize("raw", ['{"x": 1}', '{"user_id": "keep"}', '{"confirm": true}', "{bad json", "[]", '"x"'])
def test_a_delete_with_a_body_is_400_and_erases_nothing(api, clock, dynamo, tenant, raw):
    """DELETE takes no body: fields it would ignore are refused, as unknown fields are on
    every other route (docs/api.md)."""
    clock.set(NOON)
    assert api.xp("kept", "forked").status_code == 200
    before = [i for i in dynamo.items(tenant.id) if "#U#kept" in i["pk"]]
    assert before
    resp = api.session.delete(f"{api.base}/v1/users/kept", data=raw.encode(), timeout=30,
                              headers={"content-type": "application/json"})  # fmt: skip
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["code"] == "validation_error" and resp.json()["error"]["field"] == "body"
    assert [i for i in dynamo.items(tenant.id) if "#U#kept" in i["pk"]] == before


@pytest.mark.parametrize("raw", [None, "", "{}", " { } "])
def test_a_delete_with_no_body_or_an_empty_object_erases(api, clock, dynamo, tenant, raw):
    clock.set(NOON)
    assert api.xp("leaving", "forked").status_code == 200
    data = None if raw is None else raw.encode()
    resp = api.session.delete(f"{api.base}/v1/users/leaving", data=data, timeout=30)
    assert resp.status_code == 200, resp.text
    # The user's own items are gone (board entries are projected from the stream, later).
    assert resp.json()["deleted"] is True and resp.json()["items_deleted"] > 0
    assert [i for i in dynamo.items(tenant.id) if "#U#leaving" in i["pk"]] == []


def test_a_webhook_delete_with_a_body_is_400_too(api):
    resp = api.session.delete(f"{api.base}/v1/webhooks/wh_{'0' * 32}", data=b'{"x": 1}', timeout=30)
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "validation_error", resp.text
