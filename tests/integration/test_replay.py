"""The replay tool: time order, derived idempotency keys, backfill, and resuming after an
interruption (or a crash between the write and the journal) without doubling anything."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from gamification.dal.store import Store
from gamification.domain.rules import parse_rules
from gamification.usecases.engine import Engine

from tools.ops import replay as rp

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)
ROOT = Path(__file__).resolve().parents[2]
RULES = parse_rules(
    {
        "version": 1,
        "levels": [{"level": 1, "name": "One", "xp": 0}, {"level": 2, "name": "Two", "xp": 200}],
        "daily_xp_caps": [{"levels": [1, 1], "cap": 60}, {"levels": [2, 2], "cap": 100}],
        "xp": {"start": 1, "floor": 1},
        "actions": {
            "up": {"xp": 10},
            "down": {"xp": -2},
            "accept": {"xp": 15, "cap_exempt": True, "daily_limit": 3},
            "bounty": {"min": -100, "max": 100, "cap_exempt": True},
        },
    }
)


def activity(n=150, seed=7):
    rnd = random.Random(seed)
    rows = []
    for _ in range(n):
        day = datetime(2025, 3, 1, tzinfo=timezone.utc) + timedelta(days=rnd.randint(0, 3), hours=rnd.randint(0, 23))
        action = rnd.choice(["up"] * 6 + ["down", "down", "accept", "bounty"])
        row = {"user": f"u{rnd.randint(1, 4)}", "action": action, "occurred_at": day.isoformat()}
        if action == "bounty":
            row["amount"] = rnd.choice([-50, 50, 100])
        rows.append(row)
    return rows


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def engine_for(dynamo, backfill=True):
    return Engine(RULES, Store(dynamo.client, dynamo.table), now=lambda: NOW, backfill=backfill)


def run(dynamo, tenant, path, state, **kw):
    events = rp.in_time_order(rp.with_keys(rp.read_activity(path)))
    journal = rp.Journal(state, {"input": rp.file_digest(path), "tenant": tenant, "table": dynamo.table})
    try:
        return rp.replay(engine_for(dynamo), tenant, events, journal, progress=False, **kw)
    finally:
        journal.close()


def totals(engine, tenant, users=("u1", "u2", "u3", "u4")):
    return {u: engine.profile(tenant, u).body["total_xp"] for u in users}


def test_interrupted_and_resumed_replay_ends_with_the_same_totals(dynamo, tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", activity())
    whole = run(dynamo, "rp-whole", path, tmp_path / "whole.journal")
    first = run(dynamo, "rp-split", path, tmp_path / "split.journal", stop_after=57)
    assert first.applied_now == 57
    second = run(dynamo, "rp-split", path, tmp_path / "split.journal")
    assert second.resumed_from == 57 and second.applied_now == 150 - 57
    eng = engine_for(dynamo)
    assert totals(eng, "rp-split") == totals(eng, "rp-whole")
    assert second.outcomes == whole.outcomes and second.xp == whole.xp
    assert any(k.startswith("rejected:") for k in whole.outcomes)  # caps and limits were exercised
    assert whole.outcomes["floored"] + whole.outcomes["capped"] > 0
    again = run(dynamo, "rp-whole", path, tmp_path / "whole.journal")  # a finished replay is a no-op
    assert again.applied_now == 0 and totals(eng, "rp-whole") == totals(eng, "rp-split")


def test_a_crash_between_the_write_and_the_journal_is_not_doubled(dynamo, tmp_path, monkeypatch):
    path = write_jsonl(tmp_path / "b.jsonl", activity(n=90, seed=11))
    run(dynamo, "rp-ref", path, tmp_path / "ref.journal")
    state = tmp_path / "crash.journal"
    calls = {"n": 0}
    real_commit = Store.commit

    def commit_then_crash(self, tx):
        real_commit(self, tx)
        calls["n"] += 1
        if calls["n"] == 40:
            raise TimeoutError("killed after DynamoDB committed, before the journal line")

    monkeypatch.setattr(Store, "commit", commit_then_crash)
    with pytest.raises(TimeoutError):
        run(dynamo, "rp-crash", path, state)
    monkeypatch.setattr(Store, "commit", real_commit)
    resumed = run(dynamo, "rp-crash", path, state)
    assert resumed.outcomes["duplicate"] == 1  # the unjournaled line, answered by its key
    eng = engine_for(dynamo)
    assert totals(eng, "rp-crash") == totals(eng, "rp-ref")
    ledger = lambda t: sorted((e["user_id"], e["xp"]) for e in dynamo.ledger(t))  # noqa: E731
    assert ledger("rp-crash") == ledger("rp-ref")


def test_derived_keys_are_stable_and_tell_identical_lines_apart(tmp_path):
    rows = [{"user": "a", "action": "up", "occurred_at": "2025-03-01T00:00:00Z"}] * 2 + [
        {"user": "a", "action": "up", "occurred_at": "2025-03-01T00:00:00Z", "key": "mine"}
    ]
    events = rp.with_keys(rp.read_activity(write_jsonl(tmp_path / "k.jsonl", rows)))
    keys = [e.key for e in events]
    assert len(set(keys)) == 3 and keys[2] == "mine" and keys[0].startswith("replay-")
    assert [e.key for e in rp.with_keys(rp.read_activity(tmp_path / "k.jsonl"))] == keys


def test_bad_lines_are_named(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("user,action,occurred_at\nu1,up,2025-03-01T00:00:00\n")
    with pytest.raises(rp.ActivityError, match="line 2: .*offset"):
        rp.read_activity(p)


def test_without_backfill_old_events_are_refused(dynamo, tmp_path):
    path = write_jsonl(tmp_path / "c.jsonl", activity(n=5))
    events = rp.in_time_order(rp.with_keys(rp.read_activity(path)))
    journal = rp.Journal(tmp_path / "c.journal", {"input": "x", "tenant": "rp-live", "table": dynamo.table})
    summary = rp.replay(engine_for(dynamo, backfill=False), "rp-live", events, journal, progress=False)
    journal.close()
    assert summary.outcomes == {"rejected:validation_error": 5}


def test_cli_on_the_embedded_stack(tmp_path):
    rows = [{"user": "u1", "action": "forked", "occurred_at": "2025-03-01T10:00:00Z"}] * 3
    csv_path = tmp_path / "act.csv"
    csv_path.write_text("user,action,occurred_at\n" + "".join(f"{r['user']},{r['action']},{r['occurred_at']}\n" for r in rows))
    out = tmp_path / "summary.json"
    cmd = [sys.executable, "-m", "tools.ops.replay", "run", str(csv_path), "--tenant", "cli", "--local", "--backfill",
           "--no-progress", "--state", str(tmp_path / "s.journal"), "--summary-json", str(out)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text())["outcomes"] == {"awarded": 3}


def test_coin_reward_lines_go_through_award_coins(dynamo, tmp_path):
    from gamification.domain.rules import load_rules

    rows = [
        {"user": "c1", "reason": "daily_login", "occurred_at": "2025-03-01T08:00:00Z"},
        {"user": "c1", "reason": "daily_login", "occurred_at": "2025-03-01T09:00:00Z"},
        {"user": "c1", "reason": "daily_goal", "tier": "hard", "occurred_at": "2025-03-01T10:00:00Z"},
        {"user": "c1", "reason": "daily_login", "occurred_at": "2025-03-02T08:00:00Z"},
    ]
    path = write_jsonl(tmp_path / "coins.jsonl", rows)
    events = rp.in_time_order(rp.with_keys(rp.read_activity(path)))
    engine = Engine(load_rules(), Store(dynamo.client, dynamo.table), now=lambda: NOW, backfill=True)
    journal = rp.Journal(tmp_path / "coins.journal", {"input": "c", "tenant": "rp-coins", "table": dynamo.table})
    summary = rp.replay(engine, "rp-coins", events, journal, progress=False)
    journal.close()
    assert summary.outcomes == {"awarded": 3, "already_awarded": 1} and summary.coins == 60
    assert engine.profile("rp-coins", "c1").body["coins_balance"] == 60


def test_parallel_workers_end_with_the_same_totals_as_one_sequence(dynamo, tmp_path):
    path = write_jsonl(tmp_path / "p.jsonl", activity(n=90, seed=23))
    events = rp.in_time_order(rp.with_keys(rp.read_activity(path)))

    def go(tenant, state, **kw):
        journal = rp.Journal(state, {"input": "p", "tenant": tenant, "table": dynamo.table})
        try:
            return rp.replay(engine_for(dynamo), tenant, events, journal, progress=False, **kw)
        finally:
            journal.close()

    one = go("rp-seq", tmp_path / "seq.journal")
    go("rp-par", tmp_path / "par.journal", workers=4, stop_after=40)
    par = go("rp-par", tmp_path / "par.journal", workers=3)
    assert par.resumed_from == 40 and par.outcomes == one.outcomes
    eng = engine_for(dynamo)
    assert totals(eng, "rp-par") == totals(eng, "rp-seq")


def test_one_replay_per_journal_at_a_time(tmp_path):
    import typer

    first = rp.Journal(tmp_path / "j", {"input": "x"})
    with pytest.raises(typer.BadParameter, match="another replay"):
        rp.Journal(tmp_path / "j", {"input": "x"})
    first.close()
    rp.Journal(tmp_path / "j", {"input": "x"}).close()
