"""The exam-prep coin system's story over HTTP (examples/exam_prep/rules.yaml): the coin log,
rewards once per day / ISO week / forever, a variant clear once per (user, variant), and the
legacy 1 coin per 10 XP as ``xp_bonus``."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

EXAMPLE = "exam_prep"
THU = datetime(2026, 12, 31, 9, 0, tzinfo=timezone.utc)   # ISO week 2026-W53 (2026 has 53)
SAT = datetime(2027, 1, 2, 9, 0, tzinfo=timezone.utc)     # still 2026-W53, a new year
MON = datetime(2027, 1, 4, 9, 0, tzinfo=timezone.utc)     # 2027-W01


@pytest.fixture(autouse=True)
def _rules(example_rules):
    return example_rules


def coins(api, reason, **extra):
    r = api.coins("ana", reason, **extra)
    assert r.status_code == 200, r.text
    body = r.json()
    return body["awarded"], body["amount"], body["window_key"]


def test_rewards_fire_once_per_window_and_every_coin_is_in_the_log(api, clock):
    clock.set(THU)
    assert coins(api, "daily_login") == (True, 10, "2026-12-31")
    assert coins(api, "daily_login") == (False, 0, "2026-12-31")
    # The daily goal's tiers share one window: a second, harder goal the same day pays nothing.
    assert coins(api, "daily_goal", tier="medium") == (True, 25, "2026-12-31")
    assert coins(api, "daily_goal", tier="hard") == (False, 0, "2026-12-31")
    assert coins(api, "weekly_goal") == (True, 50, "2026-W53")
    # A variant clear is once per (user, variant), forever.
    assert coins(api, "variant_clear", scope="math9-v1")[:2] == (True, 30)
    assert coins(api, "variant_clear", scope="math9-v1")[:2] == (False, 0)
    assert coins(api, "variant_clear", scope="math9-v2")[:2] == (True, 30)

    clock.set(SAT)  # a new day and a new year, the same ISO week
    assert coins(api, "daily_login") == (True, 10, "2027-01-02")
    assert coins(api, "daily_goal", tier="hard") == (True, 40, "2027-01-02")
    assert coins(api, "weekly_goal") == (False, 0, "2026-W53")
    assert coins(api, "variant_clear", scope="math9-v1")[:2] == (False, 0)

    clock.set(MON)  # a new ISO week
    assert coins(api, "weekly_goal") == (True, 50, "2027-W01")

    # The legacy path: 1 coin per 10 XP, reason xp_bonus (two correct answers = 10 XP).
    assert api.xp("ana", "correct_answer").json()["coins_awarded"] == 0
    assert api.xp("ana", "correct_answer").json()["coins_awarded"] == 1

    # The coin log: one entry per coin change, summing to the balance (the clock stands
    # still within a day, so entries of one instant are in no particular order).
    log = api.get("/v1/users/ana/ledger", type="coins", limit="100").json()["entries"]
    assert [e["occurred_at"][:10] for e in log] == ["2027-01-04"] * 2 + ["2027-01-02"] * 2 + ["2026-12-31"] * 5
    assert sorted((e["reason"], e["amount"]) for e in log) == sorted([
        ("xp_bonus", 1), ("weekly_goal", 50), ("daily_goal", 40), ("daily_login", 10),
        ("variant_clear", 30), ("variant_clear", 30), ("weekly_goal", 50), ("daily_goal", 25),
        ("daily_login", 10),
    ])  # fmt: skip
    assert api.get("/v1/users/ana").json()["coins_balance"] == sum(e["amount"] for e in log) == 246


def test_an_unknown_reward_or_tier_is_refused_and_pays_nothing(api, clock, dynamo, tenant):
    clock.set(THU)
    r = api.coins("bo", "boss_slain")
    assert r.status_code == 400 and r.json()["error"]["code"] == "unknown_reward"
    r = api.coins("bo", "daily_goal", tier="legendary")
    assert r.status_code == 400 and r.json()["error"]["code"] == "validation_error", r.text
    assert dynamo.items(tenant.id) == []
