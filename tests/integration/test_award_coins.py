"""POST /v1/users/{user_id}/coins: once per window (the exam-prep coin system's ``awardCoinsOnce``)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

SAT = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)  # Saturday of ISO week 2026-W47


def test_daily_login_once_per_day(api, clock, dynamo, tenant):
    clock.set(SAT)
    first = api.coins("amy", "daily_login").json()
    assert first == {
        "awarded": True, "amount": 10, "balance": 10, "reason": "daily_login", "scope": None, "tier": None,
        "window": "day", "window_key": "2026-11-21", "event_id": first["event_id"],
    }
    repeat = api.coins("amy", "daily_login")
    assert repeat.status_code == 200
    assert (repeat.json()["awarded"], repeat.json()["amount"], repeat.json()["balance"]) == (False, 0, 10)
    clock.set(SAT + timedelta(days=1))
    assert api.coins("amy", "daily_login").json()["balance"] == 20
    (e1, e2) = dynamo.ledger(tenant.id, "COIN")
    assert (e1["reason"], e1["amount"], e1["window_key"]) == ("daily_login", 10, "2026-11-21")
    assert e2["window_key"] == "2026-11-22"


def test_daily_goal_tiers_share_one_daily_window(api, clock):
    clock.set(SAT)
    assert api.coins("ben", "daily_goal", tier="medium").json()["amount"] == 25
    assert api.coins("ben", "daily_goal", tier="hard").json()["awarded"] is False
    assert api.get("/v1/users/ben").json()["coins_balance"] == 25


def test_scoped_reward_once_per_scope_forever(api, clock):
    clock.set(SAT)
    assert api.coins("cy", "variant_clear", scope="math9-v1").json()["awarded"] is True
    assert api.coins("cy", "variant_clear", scope="math9-v2").json()["awarded"] is True
    clock.set(SAT + timedelta(days=400))
    again = api.coins("cy", "variant_clear", scope="math9-v1").json()
    assert (again["awarded"], again["window_key"], again["balance"]) == (False, "all", 60)


@pytest.mark.parametrize(
    "window, same, other",
    [
        ("week", SAT + timedelta(days=1), SAT + timedelta(days=2)),  # Sunday same ISO week, Monday the next
        ("month", SAT + timedelta(days=9), SAT + timedelta(days=10)),  # Nov 30 vs Dec 1
    ],
)
def test_week_and_month_windows(api, clock, window, same, other, environments):
    environments.call("tests.environment_hooks:set_coin_reward", "streak_bonus", 5, window)
    clock.set(SAT)
    assert api.coins("dee", "streak_bonus").json()["awarded"] is True
    clock.set(same)
    assert api.coins("dee", "streak_bonus").json()["awarded"] is False
    clock.set(other)
    assert api.coins("dee", "streak_bonus").json()["awarded"] is True


def test_an_event_counts_in_its_own_window(api, clock):
    clock.set(SAT)
    yesterday = (SAT - timedelta(days=1)).isoformat()
    assert api.coins("eve", "daily_login", occurred_at=yesterday).json()["window_key"] == "2026-11-20"
    assert api.coins("eve", "daily_login").json()["awarded"] is True


def test_idempotent_repeat_keeps_its_answer_after_the_window_rolls(api, clock):
    clock.set(SAT)
    api.coins("fin", "daily_login")
    first = api.coins("fin", "daily_login", key="login-fin-1").json()
    assert first["awarded"] is False
    clock.set(SAT + timedelta(days=1))
    replay = api.coins("fin", "daily_login", key="login-fin-1")
    assert replay.json() == first and replay.headers["Idempotent-Replayed"] == "true"


@pytest.mark.parametrize(
    "body, code",
    [
        ({"reason": "treasure"}, "unknown_reward"),
        ({"reason": "xp_bonus"}, "unknown_reward"),
        ({"reason": "variant_clear"}, "validation_error"),
        ({"reason": "daily_login", "scope": "x"}, "validation_error"),
        ({"reason": "daily_goal"}, "validation_error"),
        ({"reason": "daily_goal", "tier": "epic"}, "validation_error"),
        ({"reason": "variant_clear", "scope": "has#hash"}, "validation_error"),
    ],
)
def test_bad_coin_requests(api, clock, dynamo, tenant, body, code):
    clock.set(SAT)
    r = api.post("/v1/users/gil/coins", body)
    assert r.status_code == 400 and r.json()["error"]["code"] == code, r.text
    assert dynamo.items(tenant.id) == []
