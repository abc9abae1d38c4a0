"""Batched backfill (``replay(batch=True)``): every item it leaves in the table equals what
the one-by-one replay leaves (profiles, day usage, ledgers, streaks, achievements, unlock
counts, once-markers, idempotency records), a refused batch is redone one by one, and a
crash after a batch's write is answered by the idempotency keys."""

from __future__ import annotations

import json
import random
import re
from datetime import datetime, timedelta, timezone

import pytest
from gamification.dal.batch_store import BatchStore
from gamification.dal.items import stored_response
from gamification.dal.store import Store, WriteConflict
from gamification.domain.rules import load_rules
from gamification.usecases.engine import Engine

from tests.integration.test_replay import RULES, activity, write_jsonl
from tools.ops import replay as rp

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)
DEFAULT = load_rules()  # streaks with milestones, achievements (counted in shards), coin rewards, limits


def mixed_activity(seed=5, users=3, days=9):
    """XP actions and coin rewards of the bundled rules over consecutive days (streak
    milestones at 7), with repeats that hit daily limits and once-windows."""
    rnd = random.Random(seed)
    rows = []
    actions = ["daily_chat", "create_character", "create_scene", "character_liked", "forked", "paid_char_sold"]
    for d in range(days):
        day = datetime(2025, 3, 1, 8, tzinfo=timezone.utc) + timedelta(days=d)
        for u in range(1, users + 1):
            for n in range(rnd.randint(1, 9)):
                when = (day + timedelta(minutes=7 * n)).isoformat()
                if rnd.random() < 0.25:
                    reason = rnd.choice(["daily_login", "daily_goal", "variant_clear"])
                    row = {"user": f"m{u}", "reason": reason, "occurred_at": when}
                    if reason == "daily_goal":
                        row["tier"] = rnd.choice(["easy", "hard"])
                    if reason == "variant_clear":
                        row["scope"] = f"v{rnd.randint(1, 3)}"
                else:
                    row = {"user": f"m{u}", "action": rnd.choice(actions), "occurred_at": when}
                rows.append(row)
    return rows


def run(dynamo, rules, tenant, events, state, **kw):
    engine = Engine(rules, Store(dynamo.client, dynamo.table), now=lambda: NOW, backfill=True)
    journal = rp.Journal(state, {"input": "t", "tenant": tenant, "table": dynamo.table})
    try:
        return rp.replay(engine, tenant, events, journal, progress=False, **kw)
    finally:
        journal.close()


def snapshot(dynamo, tenant):
    """Every item of ``tenant``, with the tenant's name and the random event ids blanked, and
    keyed entries in one layout (:func:`readable`)."""
    return sorted(
        re.sub(r"[0-9a-f]{32}", "<id>", json.dumps(item, sort_keys=True, default=str).replace(tenant, "<tenant>"))
        for stored in dynamo.items(tenant) for item in readable(stored)
    )


def readable(item):
    """``item`` as the items it stands for, answers decoded. Whether a keyed entry shares
    one item with its Idempotency-Key's record depends on the compressed answer's size,
    which the answer's random ids move by a few bytes (docs/ledger-and-events.md): so a
    keyed entry is shown as the entry of the user's partition and the record it holds."""
    if item.get("sk") != "IDEM":
        return [item]
    record = {"pk": item["pk"], "sk": "IDEM", "fingerprint": item["fingerprint"], "response": stored_response(item)}
    if "ledger_sk" not in item:
        return [record]
    rest, kind = item["ledger_sk"].rsplit("#", 1)
    entry = {k: v for k, v in item.items() if k not in ("fingerprint", "response_z")}
    return [{**entry, "pk": item["ledger_pk"], "sk": f"{kind}#{rest}"}, record]


@pytest.mark.parametrize("workers", [1, 3])
def test_batched_replay_leaves_exactly_the_items_of_the_one_by_one_replay(scratch, tmp_path, workers):
    path = write_jsonl(tmp_path / "m.jsonl", mixed_activity())
    events = rp.in_time_order(rp.with_keys(rp.read_activity(path)))
    slow = run(scratch, DEFAULT, f"bq-slow{workers}", events, tmp_path / "slow.journal")
    fast = run(scratch, DEFAULT, f"bq-fast{workers}", events, tmp_path / "fast.journal", batch=True, workers=workers)
    assert fast.outcomes == slow.outcomes and (fast.xp, fast.coins) == (slow.xp, slow.coins)
    # The activity exercised limits, once-windows, streak milestones and achievements.
    assert slow.outcomes["rejected:action_limit_reached"] and slow.outcomes["already_awarded"]
    items = snapshot(scratch, f"bq-slow{workers}")
    assert any('"reason": "streak_milestone' in i or "milestone" in i for i in items)
    assert any('"achievement": ' in i for i in items)
    assert snapshot(scratch, f"bq-fast{workers}") == items


def test_caps_floors_and_variable_amounts_match_too(scratch, tmp_path):
    path = write_jsonl(tmp_path / "c.jsonl", activity(n=300, seed=31))
    events = rp.in_time_order(rp.with_keys(rp.read_activity(path)))
    slow = run(scratch, RULES, "bc-slow", events, tmp_path / "slow.journal")
    fast = run(scratch, RULES, "bc-fast", events, tmp_path / "fast.journal", batch=True)
    assert slow.outcomes["rejected:daily_xp_cap_reached"] and slow.outcomes["floored"] and slow.outcomes["capped"]
    assert fast.outcomes == slow.outcomes
    assert snapshot(scratch, "bc-fast") == snapshot(scratch, "bc-slow")


def test_a_batch_refused_by_dynamodb_is_redone_one_by_one(scratch, tmp_path, monkeypatch):
    """A live award lands on the user between the batch's decisions and its write: the
    batch's condition on the profile version refuses it, nothing of
    it is written, and its events are applied one by one on top of the live award."""
    rows = [r for r in activity(n=120, seed=3) if r["user"] == "u1"]
    path = write_jsonl(tmp_path / "r.jsonl", rows)
    events = rp.in_time_order(rp.with_keys(rp.read_activity(path)))
    earlier = rp.Event(line=0, user="u1", occurred_at=events[0].occurred_at, action="up", key="earlier-1")
    # On a day none of the replayed events is on: only the profile tells the batch apart.
    live = rp.Event(line=0, user="u1", occurred_at=datetime(2025, 2, 1, tzinfo=timezone.utc), action="up", key="live-1")
    engine = Engine(RULES, Store(scratch.client, scratch.table), now=lambda: NOW, backfill=True)
    for tenant in ("br-fast", "br-ref"):  # the user exists before the replay reads it
        rp.apply_event(engine, tenant, earlier)
    real_flush, refused = BatchStore.flush, []

    def flush_after_a_live_award(self):
        if not refused:
            rp.apply_event(engine, "br-fast", live)
            try:
                return real_flush(self)
            except WriteConflict:
                refused.append(True)
                raise
        return real_flush(self)

    monkeypatch.setattr(BatchStore, "flush", flush_after_a_live_award)
    fast = run(scratch, RULES, "br-fast", events, tmp_path / "fast.journal", batch=True)
    monkeypatch.setattr(BatchStore, "flush", real_flush)
    assert refused and fast.applied_now == len(events)
    ref = run(scratch, RULES, "br-ref", [live, *events], tmp_path / "ref.journal")
    assert ref.outcomes["awarded"] == fast.outcomes["awarded"] + 1  # the live one
    assert snapshot(scratch, "br-fast") == snapshot(scratch, "br-ref")


def test_a_crash_after_a_batch_was_written_is_answered_by_the_keys(scratch, tmp_path, monkeypatch):
    path = write_jsonl(tmp_path / "k.jsonl", activity(n=150, seed=13))
    events = rp.in_time_order(rp.with_keys(rp.read_activity(path)))
    run(scratch, RULES, "bk-ref", events, tmp_path / "ref.journal")
    real_flush, calls = BatchStore.flush, {"n": 0}

    def flush_then_crash(self):
        n = real_flush(self)
        calls["n"] += 1
        if calls["n"] == 2:
            raise TimeoutError("killed after DynamoDB committed the batch, before its journal lines")
        return n

    monkeypatch.setattr(BatchStore, "flush", flush_then_crash)
    with pytest.raises(TimeoutError):
        run(scratch, RULES, "bk-crash", events, tmp_path / "crash.journal", batch=True)
    monkeypatch.setattr(BatchStore, "flush", real_flush)
    resumed = run(scratch, RULES, "bk-crash", events, tmp_path / "crash.journal", batch=True)
    assert resumed.outcomes["duplicate"] > 1  # the unjournaled batch, redone one by one
    assert snapshot(scratch, "bk-crash") == snapshot(scratch, "bk-ref")
