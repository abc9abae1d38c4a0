"""Importing balances and ledgers from CSV exports of the seeds' SQL tables."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

import pytest
from gamification.dal.store import Store
from gamification.domain.rules import load_rules
from gamification.ops.imports import ImportRowError, apply, parse_rows
from gamification.usecases.engine import Engine

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)


def rows(text):
    return list(csv.DictReader(io.StringIO(text)))


COIN_LOG = """id,user_id,amount,reason,created_at
1,ann,10,daily_login,2026-05-01 08:00:00
2,ann,3,xp_bonus,2026-05-01 08:00:01
3,bob,30,variant_clear,2026-05-02T09:00:00Z
"""
XP_TX = """id,user_id,amount,source,created_at
7,ann,30,create_character,2026-05-01 08:00:00
8,ann,20,daily_chat,2026-05-02 08:00:00
"""


def test_ledgers_keep_reasons_and_times_and_move_balances(dynamo, tenant):
    store = Store(dynamo.client, dynamo.table)
    s = apply(store, tenant.id, "coin_log", parse_rows("coin_log", rows(COIN_LOG), NOW), NOW)
    assert (s.written, s.skipped) == (3, 0)
    apply(store, tenant.id, "xp_transactions", parse_rows("xp_transactions", rows(XP_TX), NOW), NOW)
    engine = Engine(load_rules(), store, now=lambda: NOW)
    ann = engine.profile(tenant.id, "ann").body
    assert (ann["total_xp"], ann["coins_balance"]) == (50, 13)
    coins = dynamo.ledger(tenant.id, "COIN")
    assert [(c["user_id"], c["reason"], c["occurred_at"]) for c in coins][0] == (
        "ann", "daily_login", "2026-05-01T08:00:00.000000Z"
    )
    xp = dynamo.ledger(tenant.id, "XP")
    assert [(e["reason"], e["xp"], e["total_xp"]) for e in xp] == [("create_character", 30, 30), ("daily_chat", 20, 50)]


def test_re_running_an_import_writes_nothing_twice(dynamo, tenant):
    store = Store(dynamo.client, dynamo.table)
    entries = parse_rows("coin_log", rows(COIN_LOG), NOW)
    apply(store, tenant.id, "coin_log", entries, NOW)
    again = apply(store, tenant.id, "coin_log", entries, NOW)
    assert (again.written, again.skipped) == (0, 3)
    assert len(dynamo.ledger(tenant.id, "COIN")) == 3
    assert Engine(load_rules(), store).profile(tenant.id, "ann").body["coins_balance"] == 13


def test_balance_snapshots_become_one_reconciling_entry(dynamo, tenant):
    store = Store(dynamo.client, dynamo.table)
    apply(store, tenant.id, "xp_transactions", parse_rows("xp_transactions", rows(XP_TX), NOW), NOW)
    users = "id,name,exp,level\nann,Ann,80,1\ncy,Cy,120,2\n"
    s = apply(store, tenant.id, "users", parse_rows("users", rows(users), NOW), NOW)
    assert s.written == 2
    engine = Engine(load_rules(), store)
    assert engine.profile(tenant.id, "ann").body["total_xp"] == 80
    assert engine.profile(tenant.id, "cy").body["level"] == 2
    again = apply(store, tenant.id, "users", parse_rows("users", rows(users), NOW), NOW)
    assert (again.written, again.unchanged) == (0, 2)
    gam = "user_id,total_xp,level,current_streak\ncy,150,2,3\n"
    apply(store, tenant.id, "user_gamification", parse_rows("user_gamification", rows(gam), NOW), NOW)
    assert engine.profile(tenant.id, "cy").body["total_xp"] == 150
    assert [e["reason"] for e in dynamo.ledger(tenant.id) if e["user_id"] == "cy"] == ["imported_balance"] * 2


@pytest.mark.parametrize(
    "kind, text, message",
    [
        ("coin_log", "user_id,amount,created_at\nann,5,2026-01-01\n", "row 2: missing column reason"),
        ("xp_transactions", "user_id,amount,created_at\nann,x,2026-01-01\n", "row 2: amount 'x'"),
        ("users", "id,exp\nbad#id,5\n", "row 2: user id"),
        ("nope", "a\n1\n", "unknown table kind"),
    ],
)
def test_bad_rows_are_named(kind, text, message):
    with pytest.raises(ImportRowError, match=message):
        parse_rows(kind, rows(text), NOW)


def test_seed_001_daily_counters_keep_today_s_limits(dynamo, tenant):
    from datetime import timedelta

    from gamification.api.models import AwardXpRequest
    from gamification.domain.errors import ActionLimitReached
    from gamification.ops.imports import apply_day_usage, parse_day_usage

    users = (
        "id,exp,daily_exp_gained,last_exp_reset_date,daily_action_counts\n"
        'dee,40,40,2026-11-21T00:00:00Z,"{""create_character"": 2}"\n'
        "eli,10,,,\n"
    )
    store = Store(dynamo.client, dynamo.table)
    usage = parse_day_usage(rows(users))
    assert [(u.user_id, u.xp_gained, u.action_counts) for u in usage] == [("dee", 40, {"create_character": 2})]
    assert apply_day_usage(store, tenant.id, usage, NOW, timedelta(days=9)) == 1
    assert apply_day_usage(store, tenant.id, usage, NOW, timedelta(days=9)) == 0  # the existing item wins
    apply(store, tenant.id, "users", parse_rows("users", rows(users), NOW), NOW)
    engine = Engine(load_rules(), store, now=lambda: NOW)
    limits = engine.limits(tenant.id, "dee").body
    assert limits["xp_gained"] == 40 and limits["actions"]["create_character"]["remaining"] == 0
    with pytest.raises(ActionLimitReached):
        engine.award_xp(tenant.id, "dee", AwardXpRequest(action="create_character"), None)
