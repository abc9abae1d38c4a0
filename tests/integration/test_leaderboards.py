"""GET /v1/leaderboards/{board} through the local HTTP API: an award shows on its boards
once the stream poller has fed it to the board projector (tests wait for the stream to
drain, never sleep), ranks are exact with ties broken by who reached the score first, and
bad boards or periods are 400 in the error envelope."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ..conftest import drain_before_board_reads

NOON = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)  # a Saturday, ISO week 2026-W47


@pytest.fixture(autouse=True)
def _boards_follow_the_ledger(api, streams, monkeypatch):
    drain_before_board_reads(api, streams, monkeypatch)


def board(api, period="daily", **params):
    r = api.get("/v1/leaderboards/xp", period=period, **params)
    assert r.status_code == 200, r.text
    return r.json()


def test_an_award_shows_on_every_period_of_the_board_at_once(api, clock):
    clock.set(NOON)
    assert api.xp("alice", "create_character").status_code == 200  # 30 XP
    keys = {"daily": "2026-11-21", "weekly": "2026-W47", "monthly": "2026-11", "all_time": "all"}
    for period, key in keys.items():
        body = board(api, period)
        assert body["board"] == "xp" and body["period"] == period and body["period_key"] == key
        assert body["entries"] == [{"rank": 1, "user_id": "alice", "score": 30}]


def test_ranks_best_first_and_ties_go_to_who_reached_the_score_first(api, clock):
    t = NOON
    for user, action in [("amy", "forked"), ("ben", "create_character"), ("cat", "forked"), ("dan", "daily_chat")]:
        clock.set(t)
        assert api.xp(user, action).status_code == 200
        t += timedelta(seconds=1)
    clock.set(t)
    api.xp("cat", "forked")  # cat 20 now, reached after dan's 20
    body = board(api, user_id="cat")
    assert body["entries"] == [
        {"rank": 1, "user_id": "ben", "score": 30},
        {"rank": 2, "user_id": "dan", "score": 20},
        {"rank": 3, "user_id": "cat", "score": 20},
        {"rank": 4, "user_id": "amy", "score": 10},
    ]
    assert body["user"] == {"user_id": "cat", "rank": 3, "score": 20}
    assert board(api, user_id="amy")["user"]["rank"] == 4
    assert board(api, user_id="dan")["user"]["rank"] == 2
    assert board(api, user_id="nobody")["user"] == {"user_id": "nobody", "rank": None, "score": 0}
    assert [e["user_id"] for e in board(api, limit=2)["entries"]] == ["ben", "dan"]


def test_around_gives_neighbours_with_their_ranks(api, clock):
    clock.set(NOON)
    for i in range(7):
        for _ in range(i + 1):
            api.xp(f"p{i}", "forked")  # p6 70 XP ... p0 10 XP
    body = board(api, user_id="p3", around=2)
    assert body["user"] == {"user_id": "p3", "rank": 4, "score": 40}
    assert [(e["rank"], e["user_id"]) for e in body["around"]] == [(2, "p5"), (3, "p4"), (4, "p3"), (5, "p2"), (6, "p1")]
    top = board(api, user_id="p6", around=3)["around"]
    assert [(e["rank"], e["user_id"]) for e in top] == [(1, "p6"), (2, "p5"), (3, "p4"), (4, "p3")]


def test_date_selects_a_past_period(api, clock):
    clock.set(NOON)
    api.xp("eve", "paid_char_sold")  # 50 XP
    clock.set(NOON + timedelta(days=1))
    api.xp("fay", "forked")
    assert board(api, date="2026-11-21")["entries"] == [{"rank": 1, "user_id": "eve", "score": 50}]
    assert board(api)["entries"] == [{"rank": 1, "user_id": "fay", "score": 10}]
    assert [e["user_id"] for e in board(api, "weekly")["entries"]] == ["eve", "fay"]  # Sun 22nd: same ISO week


def test_unknown_board_or_period_is_400_in_the_envelope(api, clock):
    clock.set(NOON)
    r = api.get("/v1/leaderboards/nope", period="daily")
    assert r.status_code == 400 and r.json()["error"]["code"] == "unknown_leaderboard"
    r = api.get("/v1/leaderboards/xp", period="hourly")
    assert r.status_code == 400 and r.json()["error"]["code"] == "validation_error"
    r = api.get("/v1/leaderboards/xp")
    assert r.status_code == 400 and r.json()["error"]["code"] == "validation_error"
    r = api.get("/v1/leaderboards/xp", period="daily", limit=101)
    assert r.status_code == 400
    r = api.get("/v1/leaderboards/xp", period="daily", around=2)
    assert r.status_code == 400 and r.json()["error"]["code"] == "validation_error"
    r = api.get("/v1/leaderboards/xp", period="daily", final="true")
    assert r.status_code == 404 and r.json()["error"]["code"] == "period_not_final"


def test_a_capped_or_refused_award_moves_the_board_by_what_was_awarded(api, clock):
    clock.set(NOON)
    for _ in range(14):
        api.xp("gus", "forked")  # 140
    assert api.xp("gus", "create_character").json()["xp_awarded"] == 10
    assert api.xp("gus", "forked").status_code == 429
    assert board(api, user_id="gus")["user"] == {"user_id": "gus", "rank": 1, "score": 150}


def test_an_award_writes_no_board_item_yet_shows_on_every_period_once_projected(api, clock, dynamo, tenant, environments):
    clock.set(NOON)
    award_fn = ["AwardXpFunction"]
    environments.call("tests.environment_hooks:record_calls", functions=award_fn)
    for _ in range(3):
        assert api.xp("hal", "forked").status_code == 200
    calls = [c for got in environments.api.control("call", "tests.environment_hooks:recorded_calls", (), {}, functions=award_fn) for c in got]
    # GetItem: the authorizer's key and tenant lookups; UpdateItem of RATE#: the per-tenant
    # request counter, a call of its own before the award (docs/security.md).
    award = [name for name, p in calls if name != "GetItem" and "RATE#" not in str(p.get("Key", {}).get("pk"))]
    assert award == ["BatchGetItem", "TransactWriteItems"] * 3
    assert not [p for _, p in calls if "#LB#" in str(p)]  # boards left the award path
    for period in ("daily", "weekly", "monthly", "all_time"):
        assert board(api, period, user_id="hal")["user"] == {"user_id": "hal", "rank": 1, "score": 30}
    # the projection: per period one score item, count items holding hal once per level
    items = dynamo.items(tenant.id)
    for key in ("2026-11-21", "2026-W47", "2026-11", "all"):
        counts = [i for i in items if i["pk"].endswith(f"#{key}#C")]
        assert len(counts) == 13 and all(sum(v for k, v in i.items() if k[:1] == "c" and k[1:].isalnum() and len(k) == 2) == 1 for i in counts)


def test_the_projector_function_takes_a_stream_event_file_and_reports_partial_failures(local_api, tenant, api, clock):
    """events/board_projector.json through the function (``make invoke``): the entry lands on
    the boards once, whatever the number of deliveries; its top-level ``shardId`` (as in
    tumbling-window events) spares the DescribeStream lookup."""
    import json

    from ..conftest import EVENTS

    clock.set(NOON)
    raw = (EVENTS / "board_projector.json").read_text().replace("T#my-game#", f"T#{tenant.id}#")
    event = json.loads(raw)
    for _ in range(2):
        assert local_api.invoke("BoardProjectorFunction", json.loads(raw)) == {"batchItemFailures": []}
    day = event["Records"][0]["dynamodb"]["NewImage"]["day"]["S"]
    body = board(api, "daily", date=day)
    assert body["entries"] == [{"rank": 1, "user_id": "alice", "score": 30}]
