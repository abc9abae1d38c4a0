"""Importing the math-learning system's three tables: topic configs into a rules file, task
attempts and topic progress into topics, tasks and the XP ledger, keeping times."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

import pytest
import yaml

from gamification.dal.store import Store
from gamification.domain.rules import DEFAULT_RULES_FILE, parse_rules
from gamification.ops.imports import ImportRowError
from gamification.ops.topic_imports import (
    apply_attempts,
    apply_progress,
    parse_attempts,
    parse_progress,
    parse_topic_configs,
    topics_rules,
)
from gamification.usecases.engine import Engine
from gamification.usecases.topics import TopicUseCases

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)

CONFIG = """id,topicSlug,topicTitle,category,baseTaskXp,dailyFullTasks,dailyHalfTasks,multiplierFull,multiplierHalf,multiplierLow,multiplierEarly,levelThresholds,dailyXpDecay,minXpPercent,reviewIntervals,maxXp,tags
1,addition,Addition,arithmetic,10,5,5,1.00,0.50,0.10,0.50,"{0,50,150,300}",0.00,10.00,"{1,3,7,14,30}",1000,"{basics}"
2,fractions,Fractions,arithmetic,15,4,4,1.00,0.50,0.10,0.50,"[0, 75, 225]",0.05,10,"[1, 2, 4]",1500,
"""
ATTEMPTS = """id,user_id,task_id,topic_slug,completed_at,xpEarned,isCorrect,nextReviewDate,reviewCount,masteryLevel
11,u-1,add-1,addition,2026-11-01 09:00:00,10,true,2026-11-02,1,1
12,u-1,add-1,addition,2026-11-02 09:00:00,10,true,2026-11-05,2,2
13,u-1,add-2,addition,2026-11-02 09:05:00,0,false,2026-11-03,1,0
14,u-1,frac-1,fractions,2026-11-03T10:00:00+01:00,15,t,2026-11-04,1,1
"""
PROGRESS = """id,user_id,topic_slug,currentXp,totalXpEarned,level,lastActivity,dailyTasksCount,dailyTasksDate,srsStage,nextReviewDate
1,u-1,addition,25,25,1,2026-11-02 09:05:00,2,2026-11-02,2,2026-11-03
2,u-1,fractions,15,15,1,2026-11-03 09:00:00,1,2026-11-03,1,2026-11-04
"""


def rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_the_three_tables_round_trip(dynamo, tenant):
    base = yaml.safe_load(DEFAULT_RULES_FILE.read_text())
    data = topics_rules(base, parse_topic_configs("topic_xp_config.csv", rows(CONFIG)), "topic_xp_config.csv")
    rules = parse_rules(yaml.safe_load(yaml.safe_dump(data)))  # what the CLI writes reads back
    add = rules.topics["addition"]
    assert (add.title, add.base_xp, add.level_thresholds, add.review_intervals, add.max_xp) == (
        "Addition", 10, (0, 50, 150, 300), (1, 3, 7, 14, 30), 1000)  # fmt: skip
    assert rules.topics["fractions"].daily_xp_decay == 0.05 and rules.topics["fractions"].min_xp_percent == 10
    assert "whole_numbers" in rules.topics  # the base rules' topics are kept

    store = Store(dynamo.client, dynamo.table)
    attempts = parse_attempts("user_task_attempts.csv", rows(ATTEMPTS), rules)
    s = apply_attempts(store, tenant.id, rules, attempts, NOW)
    assert (s.written, s.skipped, s.tasks) == (4, 0, 3)
    progress = parse_progress("user_topic_xp.csv", rows(PROGRESS), rules)
    p = apply_progress(store, tenant.id, rules, progress, NOW)
    assert (p.written, p.unchanged) == (1, 1)  # addition: 20 from attempts -> 25; fractions equal

    uc = TopicUseCases(Engine(rules, store, now=lambda: NOW))
    topics = {t["topic"]: t for t in uc.topics(tenant.id, "u-1").body["topics"]}
    assert (topics["addition"]["xp"], topics["addition"]["tasks"], topics["addition"]["next_review_date"]) == (25, 2, "2026-11-03")
    assert (topics["fractions"]["xp"], topics["fractions"]["next_review_date"]) == (15, "2026-11-04")
    reviews = uc.reviews(tenant.id, "u-1", datetime(2026, 11, 10).date()).body["reviews"]
    assert [(r["task_id"], r["next_review_date"]) for r in reviews] == [
        ("add-2", "2026-11-03"), ("frac-1", "2026-11-04"), ("add-1", "2026-11-05")]  # fmt: skip
    ledger = dynamo.ledger(tenant.id)
    assert [e["occurred_at"] for e in ledger if e.get("imported_from") == "user_task_attempts"] == [
        "2026-11-01T09:00:00.000000Z", "2026-11-02T09:00:00.000000Z", "2026-11-02T09:05:00.000000Z",
        "2026-11-03T09:00:00.000000Z"]  # fmt: skip
    assert Engine(rules, store).profile(tenant.id, "u-1").body["total_xp"] == 40
    # Re-running writes nothing twice.
    assert apply_attempts(store, tenant.id, rules, attempts, NOW).skipped == 4
    assert apply_progress(store, tenant.id, rules, progress, NOW).unchanged == 2
    assert Engine(rules, store).profile(tenant.id, "u-1").body["total_xp"] == 40
    # The imported day count holds the tiers of that day.
    assert int(next(i for i in dynamo.items(tenant.id) if i["sk"] == "TOPICDAY#2026-11-02")["n_addition"]) == 2


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        ("config", CONFIG.replace('"{0,50,150,300}"', '"{0,50,50}"'), "topic_xp_config.csv: row 2: levelThresholds: thresholds must be strictly ascending"),
        ("config", CONFIG.replace("1.00,0.50,0.10,0.50,\"[0", "1.00,0.50,0.10,abc,\"[0"), "row 3: multiplierEarly: 'abc' is not a number"),
        ("config", CONFIG.replace('"{1,3,7,14,30}"', '"{}"'), "row 2: reviewIntervals: at least one interval"),
        ("config", CONFIG.replace(",1000,", ",ten,"), "row 2: maxXp: 'ten' is not a whole number"),
        ("attempts", ATTEMPTS.replace("13,u-1,add-2,addition", "13,u-1,add-2,algebra"), "user_task_attempts.csv: row 4: topicSlug: unknown topic 'algebra'"),
        ("attempts", ATTEMPTS.replace("2026-11-02 09:05:00", "yesterday"), "row 4: completedAt: 'yesterday' is not an ISO 8601 time"),
        ("attempts", ATTEMPTS.replace(",0,false,", ",0,maybe,"), "row 4: isCorrect: 'maybe' is not true/false"),
        ("attempts", ATTEMPTS.replace("add-2", "add#2"), "row 4: taskId:"),
        ("attempts", ATTEMPTS.replace("12,u-1,", "12,bad user,"), "row 3: userId:"),
        ("attempts", ATTEMPTS.replace(",10,true,2026-11-05", ",-5,true,2026-11-05"), "row 3: xpEarned: -5 is outside"),
        ("progress", PROGRESS.replace(",15,15,", ",x,15,"), "user_topic_xp.csv: row 3: currentXp: 'x' is not a whole number"),
    ],
)
def test_a_malformed_row_names_file_row_and_field_and_writes_nothing(dynamo, tenant, kind, text, message):
    base = yaml.safe_load(DEFAULT_RULES_FILE.read_text())
    rules = parse_rules(topics_rules(base, parse_topic_configs("topic_xp_config.csv", rows(CONFIG)), "c.csv"))
    with pytest.raises(ImportRowError) as err:
        if kind == "config":
            topics_rules(base, parse_topic_configs("topic_xp_config.csv", rows(text)), "topic_xp_config.csv")
        elif kind == "attempts":
            apply_attempts(Store(dynamo.client, dynamo.table), tenant.id, rules,
                           parse_attempts("user_task_attempts.csv", rows(text), rules), NOW)  # fmt: skip
        else:
            apply_progress(Store(dynamo.client, dynamo.table), tenant.id, rules,
                           parse_progress("user_topic_xp.csv", rows(text), rules), NOW)  # fmt: skip
    assert message in str(err.value), str(err.value)
    assert dynamo.items(tenant.id) == []


def test_the_importer_cli_writes_a_rules_file_then_imports_attempts(dynamo, tmp_path):
    import os
    import subprocess
    import sys
    import uuid
    from pathlib import Path

    from tools.local import backend

    root = Path(__file__).resolve().parents[2]
    table = f"cli-{uuid.uuid4().hex[:8]}"
    backend.create_table(dynamo.client, table, ttl=False)
    env = {**os.environ, "TABLE_NAME": table}

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "tools.ops.importer", *args], cwd=root, env=env,
                              capture_output=True, text=True, timeout=120)  # fmt: skip

    try:
        (tmp_path / "config.csv").write_text(CONFIG)
        (tmp_path / "attempts.csv").write_text(ATTEMPTS)
        out = cli("topic_xp_config", str(tmp_path / "config.csv"), "--out", str(tmp_path / "rules.yaml"))
        assert out.returncode == 0 and "2 topics written" in out.stdout, out.stderr
        out = cli("user_task_attempts", str(tmp_path / "attempts.csv"), "--tenant", "imp", "--rules", str(tmp_path / "rules.yaml"))
        assert out.returncode == 0 and "4 entries written" in out.stdout, out.stderr
        (tmp_path / "bad.csv").write_text(ATTEMPTS.replace("add-2,addition", "add-2,algebra"))
        out = cli("user_task_attempts", str(tmp_path / "bad.csv"), "--tenant", "imp2", "--rules", str(tmp_path / "rules.yaml"))
        assert out.returncode != 0 and "row 4: topicSlug: unknown topic 'algebra'" in out.stderr.replace("\n", " ") + out.stdout
    finally:
        dynamo.client.delete_table(TableName=table)
