"""Progressive Flow's story over HTTP (examples/progressive_flow/rules.yaml): XP transactions
in the ledger, achievements unlocked once, a streak across days, challenges whose
prerequisites gate others (409 topic_locked), and the XP board's daily, weekly, monthly and
all-time periods, with the history of ended periods frozen by the roll-over."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from gamification import runtime
from gamification.dal.board_store import BoardStore
from gamification.usecases.rollover import Rollover

EXAMPLE = "progressive_flow"
SAT = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)  # ISO week 2026-W48, November
SUN = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)
MON = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)  # 2026-W49
TUE = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)   # December


@pytest.fixture(autouse=True)
def _rules(example_rules):
    return example_rules


def xp(api, user, action):
    r = api.xp(user, action)
    assert r.status_code == 200, r.text
    return r.json()


def complete(api, user, challenge, level):
    """A challenge level completed: a correct attempt at its task."""
    return api.post(f"/v1/users/{user}/topics/{challenge}/attempts", {"task_id": f"level-{level}", "correct": True})


def ids(body):
    return [a["id"] for a in body["achievements_unlocked"]]


def board(api, period, **params):
    r = api.get("/v1/leaderboards/xp", period=period, **params)
    assert r.status_code == 200, r.text
    return [(e["user_id"], e["score"]) for e in r.json()["entries"]]


def test_a_learners_week_prerequisites_achievements_streak_and_boards(api, clock, tenant, streams, boards_projected):
    clock.set(SAT)
    first = xp(api, "ann", "learning_session")
    assert ids(first) == ["first_session"] and first["total_xp"] == 30  # 20 + the 10 XP reward
    assert ids(xp(api, "ann", "learning_session")) == []  # unlocked once
    assert ids(xp(api, "ann", "daily_challenge")) == ["daily_habit"]  # 100 + 25
    # The rate limiter needs the URL shortener's level 3: locked, nothing written.
    locked = complete(api, "ann", "rate_limiter", 1)
    assert locked.status_code == 409 and locked.json()["error"]["code"] == "topic_locked", locked.text
    levels = [complete(api, "ann", "url_shortener", n).json()["topic"]["level"] for n in (1, 2)]
    assert levels == [2, 3]
    assert complete(api, "ann", "rate_limiter", 1).status_code == 200
    topics = {t["topic"]: t for t in api.get("/v1/users/ann/topics").json()["topics"]}
    assert topics["rate_limiter"]["locked"] is False and topics["news_feed"]["locked"] is True
    assert topics["news_feed"]["missing_prerequisites"]  # url_shortener 5, rate_limiter 3
    assert xp(api, "bob", "daily_challenge")["total_xp"] == 125

    clock.set(SUN)
    assert xp(api, "ann", "daily_challenge")["streak"]["current"] == 2
    xp(api, "bob", "daily_challenge")
    xp(api, "bob", "assessment_passed")

    clock.set(MON)
    third = xp(api, "ann", "daily_challenge")
    assert third["streak"] == {"current": 3, "longest": 3, "extended": True} and ids(third) == ["streak_3"]

    clock.set(TUE)  # bob missed Monday and has no freeze: his run starts again
    assert xp(api, "bob", "daily_challenge")["streak"]["current"] == 1

    # XP transactions: every award is a ledger entry, rewards under achievement:<id>.
    ann = api.get("/v1/users/ann/ledger", type="xp", limit="100").json()["entries"]
    reasons = sorted(e["reason"] for e in ann)
    assert reasons == sorted(["learning_session"] * 2 + ["daily_challenge"] * 3 + ["topic:url_shortener"] * 2
                             + ["topic:rate_limiter", "achievement:first_session", "achievement:daily_habit"])
    profile = api.get("/v1/users/ann").json()
    assert profile["total_xp"] == sum(e["amount"] for e in ann) == 675
    assert (profile["level"], profile["level_name"], profile["streak_current"]) == (3, "Practitioner", 3)

    # The four periods of the board, read on Tuesday; ties go to who reached the score first.
    streams.wait_until_drained(timeout=120)  # the first projection may start the projector
    assert board(api, "daily") == [("bob", 100)]
    assert board(api, "weekly") == [("ann", 100), ("bob", 100)]
    assert board(api, "monthly") == [("bob", 100)]
    assert board(api, "all_time") == [("ann", 675), ("bob", 400)]
    assert board(api, "monthly", date="2026-11-15") == [("ann", 675), ("bob", 300)]
    dash = api.get("/v1/users/ann/dashboard").json()
    assert {(b["period"], b["rank"]) for b in dash["boards"]} == {("daily", None), ("weekly", 1), ("monthly", None), ("all_time", 1)}

    # History: the roll-over freezes ended periods (after the late-event grace of 48 h);
    # final=true reads the snapshot.
    assert api.get("/v1/leaderboards/xp", period="weekly", date="2026-11-28", final="true").status_code == 404
    store = runtime.engine().store
    BoardStore(store).register_tenant(tenant.id, SAT)
    streams.wait_until_drained(timeout=120)
    Rollover(runtime.engine().rules, store).run(datetime(2026, 12, 4, 0, 5, tzinfo=timezone.utc), [tenant.id])
    assert board(api, "daily", date="2026-11-28", final="true") == [("ann", 475), ("bob", 125)]
    assert board(api, "weekly", date="2026-11-28", final="true") == [("ann", 575), ("bob", 300)]
    assert board(api, "monthly", date="2026-11-28", final="true") == [("ann", 675), ("bob", 300)]
    frozen = api.get("/v1/leaderboards/xp", period="daily", date="2026-11-28", final="true", user_id="bob").json()
    assert frozen["final"] is True and frozen["user"] == {"user_id": "bob", "rank": 2, "score": 125}
