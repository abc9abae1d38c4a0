"""The topic attempt use case on the in-memory store: its writes, the lost-response retry
and replays, without any DynamoDB server (races: tests/integration/test_topics.py)."""

from datetime import datetime, timezone

from gamification.api.topic_models import TopicAttemptRequest
from gamification.dal import keys
from gamification.dal.memory import MemoryStore
from gamification.domain.rules import load_rules
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
