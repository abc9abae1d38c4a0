"""Topics and spaced repetition (docs/topics.md) over HTTP against the bundled rules' two
topics (whole_numbers; fractions requires whole_numbers level 2), and through the use case
with rules of the tests' own (max_xp, the daily cap, decay, FSRS, time zones)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone

import pytest

from gamification.api.topic_models import TopicAttemptRequest
from gamification.dal import keys
from gamification.dal.store import Store
from gamification.domain.errors import TopicLocked
from gamification.domain.rules import load_rules, parse_rules
from gamification.usecases.engine import Engine
from gamification.usecases.topics import TopicUseCases
from tests.conftest import RACE_RETRY

NOON = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)


def attempt(api, user, topic, task, correct=True, key=None, **extra):
    return api.post(f"/v1/users/{user}/topics/{topic}/attempts", {"task_id": task, "correct": correct, **extra}, key=key)


def topic_items(dynamo, tenant):
    return [i for i in dynamo.items(tenant.id) if i["sk"].startswith(("TOPIC", "TASK#"))]


def test_a_first_correct_attempt_awards_base_xp_and_schedules_the_first_interval(api, clock, dynamo, tenant):
    clock.set(NOON)
    r = attempt(api, "ann", "whole_numbers", "add-1")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["xp_awarded"] == 10 and body["multiplier"] == 1.0 and body["tier"] == "full"
    assert body["task"] == {"task_id": "add-1", "srs_stage": 1, "next_review_date": "2026-11-22",
                            "attempts": 1, "scheduler": "fixed"}  # fmt: skip
    assert body["topic"]["xp"] == 10 and body["topic"]["level"] == 1 and body["topic"]["daily_tasks"] == 1
    assert body["topic"]["next_review_date"] == "2026-11-22"
    assert body["total_xp"] == 10 and body["level"] == 1 and body["leveled_up"] is False
    assert api.get("/v1/users/ann").json()["total_xp"] == 10
    (entry,) = dynamo.ledger(tenant.id)
    assert entry["type"] == "xp" and entry["xp"] == 10 and entry["reason"] == "topic:whole_numbers"
    assert entry["topic"] == "whole_numbers" and entry["task_id"] == "add-1" and entry["correct"] is True
    # Topic XP counts toward the day's global XP, like an action.
    assert api.get("/v1/users/ann/limits").json()["xp_gained"] == 10


def test_a_day_of_attempts_walks_the_tiers_and_wrong_answers_do_not_count(api, clock):
    clock.set(NOON)
    xp = []
    for i in range(12):
        if i == 3:
            wrong = attempt(api, "bo", "whole_numbers", "wrong-1", correct=False).json()
            assert wrong["xp_awarded"] == 0 and wrong["tier"] is None and wrong["topic"]["daily_tasks"] == 3
            assert wrong["task"]["srs_stage"] == 0 and wrong["task"]["next_review_date"] == "2026-11-22"
        xp.append(attempt(api, "bo", "whole_numbers", f"t{i}").json()["xp_awarded"])
    assert xp == [10] * 5 + [5] * 5 + [1, 1]
    clock.set(NOON + timedelta(days=1))  # a new local day: full rate again
    assert attempt(api, "bo", "whole_numbers", "t99").json()["tier"] == "full"


@pytest.mark.race
def test_twelve_racing_correct_attempts_award_exactly_five_at_the_full_rate(api, clock, dynamo, tenant):
    # The same task 12 times: the first to commit is a new task (10 XP); the others are
    # early reviews.
    clock.set(NOON)
    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(lambda i: attempt(api, "racer", "whole_numbers", "task-1"), range(12)))
    assert all(r.status_code == 200 for r in results), [r.text for r in results]
    bodies = sorted((r.json() for r in results), key=lambda b: b["topic"]["daily_tasks"])
    assert [b["topic"]["daily_tasks"] for b in bodies] == list(range(1, 13))
    assert [b["tier"] for b in bodies] == ["full"] * 5 + ["half"] * 5 + ["low"] * 2
    assert [b["xp_awarded"] for b in bodies] == [10] + [5] * 4 + [2] * 5 + [1] * 2
    assert [b["task"]["srs_stage"] for b in bodies] == [1, 2, 3, 4] + [4] * 8
    topics = api.get("/v1/users/racer/topics").json()["topics"]
    assert topics[0]["xp"] == 42 and topics[0]["tasks"] == 1
    assert api.get("/v1/users/racer").json()["total_xp"] == 42
    assert sum(e["xp"] for e in dynamo.ledger(tenant.id)) == 42 and len(dynamo.ledger(tenant.id)) == 12


@pytest.mark.race
def test_twelve_racing_attempts_on_distinct_tasks_keep_every_tier_exact(dynamo, tenant):
    uc = TopicUseCases(Engine(load_rules(), Store(dynamo.client, dynamo.table), now=lambda: NOON, **RACE_RETRY))
    with ThreadPoolExecutor(max_workers=12) as pool:
        bodies = list(pool.map(lambda i: run(uc, tenant, "racer2", "whole_numbers", f"task-{i}"), range(12)))
    assert sorted(b["tier"] for b in bodies) == ["full"] * 5 + ["half"] * 5 + ["low"] * 2
    assert sorted(b["xp_awarded"] for b in bodies) == [1, 1] + [5] * 5 + [10] * 5
    assert sorted(b["total_xp"] for b in bodies)[-1] == 77
    status = uc.topics(tenant.id, "racer2").body["topics"][0]
    assert status["xp"] == 77 and status["tasks"] == 12 and status["next_review_date"] == "2026-11-22"
    assert sum(e["xp"] for e in dynamo.ledger(tenant.id)) == 77 and len(dynamo.ledger(tenant.id)) == 12


def test_an_early_review_earns_the_early_multiplier_and_a_due_one_does_not(api, clock):
    clock.set(NOON)
    attempt(api, "cy", "whole_numbers", "t1")
    early = attempt(api, "cy", "whole_numbers", "t1").json()  # due tomorrow: early
    assert early["early"] is True and early["xp_awarded"] == 5 and early["multiplier"] == 0.5
    assert early["task"]["srs_stage"] == 2 and early["task"]["next_review_date"] == "2026-11-24"  # +3 days
    clock.set(NOON + timedelta(days=3))
    due = attempt(api, "cy", "whole_numbers", "t1").json()
    assert due["early"] is False and due["xp_awarded"] == 10
    assert due["task"]["srs_stage"] == 3 and due["task"]["next_review_date"] == "2026-12-01"  # +7 days
    wrong = attempt(api, "cy", "whole_numbers", "t1", correct=False).json()
    assert wrong["task"]["srs_stage"] == 0 and wrong["task"]["next_review_date"] == "2026-11-25"


def test_a_locked_topic_is_409_writes_nothing_and_unlocks_at_the_required_level(api, clock, dynamo, tenant):
    clock.set(NOON)
    r = attempt(api, "dee", "fractions", "half-1", key="k-locked")
    assert r.status_code == 409, r.text
    err = r.json()["error"]
    assert err["code"] == "topic_locked" and err["missing_prerequisites"] == ["whole_numbers"]
    assert dynamo.items(tenant.id) == []
    listed = {t["topic"]: t for t in api.get("/v1/users/dee/topics").json()["topics"]}
    assert listed["fractions"]["locked"] is True and listed["fractions"]["missing_prerequisites"] == ["whole_numbers"]
    assert listed["whole_numbers"]["locked"] is False and listed["whole_numbers"]["level"] == 1
    for i in range(5):  # 5 x 10 XP = 50: whole_numbers level 2
        attempt(api, "dee", "whole_numbers", f"w{i}")
    listed = {t["topic"]: t for t in api.get("/v1/users/dee/topics").json()["topics"]}
    assert listed["whole_numbers"]["level"] == 2 and listed["fractions"]["locked"] is False
    ok = attempt(api, "dee", "fractions", "half-1", key="k-locked")  # same key: re-evaluated
    assert ok.status_code == 200 and ok.json()["xp_awarded"] == 10, ok.text


def test_reviews_list_due_tasks_most_overdue_first_and_topics_show_the_earliest(api, clock):
    clock.set(NOON)
    attempt(api, "eve", "whole_numbers", "a")  # due 11-22
    attempt(api, "eve", "whole_numbers", "b")
    attempt(api, "eve", "whole_numbers", "b")  # early: stage 2, due 11-24
    attempt(api, "eve", "whole_numbers", "c", correct=False)  # due 11-22
    clock.set(NOON + timedelta(days=5))
    body = api.get("/v1/users/eve/reviews", due_by="2026-11-22").json()
    assert body["due_by"] == "2026-11-22"
    assert body["reviews"] == [
        {"topic": "whole_numbers", "task_id": "a", "next_review_date": "2026-11-22"},
        {"topic": "whole_numbers", "task_id": "c", "next_review_date": "2026-11-22"},
    ]
    assert api.get("/v1/users/eve/reviews", due_by="2026-11-21").json()["reviews"] == []
    assert len(api.get("/v1/users/eve/reviews", due_by="2999-12-31").json()["reviews"]) == 3
    assert api.get("/v1/users/eve/reviews", due_by="2000-01-01").json()["reviews"] == []
    everything = api.get("/v1/users/eve/reviews").json()  # default: today (11-26)
    assert [r["task_id"] for r in everything["reviews"]] == ["a", "c", "b"] and everything["next_cursor"] is None
    page = api.get("/v1/users/eve/reviews", limit=2).json()
    assert [r["task_id"] for r in page["reviews"]] == ["a", "c"] and page["next_cursor"]
    rest = api.get("/v1/users/eve/reviews", limit=2, cursor=page["next_cursor"]).json()
    assert [r["task_id"] for r in rest["reviews"]] == ["b"]
    topic = api.get("/v1/users/eve/topics").json()["topics"][0]
    assert topic["next_review_date"] == "2026-11-22" and topic["tasks"] == 3
    # Reviewing a and c moves the topic's earliest review to b's date.
    attempt(api, "eve", "whole_numbers", "a")
    last = attempt(api, "eve", "whole_numbers", "c").json()
    assert last["topic"]["next_review_date"] == "2026-11-24"


def test_an_idempotency_key_records_an_attempt_once_and_replays_it(api, clock, dynamo, tenant):
    clock.set(NOON)
    first = attempt(api, "fay", "whole_numbers", "t1", key="att-1")
    again = attempt(api, "fay", "whole_numbers", "t1", key="att-1")
    assert again.status_code == 200 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()
    assert len(dynamo.ledger(tenant.id)) == 1
    other = attempt(api, "fay", "whole_numbers", "t2", key="att-1")
    assert other.status_code == 422


@pytest.mark.parametrize(
    ("path", "raw", "status", "code"),
    [
        ("/v1/users/gus/topics/no_such_topic/attempts", '{"task_id": "t1", "correct": true}', 404, "unknown_topic"),
        ("/v1/users/gus/topics/Bad%23Topic/attempts", '{"task_id": "t1", "correct": true}', 404, "unknown_topic"),
        ("/v1/users/gus/topics/whole_numbers/attempts", '{"task_id": "t1", "correct": "yes"}', 400, "validation_error"),
        ("/v1/users/gus/topics/whole_numbers/attempts", '{"task_id": "t1", "correct": 1}', 400, "validation_error"),
        ("/v1/users/gus/topics/whole_numbers/attempts", '{"task_id": 7, "correct": true}', 400, "validation_error"),
        ("/v1/users/gus/topics/whole_numbers/attempts", '{"task_id": "a#b", "correct": true}', 400, "validation_error"),
        ("/v1/users/gus/topics/whole_numbers/attempts", '{"task_id": "a b", "correct": true}', 400, "validation_error"),
        ("/v1/users/gus/topics/whole_numbers/attempts", '{"task_id": "", "correct": true}', 400, "validation_error"),
        ("/v1/users/gus/topics/whole_numbers/attempts", '{"task_id": "' + "x" * 129 + '", "correct": true}', 400, "validation_error"),
        ("/v1/users/gus/topics/whole_numbers/attempts", '{"task_id": "t\\u00e9", "correct": true}', 400, "validation_error"),
        ("/v1/users/gus/topics/whole_numbers/attempts", '{"correct": true}', 400, "validation_error"),
        ("/v1/users/gus/topics/whole_numbers/attempts", '{"task_id": "t1"}', 400, "validation_error"),
        ("/v1/users/gus/topics/whole_numbers/attempts", '{"task_id": "t1", "correct": true, "x": 1}', 400, "validation_error"),
        ("/v1/users/gus/topics/whole_numbers/attempts", '[1]', 400, "validation_error"),
        ("/v1/users/gus/topics/whole_numbers/attempts", '{"task_id": "t1", "correct": true, "occurred_at": "2026-11-21"}', 400, "validation_error"),
        ("/v1/users/gus/topics/whole_numbers/attempts", '{"task_id": "t1", "correct": true, "occurred_at": "2026-11-28T12:00:00Z"}', 400, "validation_error"),
        ("/v1/users/gus/topics/whole_numbers/attempts", '{"task_id": "t1", "correct": true, "occurred_at": "2026-11-01T12:00:00Z"}', 400, "validation_error"),
        ("/v1/users/bad%23user/topics/whole_numbers/attempts", '{"task_id": "t1", "correct": true}', 400, "validation_error"),
    ],
)
def test_bad_attempts_are_4xx_and_write_nothing(api, clock, dynamo, tenant, path, raw, status, code):
    clock.set(NOON)
    r = api.post(path, raw=raw)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code
    assert dynamo.items(tenant.id) == []


@pytest.mark.parametrize("query", [{"due_by": "2026-13-01"}, {"due_by": "tomorrow"}, {"limit": 0}, {"limit": 501},
                                   {"cursor": "not-a-cursor"}, {"cursor": "WyJQUk9GSUxFIiwgIngiXQ"}])  # fmt: skip
def test_bad_review_queries_are_400(api, query):
    r = api.get("/v1/users/gus/reviews", **query)
    assert r.status_code == 400 and r.json()["error"]["code"] == "validation_error", r.text


# ---- through the use case, with rules of the tests' own --------------------------------------

TOPIC_RULES = {
    "version": 1,
    "timezone": "UTC",
    "levels": [{"level": 1, "name": "A", "xp": 0}, {"level": 2, "name": "B", "xp": 1000}],
    "daily_xp_caps": [{"levels": [1, 2], "cap": 25}],
    "actions": {"lesson": {"xp": 20}},
    "topics": {
        "small": {"title": "Small", "base_xp": 10, "max_xp": 25, "level_thresholds": [0, 20]},
        "big": {"title": "Big", "base_xp": 100, "daily_full_tasks": 1, "daily_half_tasks": 0, "multiplier_low": 0.5},
        "spaced": {"title": "Spaced", "base_xp": 5, "scheduler": "fsrs", "desired_retention": 0.9},
    },
}


def use_cases(dynamo, now, **overrides):
    rules = parse_rules({**TOPIC_RULES, **overrides})
    return TopicUseCases(Engine(rules, Store(dynamo.client, dynamo.table), now=lambda: now))


def run(uc, tenant, user, topic, task, correct=True, at=None):
    return uc.attempt(tenant.id, user, topic, TopicAttemptRequest(task_id=task, correct=correct, occurred_at=at), None).body


def test_max_xp_caps_a_topic_and_the_daily_cap_cuts_topic_xp(dynamo, tenant):
    uc = use_cases(dynamo, NOON, daily_xp_caps=[])
    assert [run(uc, tenant, "hal", "small", f"t{i}")["xp_awarded"] for i in range(4)] == [10, 10, 5, 0]
    last = run(uc, tenant, "hal", "small", "t9")
    assert last["maxed"] is True and last["topic"]["xp"] == 25 and last["topic"]["level"] == 2
    capped = use_cases(dynamo, NOON)
    first = run(capped, tenant, "ida", "big", "t1")
    assert first["xp_awarded"] == 25 and first["xp_requested"] == 100 and first["capped"] is True
    after = run(capped, tenant, "ida", "big", "t2")  # cap used up: recorded, 0 XP, still scheduled
    assert after["xp_awarded"] == 0 and after["capped"] is True and after["task"]["srs_stage"] == 1
    assert after["tier"] == "low" and after["topic"]["daily_tasks"] == 2
    assert Engine(parse_rules(TOPIC_RULES), Store(dynamo.client, dynamo.table)).profile(tenant.id, "ida").body["total_xp"] == 25


def test_fsrs_topics_store_the_card_and_schedule_by_it(dynamo, tenant):
    uc = use_cases(dynamo, NOON)
    first = run(uc, tenant, "jo", "spaced", "card-1")
    assert first["task"]["scheduler"] == "fsrs" and first["task"]["srs_stage"] == 1
    task = Store(dynamo.client, dynamo.table).get(keys.task_key(tenant.id, "jo", "spaced", "card-1"))
    assert '"stability"' in task["fsrs_card"]
    due = date.fromisoformat(first["task"]["next_review_date"])
    later = use_cases(dynamo, datetime.combine(due, datetime.min.time(), timezone.utc) + timedelta(hours=12))
    second = run(later, tenant, "jo", "spaced", "card-1")
    assert date.fromisoformat(second["task"]["next_review_date"]) - due > due - NOON.date()


def set_zone(dynamo, tenant, user, zone):
    """The profile attribute the time-zone route writes (``timezone``)."""
    Store(dynamo.client, dynamo.table).put(keys.profile_key(tenant.id, user), {"user_id": user, "total_xp": 0,
                                                                                "version": 1, "timezone": zone})  # fmt: skip


def test_tiers_and_review_dates_follow_the_users_local_date(dynamo, tenant):
    set_zone(dynamo, tenant, "kim", "America/New_York")
    # 2026-11-22 03:30 UTC is still 2026-11-21 (22:30) in New York.
    late = datetime(2026, 11, 22, 3, 30, tzinfo=timezone.utc)
    uc = use_cases(dynamo, late, daily_xp_caps=[])
    first = run(uc, tenant, "kim", "big", "t1", at=datetime(2026, 11, 21, 15, 0, tzinfo=timezone.utc))
    second = run(uc, tenant, "kim", "big", "t2")
    assert first["date"] == second["date"] == "2026-11-21" and second["timezone"] == "America/New_York"
    assert (first["tier"], second["tier"]) == ("full", "low")  # same local day: one full task a day
    assert second["task"]["next_review_date"] == "2026-11-22"
    # A UTC user at the same instant is on 11-22 already.
    utc = run(uc, tenant, "lee", "big", "t1")
    assert utc["date"] == "2026-11-22" and utc["tier"] == "full"


def test_a_dst_change_keeps_local_days_whole(dynamo, tenant):
    set_zone(dynamo, tenant, "max", "Europe/Berlin")
    # 2026-03-29: Berlin springs forward at 01:00 UTC (02:00 -> 03:00 local); the day has 23 hours.
    start = datetime(2026, 3, 28, 23, 0, tzinfo=timezone.utc)  # 00:00 local on 03-29
    end = datetime(2026, 3, 29, 21, 59, tzinfo=timezone.utc)  # 23:59 local on 03-29
    uc = use_cases(dynamo, end, daily_xp_caps=[])
    a = run(uc, tenant, "max", "big", "t1", at=start)
    b = run(uc, tenant, "max", "big", "t2", at=end)
    assert a["date"] == b["date"] == "2026-03-29" and (a["tier"], b["tier"]) == ("full", "low")
    c = run(use_cases(dynamo, end + timedelta(minutes=2), daily_xp_caps=[]), tenant, "max", "big", "t3")
    assert c["date"] == "2026-03-30" and c["tier"] == "full"
    assert a["task"]["next_review_date"] == "2026-03-30"


def test_the_rules_zone_is_the_default_user_zone(dynamo, tenant):
    uc = use_cases(dynamo, datetime(2026, 11, 21, 23, 30, tzinfo=timezone.utc), timezone="Asia/Tokyo")
    body = run(uc, tenant, "ned", "big", "t1")
    assert body["date"] == "2026-11-22" and body["timezone"] == "Asia/Tokyo"


def test_a_prerequisite_checked_in_the_transaction(dynamo, tenant):
    rules = {**TOPIC_RULES, "daily_xp_caps": [], "topics": {**TOPIC_RULES["topics"], "after": {
        "title": "After", "base_xp": 1, "requires": {"small": 2}}}}  # fmt: skip
    uc = TopicUseCases(Engine(parse_rules(rules), Store(dynamo.client, dynamo.table), now=lambda: NOON))
    with pytest.raises(TopicLocked):
        run(uc, tenant, "oli", "after", "t1")
    run(uc, tenant, "oli", "small", "s1")
    run(uc, tenant, "oli", "small", "s2")  # 20 XP: level 2
    assert run(uc, tenant, "oli", "after", "t1")["xp_awarded"] == 1


# ---- streaks and achievements: an attempt that earns XP is an XP award ----------------------


def day(n: int) -> datetime:
    return NOON + timedelta(days=n)


def test_correct_attempts_make_the_daily_streak_and_a_wrong_one_does_not(api, clock, dynamo, tenant):
    """The bundled rules' streak (qualifying: any): 14 days of one correct attempt are a
    14-date streak; the 7th pays the milestone and unlocks streak_7 in the attempt's own
    transaction; a wrong attempt leaves its date inactive."""
    for n in range(14):
        clock.set(day(n))
        r = attempt(api, "sam", "whole_numbers", f"t{n}")
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["streak"] == {"current": n + 1, "longest": n + 1, "extended": True}
        assert [u["id"] for u in body["achievements_unlocked"]] == (["streak_7"] if n == 6 else [])
    streak = api.get("/v1/users/sam/streak").json()
    assert (streak["current"], streak["longest"], streak["last_active_date"]) == (14, 14, "2026-12-04")
    profile = api.get("/v1/users/sam").json()
    assert (profile["streak_current"], profile["last_active_date"], profile["badges"]) == (14, "2026-12-04", ["streak_7"])
    assert profile["total_xp"] == body["total_xp"] == 140 and profile["coins_balance"] == body["coins_balance"]
    assert [e["amount"] for e in dynamo.ledger(tenant.id, "COIN") if e["reason"] == "streak_milestone:7"] == [50]
    assert sum(i["sk"] == "ACH#streak_7" for i in dynamo.items(tenant.id)) == 1
    mine = {a["id"]: a for a in api.get("/v1/users/sam/achievements").json()["achievements"]}
    assert mine["streak_7"]["unlocked"] and mine["streak_30"]["progress"]["current"] == 14

    clock.set(day(14))
    wrong = attempt(api, "sam", "whole_numbers", "t0", correct=False).json()
    assert wrong["xp_awarded"] == 0 and wrong["streak"] is None and wrong["achievements_unlocked"] == []
    streak = api.get("/v1/users/sam/streak").json()
    assert (streak["current"], streak["today_active"], streak["at_risk"]) == (14, False, True)
    assert streak["last_active_date"] == "2026-12-04"
    only_wrong = attempt(api, "wes", "whole_numbers", "t0", correct=False).json()
    assert only_wrong["streak"] is None
    assert api.get("/v1/users/wes/streak").json()["last_active_date"] is None


def test_a_replayed_attempt_does_not_count_twice(api, clock, dynamo, tenant):
    clock.set(day(0))
    first = attempt(api, "rae", "whole_numbers", "t1", key="streak-1")
    assert first.json()["streak"] == {"current": 1, "longest": 1, "extended": True}
    clock.set(day(1))  # the retry comes a day late: the first day's answer again, nothing written
    again = attempt(api, "rae", "whole_numbers", "t1", key="streak-1")
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json() == first.json()
    streak = api.get("/v1/users/rae/streak").json()
    assert (streak["current"], streak["last_active_date"], streak["today_active"]) == (1, "2026-11-21", False)
    assert len(dynamo.ledger(tenant.id)) == 1


@pytest.mark.race
def test_racing_attempts_on_the_seventh_date_unlock_and_pay_the_milestone_once(dynamo, tenant):
    store = Store(dynamo.client, dynamo.table)
    for n in range(6):
        uc = TopicUseCases(Engine(load_rules(), store, now=lambda n=n: day(n)))
        assert run(uc, tenant, "ray", "whole_numbers", f"d{n}")["streak"]["current"] == n + 1
    uc = TopicUseCases(Engine(load_rules(), store, now=lambda: day(6), **RACE_RETRY))
    with ThreadPoolExecutor(max_workers=8) as pool:
        bodies = list(pool.map(lambda i: run(uc, tenant, "ray", "whole_numbers", f"race-{i}"), range(8)))
    assert sorted(b["streak"]["extended"] for b in bodies) == [False] * 7 + [True]
    assert all(b["streak"]["current"] == 7 for b in bodies)
    assert [u["id"] for b in bodies for u in b["achievements_unlocked"]] == ["streak_7"]
    assert sum(i["sk"] == "ACH#streak_7" for i in dynamo.items(tenant.id)) == 1
    assert [e["amount"] for e in dynamo.ledger(tenant.id, "COIN") if e["reason"] == "streak_milestone:7"] == [50]
    profile = store.get(keys.profile_key(tenant.id, "ray"))
    assert profile["total_xp"] == sum(e["xp"] for e in dynamo.ledger(tenant.id))
