"""The operator CLIs as an operator runs them: against TABLE_NAME on the test endpoint."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from gamification.dal.store import Store
from gamification.ops import migrations
from gamification.domain.rules import load_rules
from gamification.usecases.engine import Engine

from tools.local import backend

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def table(dynamo):
    name = f"cli-{uuid.uuid4().hex[:8]}"
    backend.create_table(dynamo.client, name, ttl=False)
    yield name
    dynamo.client.delete_table(TableName=name)


def cli(*args, table):
    env = {**os.environ, "TABLE_NAME": table}
    proc = subprocess.run([sys.executable, "-m", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_migrate_up_and_status(table):
    assert "pending" in cli("tools.ops.migrate", "status", table=table)
    count = len(migrations.discover())
    assert f"applied {count} migration(s)" in cli("tools.ops.migrate", "up", table=table)
    out = cli("tools.ops.migrate", "status", table=table)
    assert out.count("applied") == count and "pending" not in out
    assert "nothing to apply" in cli("tools.ops.migrate", "up", table=table)


def test_importer(dynamo, table, tmp_path):
    csv_path = tmp_path / "coin_log.csv"
    csv_path.write_text("id,user_id,amount,reason,created_at\n1,ann,10,daily_login,2026-05-01 08:00:00\n")
    out = cli("tools.ops.importer", "coin_log", str(csv_path), "--tenant", "imp", table=table)
    assert "1 entries written" in out
    out = cli("tools.ops.importer", "coin_log", str(csv_path), "--tenant", "imp", table=table)
    assert "1 already imported" in out
    engine = Engine(load_rules(), Store(dynamo.client, table))
    assert engine.profile("imp", "ann").body["coins_balance"] == 10


def test_the_http_api_cannot_ask_for_backfill(api):
    r = api.xp("zed", "forked", occurred_at="2020-01-01T00:00:00Z", backfill=True)
    assert r.status_code == 400
    r = api.xp("zed", "forked", occurred_at="2020-01-01T00:00:00Z")
    assert r.status_code == 400 and r.json()["error"]["field"] == "occurred_at"
    from gamification import runtime

    assert runtime.engine().backfill is False


def test_replay_cli_on_a_table_resumes_across_processes(dynamo, table, tmp_path):
    import json

    rows = [{"user": f"u{i % 3}", "action": "forked", "occurred_at": f"2025-03-0{1 + i % 2}T10:00:00Z"} for i in range(12)]
    path = tmp_path / "a.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    state, out = tmp_path / "state.jsonl", tmp_path / "summary.json"
    base = ("tools.ops.replay", "run", str(path), "--tenant", "rc", "--backfill", "--no-progress", "--state", str(state),
            "--summary-json", str(out))
    cli(*base, "--stop-after", "5", table=table)
    assert json.loads(out.read_text())["applied_this_run"] == 5
    cli(*base, table=table)
    summary = json.loads(out.read_text())
    assert (summary["resumed_from"], summary["applied_this_run"], summary["outcomes"]) == (5, 7, {"awarded": 12})
    engine = Engine(load_rules(), Store(dynamo.client, table))
    assert [engine.profile("rc", f"u{i}").body["total_xp"] for i in range(3)] == [40, 40, 40]


def test_coins_cli_grants_adjusts_and_refuses_an_overdraft(table):
    import json as _json

    out = cli("tools.ops.coins", "grant", "ops-user", "--amount", "30", "--reason", "support", "--tenant", "ops", table=table)
    assert _json.loads(out)["balance"] == 30
    out = cli("tools.ops.coins", "adjust", "ops-user", "--amount", "-10", "--reason", "chargeback", "--tenant", "ops", table=table)
    assert _json.loads(out)["balance"] == 20
    env = {**os.environ, "TABLE_NAME": table}
    proc = subprocess.run(
        [sys.executable, "-m", "tools.ops.coins", "adjust", "ops-user", "--amount", "-21", "--reason", "x", "--tenant", "ops"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 1 and "insufficient_coins" in proc.stderr


def test_importer_refuses_a_malformed_row_naming_file_row_and_field_and_writes_nothing(dynamo, table, tmp_path):
    csv_path = tmp_path / "coin_log.csv"
    csv_path.write_text(
        "id,user_id,amount,reason,created_at\n"
        "1,ann,10,daily_login,2026-05-01 08:00:00\n"
        "2,bob,ten,daily_login,2026-05-01 08:00:00\n"
    )
    env = {**os.environ, "TABLE_NAME": table}
    proc = subprocess.run(
        [sys.executable, "-m", "tools.ops.importer", "coin_log", str(csv_path), "--tenant", "bad"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2
    message = " ".join(proc.stderr.split())  # typer wraps long messages in a box
    assert "coin_log.csv" in message and "row 3" in message and "amount" in message and "nothing was written" in message
    scan = dynamo.client.scan(TableName=table, ConsistentRead=True)["Items"]
    assert not [i for i in scan if i["pk"]["S"].startswith("T#bad#")]
