"""GET routes and authentication."""

from __future__ import annotations

from datetime import datetime, timezone

import requests

NOON = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)


def test_limits_for_a_new_user(api, clock):
    clock.set(NOON)
    body = api.get("/v1/users/newbie/limits").json()
    assert (body["date"], body["level"], body["xp_gained"], body["xp_cap"], body["xp_remaining"]) == (
        "2026-11-21", 1, 0, 150, 150
    )
    assert body["resets_at"] == "2026-11-22T00:00:00.000000Z" and body["timezone"] == "UTC"
    assert body["actions"]["create_character"] == {
        "count": 0, "limit": 2, "remaining": 2, "xp": 30, "xp_min": None, "xp_max": None
    }
    assert body["actions"]["forked"] == {"count": 0, "limit": None, "remaining": None, "xp": 10, "xp_min": None, "xp_max": None}


def test_limits_for_another_date(api, clock):
    clock.set(NOON)
    api.xp("lim", "daily_chat")
    assert api.get("/v1/users/lim/limits", date="2026-11-21").json()["actions"]["daily_chat"]["count"] == 1
    other = api.get("/v1/users/lim/limits", date="2026-11-20").json()
    assert other["actions"]["daily_chat"]["count"] == 0 and other["resets_at"] == "2026-11-21T00:00:00.000000Z"
    for bad in ("2026-13-01", "21-11-2026", "2026-02-30"):
        r = api.get("/v1/users/lim/limits", date=bad)
        assert r.status_code == 400 and r.json()["error"]["code"] == "validation_error"


def test_levels(api):
    levels = api.get("/v1/levels").json()["levels"]
    assert levels[0] == {"level": 1, "name": "Newbie", "xp": 0, "daily_xp_cap": 150, "unlocks": []}
    assert levels[1] == {"level": 2, "name": "Creator", "xp": 100, "daily_xp_cap": 150, "unlocks": ["custom_scenes"]}
    assert [lv["daily_xp_cap"] for lv in levels] == [150, 150, 300, 300, 500, 500]


def test_unknown_user_reads_as_new(api):
    assert api.get("/v1/users/nobody").json() == {
        "user_id": "nobody", "total_xp": 0, "level": 1, "level_name": "Newbie", "xp_into_level": 0,
        "xp_for_next_level": 100, "progress": 0.0, "coins_balance": 0,
    }


def test_profile_progress(api, clock):
    clock.set(NOON)
    for action in ("create_character", "create_character", "daily_chat", "create_scene", "create_scene", "create_persona"):
        api.xp("pro", action)  # 30+30+20+15+15+15 = 125 XP
    body = api.get("/v1/users/pro").json()
    assert (body["total_xp"], body["level"], body["level_name"]) == (125, 2, "Creator")
    assert (body["xp_into_level"], body["xp_for_next_level"], body["progress"]) == (25, 200, 0.125)
    assert body["coins_balance"] == 12


def test_missing_authorization_is_the_gateways_401(base_url):
    r = requests.get(base_url + "/v1/levels", timeout=10)
    assert r.status_code == 401 and r.json() == {"message": "Unauthorized"}


def test_invalid_api_key_is_401_in_the_envelope(base_url):
    for header in ("Bearer not-a-real-key", "Basic dXNlcjpwYXNz", "Bearer"):
        r = requests.post(base_url + "/v1/users/x/xp", json={"action": "forked"}, headers={"Authorization": header}, timeout=10)
        assert r.status_code == 401, header
        assert r.json()["error"]["code"] == "unauthenticated" and r.headers["WWW-Authenticate"] == "Bearer"


def test_unknown_route_is_404(api):
    assert api.get("/v1/nothing-here").status_code == 404
    assert api.post("/v1/levels", {}).status_code == 405  # a route, but GET only
