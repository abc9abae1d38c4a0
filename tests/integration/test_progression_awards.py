"""Streaks and achievements through the award path, over HTTP: racing unlocks, rewards as
ledger entries, the default rules' scenario, retroactive grants."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
import yaml
from gamification.api.models import AwardXpRequest
from gamification.dal import keys
from gamification.dal.store import Store
from gamification.domain.errors import Contention
from gamification.domain.rules import DEFAULT_RULES_FILE, parse_rules
from gamification.usecases.engine import Engine
from gamification.usecases.retroactive import grant_retroactive

NOON = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)


def rules_with(**achievements):
    data = yaml.safe_load(DEFAULT_RULES_FILE.read_text())
    data["achievements"].update(achievements)
    return parse_rules(data)


FIRST_FORK = {"name": "Forker", "category": "exploration", "criteria": {"action_count": {"forked": 1}},
              "reward": {"xp": 5, "coins": 3}}  # fmt: skip


def put(api, path, body):
    return api.session.put(api.base + path, data=json.dumps(body), headers={"Content-Type": "application/json"}, timeout=30)


@pytest.mark.race
def test_ten_racing_awards_unlock_once_and_pay_the_reward_once(api, clock, dynamo, tenant, use_rules):
    clock.set(NOON)
    use_rules(rules_with(first_fork=FIRST_FORK))
    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(lambda i: api.xp("racer", "forked"), range(10)))
    assert all(r.status_code == 200 for r in results), [r.text for r in results]
    unlocks = [u for r in results for u in r.json()["achievements_unlocked"]]
    assert [u["id"] for u in unlocks] == ["first_fork"]
    assert unlocks[0]["reward"] == {"xp": 5, "coins": 3}
    items = dynamo.items(tenant.id)
    assert sum(i["sk"] == "ACH#first_fork" for i in items) == 1
    xp_rewards = [e for e in dynamo.ledger(tenant.id) if e["reason"] == "achievement:first_fork"]
    coin_rewards = [e for e in dynamo.ledger(tenant.id, "COIN") if e["reason"] == "achievement:first_fork"]
    assert len(xp_rewards) == 1 and len(coin_rewards) == 1
    profile = api.get("/v1/users/racer").json()
    assert profile["total_xp"] == 10 * 10 + 5 and profile["achievements_count"] == 1
    # reward XP is cap-exempt: the day's usage holds the ten awards only
    assert api.get("/v1/users/racer/limits").json()["xp_gained"] == 100
    catalogue = {a["id"]: a for a in api.get("/v1/achievements").json()["achievements"]}
    assert catalogue["first_fork"]["unlocked_count"] == 1


def test_the_unlock_marker_refuses_a_second_unlock_even_when_the_profile_forgets(dynamo, tenant):
    rules = rules_with(first_fork=FIRST_FORK)
    store = Store(dynamo.client, dynamo.table)
    engine = Engine(rules, store, now=lambda: NOON, max_attempts=3, retry_budget_s=5)
    assert engine.award_xp(tenant.id, "u", AwardXpRequest(action="forked"), None).body["achievements_unlocked"]
    # A profile that lost its unlocked set (as a stale read would see it): Python would unlock again.
    dynamo.client.update_item(
        TableName=dynamo.table, Key={"pk": {"S": keys.user_pk(tenant.id, "u")}, "sk": {"S": "PROFILE"}},
        UpdateExpression="REMOVE achievements",
    )  # fmt: skip
    with pytest.raises(Contention):  # DynamoDB refuses every attempt: the marker exists
        engine.award_xp(tenant.id, "u", AwardXpRequest(action="forked"), None)
    assert len([e for e in dynamo.ledger(tenant.id) if e["reason"] == "achievement:first_fork"]) == 1


def day(n: int, hour: int = 12) -> datetime:
    return datetime(2026, 11, 1, hour, 0, tzinfo=timezone.utc) + timedelta(days=n)


def test_a_week_of_activity_with_the_default_rules(api, clock, dynamo, tenant):
    """Daily activity builds a streak; day 7 pays the milestone and unlocks the streak_7
    badge; a skipped date spends the earned freeze; a late event closes a gap."""
    for n in range(7):
        clock.set(day(n))
        r = api.xp("kim", "daily_chat")
        assert r.status_code == 200
        body = r.json()
        assert body["streak"] == {"current": n + 1, "longest": n + 1, "extended": True}
        again = api.xp("kim", "forked").json()
        assert again["streak"] == {"current": n + 1, "longest": n + 1, "extended": False}
    assert [u["id"] for u in body["achievements_unlocked"]] == ["streak_7"]
    milestone = [e for e in dynamo.ledger(tenant.id, "COIN") if e["reason"] == "streak_milestone:7"]
    assert [e["amount"] for e in milestone] == [50]
    # 429s do not count: the day stays as it was
    assert api.xp("kim", "daily_chat").status_code == 429

    assert put(api, "/v1/users/kim/active-badge", {"badge": "streak_7"}).status_code == 200
    profile = api.get("/v1/users/kim").json()
    assert (profile["streak_current"], profile["streak_longest"], profile["last_active_date"]) == (7, 7, "2026-11-07")
    assert (profile["badges"], profile["active_badge"]) == (["streak_7"], "streak_7")

    # 11-08 skipped: the freeze earned on the 7th active date bridges it.
    clock.set(day(8))
    streak = api.get("/v1/users/kim/streak").json()
    assert (streak["current"], streak["at_risk"], streak["freezes_available"]) == (7, True, 0)
    assert streak["history"][:3] == [
        {"date": "2026-11-09", "status": "missed"},
        {"date": "2026-11-08", "status": "frozen"},
        {"date": "2026-11-07", "status": "active"},
    ]
    # A late event on the skipped date closes the gap and gives the freeze back.
    late = api.xp("kim", "forked", occurred_at=day(7).isoformat()).json()
    assert late["streak"] == {"current": 8, "longest": 8, "extended": True}
    assert api.get("/v1/users/kim/streak").json()["freezes_available"] == 1

    mine = {a["id"]: a for a in api.get("/v1/users/kim/achievements").json()["achievements"]}
    assert mine["streak_7"]["unlocked"] and mine["streak_7"]["unlocked_at"].startswith("2026-11-07")
    assert mine["streak_30"]["progress"] == {"current": 8, "target": 30, "criterion": "streak"}
    assert "level_5" not in mine  # hidden until unlocked


def test_dates_follow_the_users_zone_and_keep_it(api, clock, dynamo, tenant):
    clock.set(datetime(2026, 11, 21, 23, 30, tzinfo=timezone.utc))  # Tokyo: 11-22 08:30
    assert put(api, "/v1/users/ty/timezone", {"timezone": "Asia/Tokyo"}).status_code == 200
    assert api.xp("ty", "forked").json()["streak"]["current"] == 1
    assert api.get("/v1/users/ty").json()["last_active_date"] == "2026-11-22"
    clock.set(datetime(2026, 11, 22, 20, 0, tzinfo=timezone.utc))  # New York: 11-22 15:00
    assert put(api, "/v1/users/ty/timezone", {"timezone": "America/New_York"}).status_code == 200
    body = api.xp("ty", "forked").json()
    assert body["streak"] == {"current": 1, "longest": 1, "extended": False}  # 11-22 again, in New York


def test_coin_awards_count_toward_coins_earned(api, clock, dynamo, tenant, use_rules):
    clock.set(NOON)
    use_rules(rules_with(coins_15={"name": "Saver", "category": "milestones", "criteria": {"coins_earned": 15}}))
    assert api.coins("cy", "daily_login").json()["achievements_unlocked"] == []
    r = api.coins("cy", "daily_goal", tier="easy").json()
    assert [u["id"] for u in r["achievements_unlocked"]] == ["coins_15"]


def test_retroactive_grants_are_silent_exactly_once_and_resumable(api, clock, dynamo, tenant):
    clock.set(NOON)
    for user in ("a1", "a2", "a3"):
        api.xp(user, "forked")
    api.xp("a1", "forked")
    rules = rules_with(forked_2={"name": "Fork twice", "category": "milestones",
                                 "criteria": {"action_count": {"forked": 2}}, "reward": {"coins": 7}})  # fmt: skip
    store = Store(dynamo.client, dynamo.table)
    report = grant_retroactive(rules, store, tenant.id, NOON, page_size=2)
    assert report.granted == {"forked_2": 1}
    entries = [e for e in dynamo.ledger(tenant.id, "COIN") if e["reason"] == "achievement:forked_2"]
    assert [(e["user_id"], e["amount"], e["retroactive"]) for e in entries] == [("a1", 7, True)]
    again = grant_retroactive(rules, store, tenant.id, NOON)
    assert again.already_done and again.granted == {}
    # A fresh run of the selection (the cursor gone) still grants nothing twice.
    dynamo.client.delete_item(TableName=dynamo.table, Key={k: {"S": v} for k, v in keys.retroactive_cursor_key(
        tenant.id, next(i["sk"] for i in dynamo.items(tenant.id) if i["pk"].endswith("#ACHRETRO"))).items()})
    assert grant_retroactive(rules, store, tenant.id, NOON).granted == {}
    assert len([e for e in dynamo.ledger(tenant.id, "COIN") if e["reason"] == "achievement:forked_2"]) == 1


def test_the_operator_command_grants_once_and_then_reports_done(dynamo, tmp_path):
    import os
    import subprocess
    import sys
    import uuid
    from pathlib import Path

    from tools.local import backend

    table = f"cli-{uuid.uuid4().hex[:8]}"
    backend.create_table(dynamo.client, table, ttl=False)
    try:
        engine = Engine(rules_with(), Store(dynamo.client, table), now=lambda: NOON)
        for _ in range(2):
            engine.award_xp("game", "ann", AwardXpRequest(action="forked"), None)
        data = yaml.safe_load(DEFAULT_RULES_FILE.read_text())
        data["achievements"]["forked_2"] = {"name": "Fork twice", "category": "milestones",
                                            "criteria": {"action_count": {"forked": 2}}, "reward": {"coins": 7}}  # fmt: skip
        rules_file = tmp_path / "rules.yaml"
        rules_file.write_text(yaml.safe_dump(data))
        env = {**os.environ, "TABLE_NAME": table, "GAMIFICATION_RULES_FILE": str(rules_file)}
        root = Path(__file__).resolve().parents[2]

        def run() -> str:
            proc = subprocess.run([sys.executable, "-m", "tools.ops.grant_achievements", "--tenant", "game"],
                                  cwd=root, env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
            assert proc.returncode == 0, proc.stderr
            return proc.stdout

        assert "1 users checked; granted forked_2: 1" in run()
        assert "already done" in run()
        balance = Engine(parse_rules(data), Store(dynamo.client, table)).profile("game", "ann").body["coins_balance"]
        assert balance == 2 + 7  # two xp_bonus coins, then the retroactive reward
    finally:
        dynamo.client.delete_table(TableName=table)
