"""Mikoshi's story over HTTP (examples/mikoshi/rules.yaml): seven actions with daily limits
(429 in the envelope with Retry-After), the level-based daily EXP cap with a partial award,
a level up that raises the cap, badges with an active badge, and the inbox's notifications."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

EXAMPLE = "mikoshi"
DAY1 = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)  # noon UTC: 12 h to the reset


@pytest.fixture(autouse=True)
def _rules(example_rules):
    return example_rules


def award(api, action, status=200):
    r = api.xp("kai", action)
    assert r.status_code == status, r.text
    return r


def unlocked(r):
    return [a["id"] for a in r.json()["achievements_unlocked"]]


def put(api, path, body):
    return api.session.put(api.base + path, data=json.dumps(body), headers={"Content-Type": "application/json"}, timeout=30)


def test_limits_caps_levels_badges_and_notifications(api, clock, streams):
    clock.set(DAY1)
    assert award(api, "daily_chat").json()["xp_awarded"] == 20
    again = award(api, "daily_chat", 429)
    assert again.json()["error"]["code"] == "action_limit_reached"
    assert again.json()["error"]["message"] == "Daily limit reached for daily_chat (1/day)"
    assert int(again.headers["Retry-After"]) == 12 * 3600

    first = award(api, "create_character")
    assert first.json()["xp_awarded"] == 30 and unlocked(first) == ["first_character"]
    assert unlocked(award(api, "create_character")) == []  # unlocked once
    assert award(api, "create_character", 429).json()["error"]["message"] == (
        "Daily limit reached for create_character (2/day)")  # fmt: skip

    sale = award(api, "paid_char_sold").json()  # 80 + 50 = 130 EXP: level 2
    assert (sale["total_xp"], sale["level"], sale["level_name"], sale["leveled_up"]) == (130, 2, "Creator", True)
    assert sorted(a["id"] for a in sale["achievements_unlocked"]) == ["creator", "first_sale"]
    # The day's cap of level 2 is 150 EXP: the next sale is cut to 20, then the cap is reached.
    partial = award(api, "paid_char_sold").json()
    assert (partial["xp_awarded"], partial["xp_requested"], partial["capped"]) == (20, 50, True)
    capped = award(api, "forked", 429)
    error = capped.json()["error"]
    assert (error["code"], error["message"]) == ("daily_xp_cap_reached", "Daily EXP cap reached (150 EXP/day for level 2)")
    assert int(capped.headers["Retry-After"]) == 12 * 3600
    limits = api.get("/v1/users/kai/limits").json()
    assert (limits["xp_gained"], limits["xp_cap"], limits["xp_remaining"]) == (150, 150, 0)
    character = limits["actions"]["create_character"]
    assert (character["count"], character["limit"], character["remaining"], character["xp"]) == (2, 2, 0, 30)
    assert limits["actions"]["forked"]["limit"] is None

    # Next day: three sales reach 300 EXP, level 3, whose cap (300) applies from the next award.
    clock.set(DAY1 + timedelta(days=1))
    assert [award(api, "paid_char_sold").json()["xp_awarded"] for _ in range(3)] == [50, 50, 50]
    profile = api.get("/v1/users/kai").json()
    assert (profile["total_xp"], profile["level"], profile["level_name"]) == (300, 3, "Storyteller")
    assert award(api, "forked").json()["xp_awarded"] == 10  # the level 2 cap would have refused it
    assert api.get("/v1/users/kai/limits").json()["xp_cap"] == 300
    ladder = api.get("/v1/levels").json()["levels"]
    assert [(lv["name"], lv["daily_xp_cap"]) for lv in ladder][:3] == [("Newbie", 150), ("Creator", 150), ("Storyteller", 300)]

    # Badges: the unlocked ones can be worn, the others not.
    r = put(api, "/v1/users/kai/active-badge", {"badge": "creator"})
    assert r.status_code == 200 and r.json()["active_badge"] == "creator"
    assert sorted(r.json()["badges"]) == ["creator", "first_character", "first_sale"]
    r = put(api, "/v1/users/kai/active-badge", {"badge": "legend"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_badge"  # hidden until unlocked
    assert api.get("/v1/users/kai").json()["active_badge"] == "creator"

    # Notifications: the inbox gets the level ups and the unlocks (from the ledger's stream).
    streams.wait_until_drained(timeout=120)
    notes = api.get("/v1/users/kai/notifications").json()["notifications"]
    assert sorted(n["title"] for n in notes) == [
        "Achievement unlocked: Creator", "Achievement unlocked: First character", "Achievement unlocked: First sale",
        "Level up: Creator", "Level up: Storyteller",
    ]  # fmt: skip
    assert all(not n["read"] for n in notes)
    assert api.post("/v1/users/kai/notifications/read", {"all": True}).json()["unread"] == 0


def test_an_unknown_action_is_400_and_writes_nothing(api, clock, dynamo, tenant):
    clock.set(DAY1)
    r = api.xp("kai", "send_gift")
    assert r.status_code == 400 and r.json()["error"]["code"] == "unknown_action"
    assert dynamo.items(tenant.id) == []
