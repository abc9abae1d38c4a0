"""GET /v1/leaderboards/{board} through the local HTTP API: boards move on the award request
itself, ranks are exact with ties broken by who reached the score first, and bad boards or
periods are 400 in the error envelope."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

NOON = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)  # a Saturday, ISO week 2026-W47


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


def test_an_award_still_takes_two_round_trips_with_every_board_in_them(api, clock, environments):
    clock.set(NOON)
    award_fn = ["AwardXpFunction"]
    environments.call("tests.environment_hooks:record_calls", functions=award_fn)
    for _ in range(3):
        assert api.xp("hal", "forked").status_code == 200
    calls = [c for got in environments.api.control("call", "tests.environment_hooks:recorded_calls", (), {}, functions=award_fn) for c in got]
    award = [name for name, _ in calls]
    assert award == ["BatchGetItem", "TransactWriteItems"] * 3
    txs = [[i for i in p["TransactItems"] if "#LB#xp#" in str(i)] for name, p in calls if name == "TransactWriteItems"]
    # 4 periods x (score + counts): first award +1 on all 5 levels; 10 -> 20 moves levels 0
    # and 1 (16-wide buckets); 20 -> 30 only the exact-score level.
    assert [len(t) for t in txs] == [4 * 6, 4 * 5, 4 * 3]
