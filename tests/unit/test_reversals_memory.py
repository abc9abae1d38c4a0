"""Reversals on the in-memory store (gamification.dal.memory): what the compensating entry
records and moves when the rules have an XP floor, and a reversal of a topic attempt, without
any DynamoDB server (races and boards: tests/integration/test_reversals.py)."""

from datetime import datetime, timezone

import pytest

from gamification.api.reversal_models import ReversalRequest
from gamification.api.models import AwardXpRequest
from gamification.api.topic_models import TopicAttemptRequest
from gamification.dal import keys
from gamification.domain.errors import TopicLocked
from gamification.domain.ledger import AlreadyReversed
from gamification.domain.rules import load_rules, parse_rules
from gamification.usecases.engine import Engine
from gamification.usecases.ledger import Ledger
from gamification.usecases.topics import TopicUseCases

from ..signed_rules import SIGNED_RULES

NOON = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)
T = "mem"


@pytest.fixture
def engine(store):
    return Engine(parse_rules(SIGNED_RULES), store, now=lambda: NOON, max_attempts=5, retry_budget_s=5)


def xp(engine, user, action, **kw):
    return engine.award_xp(T, user, AwardXpRequest(action=action, **kw), None).body


def last_xp_entry(store, user, action):
    pk = keys.user_pk(T, user)
    return [i for (p, sk), i in sorted(store.items.items()) if p == pk and sk.startswith("XP#")
            and i.get("action") == action][-1]  # fmt: skip


def reverse(engine, user, item, reason="fraud"):
    return Ledger(engine).reverse(T, user, keys.entry_id(item["sk"]), ReversalRequest(reason=reason), None).body


def stored(store, body):
    sk = keys.entry_sk(body["entry_id"])
    return store.items[(keys.user_pk(T, body["user_id"]), sk)]


def test_a_reversal_after_a_floored_penalty_takes_back_nothing_below_the_floor(engine, store):
    xp(engine, "se", "upvoted")  # 1 + 10
    upvote = last_xp_entry(store, "se", "upvoted")
    penalty = xp(engine, "se", "bounty_offered", amount=-500)
    assert (penalty["total_xp"], penalty["floored"]) == (1, True)
    body = reverse(engine, "se", upvote)
    assert (body["amount"], body["total_xp"], body["floored"], body["boards"]) == (0, 1, True, [])
    assert store.get(keys.profile_key(T, "se"))["total_xp"] == 1
    entry = stored(store, body)
    assert (entry["xp"], entry["xp_requested"], entry["floored"], entry["total_xp"]) == (0, -10, True, 1)
    assert entry["board_delta"] == entry["xp"] and entry["level"] == 1
    assert store.get(upvote)["reversed_by"] == body["entry_id"]


def test_a_reversal_cut_by_the_floor_moves_the_day_and_the_boards_by_the_cut_amount(engine, store):
    xp(engine, "cut", "upvoted")  # 11; the day's XP 10
    upvote = last_xp_entry(store, "cut", "upvoted")
    xp(engine, "cut", "downvoted")  # 9; the day's XP 8
    body = reverse(engine, "cut", upvote)
    assert (body["amount"], body["total_xp"], body["floored"]) == (-8, 1, True)
    entry = stored(store, body)
    assert (entry["xp"], entry["board_delta"], entry["floored"]) == (-8, -8, True)
    usage = store.get(keys.usage_key(T, "cut", "2026-11-21"))
    assert (usage["xp_gained"], usage["n_upvoted"]) == (0, 0)
    pk = keys.user_pk(T, "cut")
    assert sum(i["xp"] for (p, sk), i in store.items.items() if p == pk and sk.startswith("XP#")) == 1


def test_a_reversal_with_room_above_the_floor_is_whole_and_not_floored(engine, store):
    xp(engine, "ok", "upvoted")
    xp(engine, "ok", "upvoted")  # 21
    body = reverse(engine, "ok", last_xp_entry(store, "ok", "upvoted"))
    assert (body["amount"], body["total_xp"], body["floored"]) == (-10, 11, False)
    assert "floored" not in stored(store, body)


def test_the_floor_of_a_reversal_is_a_condition_of_its_write(engine, store):
    xp(engine, "dc", "upvoted")
    xp(engine, "dc", "downvoted")  # 9
    commits = []
    real = store.commit
    store.commit = lambda tx: (commits.append(tx), real(tx))[1]
    reverse(engine, "dc", last_xp_entry(store, "dc", "upvoted"))
    (tx,) = commits
    (profile,) = [i["Update"] for i in tx.items if "Update" in i and i["Update"]["Key"]["sk"] == {"S": "PROFILE"}]
    assert "#xp >= :xpmin" in profile["ConditionExpression"]
    assert profile["ExpressionAttributeValues"][":xpmin"] == {"N": "9"}  # floor 1 - (-8)


# ---- topics: a reversal of a topic's entry takes its XP back from the topic -------------------


@pytest.fixture
def topics(store):
    return TopicUseCases(Engine(load_rules(), store, now=lambda: NOON, max_attempts=5, retry_budget_s=5))


def attempt(uc, task, topic="whole_numbers", correct=True):
    return uc.attempt(T, "ann", topic, TopicAttemptRequest(task_id=task, correct=correct), None).body


def task_entry(store, task):
    """The XP entry of the attempt on ``task`` (the frozen clock gives every entry one time)."""
    return next(i for (p, sk), i in store.items.items() if sk.startswith("XP#") and i.get("task_id") == task)


def topic_status(uc, name):
    return next(t for t in uc.topics(T, "ann").body["topics"] if t["topic"] == name)


def test_reversing_a_topic_attempt_takes_its_xp_back_from_the_topic(topics, store):
    attempt(topics, "t1")  # 10 XP
    entry = task_entry(store, "t1")
    body = reverse(topics.ctx, "ann", entry)
    assert (body["amount"], body["total_xp"]) == (-10, 0)
    assert (topic_status(topics, "whole_numbers")["xp"], topic_status(topics, "whole_numbers")["level"]) == (0, 1)
    item = store.get(keys.topic_key(T, "ann", "whole_numbers"))
    assert (item["xp"], item["level"], item["version"]) == (0, 1, 2)
    rev = stored(store, body)
    assert (rev["topic"], rev["topic_xp"], rev["xp"]) == ("whole_numbers", 0, -10)
    pk = keys.user_pk(T, "ann")
    topic_entries = [i for (p, sk), i in store.items.items() if p == pk and sk.startswith("XP#")
                     and i.get("topic") == "whole_numbers"]  # fmt: skip
    assert sum(i["xp"] for i in topic_entries) == item["xp"]
    # The XP only: the day's task count and the task's review schedule stay.
    assert store.get(keys.topic_day_key(T, "ann", "2026-11-21"))["n_whole_numbers"] == 1
    task = store.get(keys.task_key(T, "ann", "whole_numbers", "t1"))
    assert (task["srs_stage"], task["next_review_date"]) == (1, "2026-11-22")
    usage = store.get(keys.usage_key(T, "ann", "2026-11-21"))
    assert (usage["xp_gained"], usage["n_topic:whole_numbers"]) == (0, 0)
    with pytest.raises(AlreadyReversed):
        reverse(topics.ctx, "ann", entry)
    assert store.get(keys.topic_key(T, "ann", "whole_numbers"))["xp"] == 0


def test_a_prerequisite_reached_by_the_reversed_xp_locks_its_topic_again(topics, store):
    for i in range(5):
        attempt(topics, f"t{i}")  # 50 XP: whole_numbers level 2 unlocks fractions
    assert topic_status(topics, "fractions")["locked"] is False
    reverse(topics.ctx, "ann", task_entry(store, "t4"))
    whole = topic_status(topics, "whole_numbers")
    assert (whole["xp"], whole["level"]) == (40, 1)
    assert topic_status(topics, "fractions")["missing_prerequisites"] == ["whole_numbers"]
    with pytest.raises(TopicLocked):
        attempt(topics, "f1", topic="fractions")
    assert attempt(topics, "t9")["topic"]["xp"] == 45  # the half tier: the day's count stayed at 5


def test_reversing_a_wrong_attempt_moves_neither_the_topic_nor_the_days_counts(topics, store):
    attempt(topics, "t1")
    attempt(topics, "t2", correct=False)
    wrong = task_entry(store, "t2")
    assert wrong["xp"] == 0
    before = store.get(keys.topic_key(T, "ann", "whole_numbers"))
    body = reverse(topics.ctx, "ann", wrong)
    assert (body["amount"], body["total_xp"]) == (0, 10)
    assert store.get(keys.topic_key(T, "ann", "whole_numbers")) == before
    usage = store.get(keys.usage_key(T, "ann", "2026-11-21"))
    assert (usage["xp_gained"], usage["n_topic:whole_numbers"]) == (10, 1)


def test_reversing_an_imported_entry_leaves_the_days_usage_alone(store):
    """An imported XP entry never counted on the engine's day usage: reversing it must not
    hand the user back cap room or action counts that today's awards used."""
    from gamification.ops.imports import Entry, apply

    engine = Engine(load_rules(), store, now=lambda: NOON, max_attempts=5, retry_budget_s=5)
    xp(engine, "imp", "forked")
    usage_key = (keys.user_pk(T, "imp"), "DAY#2026-11-21")
    before = dict(store.items[usage_key])
    apply(store, T, "xp_transactions", [Entry(1, "imp", "xp", 40, "forked", NOON.replace(hour=9), "r1")], NOON)
    imported = [i for (p, sk), i in store.items.items() if p == usage_key[0] and i.get("imported_from")][0]
    body = reverse(engine, "imp", imported)
    assert body["total_xp"] == 10  # the forked award's XP only
    assert store.items[usage_key] == before
