"""The topic attempt use case on the in-memory store: its writes, the lost-response retry
and replays, without any DynamoDB server (races: tests/integration/test_topics.py)."""

from datetime import datetime, timedelta, timezone

from gamification.api.topic_models import TopicAttemptRequest
from gamification.dal import keys
from gamification.dal.memory import MemoryStore
from gamification.domain.rules import load_rules, parse_rules
from gamification.usecases import streak_read
from gamification.usecases.engine import Engine
from gamification.usecases.topics import TopicUseCases

NOON = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)
T = "mem"


def setup():
    store = MemoryStore()
    return store, TopicUseCases(Engine(load_rules(), store, now=lambda: NOON, max_attempts=5, retry_budget_s=5))


def run(uc, task, correct=True, key=None):
    return uc.attempt(T, "ann", "whole_numbers", TopicAttemptRequest(task_id=task, correct=correct), key)


def test_an_attempt_writes_task_topic_counter_entry_profile_and_usage():
    store, uc = setup()
    body = run(uc, "t1", key="k1").body
    assert body["xp_awarded"] == 10 and body["total_xp"] == 10
    task = store.get(keys.task_key(T, "ann", "whole_numbers", "t1"))
    topic = store.get(keys.topic_key(T, "ann", "whole_numbers"))
    assert (task["srs_stage"], task["next_review_date"], task["review_sk"]) == (1, "2026-11-22", "2026-11-22#whole_numbers#t1")
    assert (topic["xp"], topic["due"], topic["tasks"], topic["version"]) == (10, {"2026-11-22": 1}, 1, 1)
    assert store.get(keys.topic_day_key(T, "ann", "2026-11-21"))["n_whole_numbers"] == 1
    assert store.get(keys.usage_key(T, "ann", "2026-11-21"))["xp_gained"] == 10
    assert store.get(keys.profile_key(T, "ann"))["total_xp"] == 10
    replay = run(uc, "t1", key="k1")
    assert replay.replayed and replay.body == body


def test_a_wrong_answer_writes_no_profile_and_no_usage():
    store, uc = setup()
    body = run(uc, "t1", correct=False).body
    assert body["xp_awarded"] == 0 and body["topic"]["daily_tasks"] == 0
    assert store.get(keys.profile_key(T, "ann")) is None
    assert store.get(keys.usage_key(T, "ann", "2026-11-21")) is None
    assert store.get(keys.topic_day_key(T, "ann", "2026-11-21")) is None


def test_a_commit_that_landed_but_answered_an_error_is_not_applied_twice():
    store, uc = setup()
    real = store.commit
    calls = []

    def lost_response(tx):
        real(tx)
        calls.append(1)
        if len(calls) == 1:
            from gamification.dal.store import WriteConflict

            raise WriteConflict(["ConditionalCheckFailed"])

    store.commit = lost_response
    body = run(uc, "t1").body
    assert body["xp_awarded"] == 10 and len(calls) == 1
    assert store.get(keys.topic_key(T, "ann", "whole_numbers"))["xp"] == 10


# ---- streaks and achievements (docs/streaks.md, docs/achievements.md) -------------------------


class Clock:
    def __init__(self, at):
        self.at = at

    def __call__(self):
        return self.at


def setup_clocked(rules=None):
    store, clock = MemoryStore(), Clock(NOON)
    engine = Engine(rules or load_rules(), store, now=clock, max_attempts=5, retry_budget_s=5)
    return store, clock, TopicUseCases(engine), engine


def entries(store, user, prefix):
    pk = keys.user_pk(T, user)
    return [item for (p, sk), item in sorted(store.items.items()) if p == pk and sk.startswith(prefix)]


def test_correct_attempts_on_consecutive_days_build_the_streak_and_pay_its_milestone_once():
    store, clock, uc, engine = setup_clocked()
    for n in range(14):
        clock.at = NOON + timedelta(days=n)
        body = run(uc, f"t{n}").body
        assert body["xp_awarded"] == 10
        assert body["streak"] == {"current": n + 1, "longest": n + 1, "extended": True}
        if n == 6:  # the 7th active date: the milestone's 50 coins and the streak_7 badge
            assert [u["id"] for u in body["achievements_unlocked"]] == ["streak_7"]
            assert body["coins_awarded"] >= 50
        else:
            assert body["achievements_unlocked"] == []
    streak = streak_read.streak(engine, T, "ann").body
    assert (streak["current"], streak["longest"], streak["last_active_date"]) == (14, 14, "2026-12-04")
    assert streak["today_active"] is True
    profile = store.get(keys.profile_key(T, "ann"))
    assert profile["coins_balance"] == body["coins_balance"] and profile["total_xp"] == body["total_xp"] == 140
    assert list(profile["achievements"]) == ["streak_7"]
    # A topic attempt is no action: it adds to no action_count (criteria name actions only).
    assert "topic:whole_numbers" not in (profile.get("action_counts") or {})
    assert [e["amount"] for e in entries(store, "ann", "COIN#") if e["reason"] == "streak_milestone:7"] == [50]
    assert len(entries(store, "ann", "ACH#streak_7")) == 1


def test_a_second_attempt_of_the_day_does_not_extend_and_a_wrong_one_does_not_qualify():
    store, clock, uc, engine = setup_clocked()
    wrong = run(uc, "t0", correct=False).body
    assert wrong["streak"] is None and wrong["achievements_unlocked"] == []
    streak = streak_read.streak(engine, T, "ann").body
    assert (streak["current"], streak["last_active_date"], streak["today_active"]) == (0, None, False)
    assert store.get(keys.profile_key(T, "ann")) is None  # a wrong attempt still writes no profile
    assert run(uc, "t1").body["streak"] == {"current": 1, "longest": 1, "extended": True}
    assert run(uc, "t2").body["streak"] == {"current": 1, "longest": 1, "extended": False}
    clock.at = NOON + timedelta(days=1)
    assert run(uc, "t3", correct=False).body["streak"] is None
    streak = streak_read.streak(engine, T, "ann").body
    assert (streak["current"], streak["today_active"], streak["at_risk"]) == (1, False, True)


def test_a_replayed_attempt_counts_once():
    store, clock, uc, engine = setup_clocked()
    first = run(uc, "t1", key="k1")
    profile = store.get(keys.profile_key(T, "ann"))
    clock.at = NOON + timedelta(days=1)  # the replay arrives the next day: still the first day's answer
    again = run(uc, "t1", key="k1")
    assert again.replayed and again.body == first.body
    assert store.get(keys.profile_key(T, "ann")) == profile
    assert len(entries(store, "ann", "XP#")) == 1
    streak = streak_read.streak(engine, T, "ann").body
    assert (streak["current"], streak["last_active_date"], streak["today_active"]) == (1, "2026-11-21", False)


RULES = {
    "version": 1,
    "timezone": "UTC",
    "levels": [{"level": 1, "name": "A", "xp": 0}, {"level": 2, "name": "B", "xp": 1000}],
    "daily_xp_caps": [],
    "actions": {"lesson": {"xp": 20}},
    "streaks": {"daily": {"qualifying": "any"}},
    "achievements": {"xp_20": {"name": "Twenty", "category": "milestones", "criteria": {"total_xp": 20},
                               "reward": {"xp": 5}}},
    "topics": {"small": {"title": "Small", "base_xp": 10, "max_xp": 25}},
}


def small(uc, task, key=None):
    return uc.attempt(T, "ann", "small", TopicAttemptRequest(task_id=task, correct=True), key).body


def test_topic_xp_unlocks_achievements_with_cap_exempt_rewards_in_the_attempts_transaction():
    store, _clock, uc, _engine = setup_clocked(parse_rules(RULES))
    assert small(uc, "t1")["achievements_unlocked"] == []
    body = small(uc, "t2")
    assert body["achievements_unlocked"] == [{"id": "xp_20", "name": "Twenty", "category": "milestones",
                                              "reward": {"xp": 5, "coins": 0}, "badge": False}]  # fmt: skip
    assert (body["xp_awarded"], body["total_xp"]) == (10, 25)
    assert store.get(keys.profile_key(T, "ann"))["total_xp"] == 25
    (reward,) = [e for e in entries(store, "ann", "XP#") if e["reason"] == "achievement:xp_20"]
    assert reward["xp"] == 5 and reward["cap_exempt"] is True
    (entry,) = [e for e in entries(store, "ann", "XP#") if e.get("task_id") == "t2"]
    assert entry["total_xp"] == 20  # the attempt's own entry: its XP only
    assert store.get(keys.usage_key(T, "ann", "2026-11-21"))["xp_gained"] == 20  # reward XP is cap-exempt
    assert store.get(keys.topic_key(T, "ann", "small"))["xp"] == 20  # and not topic XP


def test_a_maxed_attempt_earns_nothing_and_does_not_qualify_its_date():
    _store, clock, uc, engine = setup_clocked(parse_rules(RULES))
    assert [small(uc, f"t{i}")["xp_awarded"] for i in range(3)] == [10, 10, 5]
    clock.at = NOON + timedelta(days=1)
    maxed = small(uc, "t9")
    assert maxed["maxed"] is True and maxed["xp_awarded"] == 0 and maxed["streak"] is None
    streak = streak_read.streak(engine, T, "ann").body
    assert (streak["current"], streak["last_active_date"], streak["today_active"]) == (1, "2026-11-21", False)


def test_a_streak_of_listed_actions_does_not_count_topic_attempts():
    rules = parse_rules({**RULES, "streaks": {"daily": {"qualifying": ["lesson"]}}})
    _store, _clock, uc, engine = setup_clocked(rules)
    assert small(uc, "t1")["streak"] is None
    assert streak_read.streak(engine, T, "ann").body["current"] == 0
