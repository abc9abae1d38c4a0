"""Routes of streaks, achievements and badges over HTTP: time zone, streak, achievements,
catalogue, active badge; bad input is 4xx in the envelope and writes nothing."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

NOON = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)


def put(api, path: str, body=None, raw: str | None = None):
    data = raw if raw is not None else json.dumps(body)
    return api.session.put(api.base + path, data=data, headers={"Content-Type": "application/json"}, timeout=30)


def test_a_new_user_reads_as_new_on_every_route(api, clock, dynamo, tenant):
    clock.set(NOON)
    streak = api.get("/v1/users/nobody/streak").json()
    assert (streak["current"], streak["longest"], streak["at_risk"], streak["last_active_date"]) == (0, 0, False, None)
    assert len(streak["history"]) == 14 and streak["history"][0] == {"date": "2026-11-21", "status": "missed"}
    mine = api.get("/v1/users/nobody/achievements").json()
    ids = [a["id"] for a in mine["achievements"]]
    assert "first_character" in ids and "level_5" not in ids  # hidden until unlocked
    assert all(not a["unlocked"] and a["progress"]["current"] == 0 for a in mine["achievements"])
    catalogue = api.get("/v1/achievements").json()["achievements"]
    level_5 = next(a for a in catalogue if a["id"] == "level_5")
    assert level_5["hidden"] is True and level_5["unlocked_count"] == 0
    profile = api.get("/v1/users/nobody").json()
    assert (profile["streak_current"], profile["badges"], profile["active_badge"]) == (0, [], None)
    assert dynamo.items(tenant.id) == []


def test_a_time_zone_is_kept_and_moves_today(api, clock, dynamo, tenant):
    clock.set(datetime(2026, 11, 21, 23, 30, tzinfo=timezone.utc))
    r = put(api, "/v1/users/tz/timezone", {"timezone": "Asia/Tokyo"})
    assert r.status_code == 200, r.text
    assert r.json() == {"user_id": "tz", "timezone": "Asia/Tokyo", "today": "2026-11-22"}
    assert api.get("/v1/users/tz/streak").json()["today"] == "2026-11-22"
    assert api.get("/v1/users/tz").json()["timezone"] == "Asia/Tokyo"


@pytest.mark.parametrize(
    "path, raw, status, code",
    [
        ("/v1/users/u1/timezone", '{"timezone": "Mars/Olympus"}', 400, "validation_error"),
        ("/v1/users/u1/timezone", '{"timezone": "../../etc/passwd"}', 400, "validation_error"),
        # Not IANA names: the host's own zone files ("localtime" follows the machine's setting)
        # and the tz database's "no zone set".
        ("/v1/users/u1/timezone", '{"timezone": "localtime"}', 400, "validation_error"),
        ("/v1/users/u1/timezone", '{"timezone": "posixrules"}', 400, "validation_error"),
        ("/v1/users/u1/timezone", '{"timezone": "Factory"}', 400, "validation_error"),
        ("/v1/users/u1/timezone", '{"timezone": "posix/Europe/Berlin"}', 400, "validation_error"),
        ("/v1/users/u1/timezone", '{"timezone": ""}', 400, "validation_error"),
        ("/v1/users/u1/timezone", '{"timezone": 5}', 400, "validation_error"),
        ("/v1/users/u1/timezone", '{"zone": "UTC"}', 400, "validation_error"),
        ("/v1/users/u1/timezone", "{not json", 400, "validation_error"),
        ("/v1/users/u1/timezone", "[]", 400, "validation_error"),
        ("/v1/users/bad%23id/timezone", '{"timezone": "UTC"}', 400, "validation_error"),
        ("/v1/users/u1/active-badge", '{"badge": "no_such_badge"}', 404, "unknown_badge"),
        ("/v1/users/u1/active-badge", '{"badge": "first_character"}', 400, "not_a_badge"),
        ("/v1/users/u1/active-badge", '{"badge": "streak_7"}', 409, "badge_not_unlocked"),
        ("/v1/users/u1/active-badge", '{"badge": "level_5"}', 404, "unknown_badge"),  # hidden
        ("/v1/users/u1/active-badge", '{"badge": 7}', 400, "validation_error"),
        ("/v1/users/u1/active-badge", '{}', 400, "validation_error"),
        ("/v1/users/u1/active-badge", '{"badge": "streak_7", "x": 1}', 400, "validation_error"),
        ("/v1/users/u1/active-badge", '"streak_7"', 400, "validation_error"),
    ],
)
def test_bad_input_is_4xx_and_writes_nothing(api, clock, dynamo, tenant, path, raw, status, code):
    clock.set(NOON)
    r = put(api, path, raw=raw)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code
    assert dynamo.items(tenant.id) == []


def test_a_badge_not_unlocked_is_409_for_an_existing_user_and_writes_nothing(api, clock, dynamo, tenant):
    clock.set(NOON)
    assert api.xp("b", "forked").status_code == 200
    before = dynamo.snapshot(tenant.id)
    r = put(api, "/v1/users/b/active-badge", {"badge": "streak_7"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "badge_not_unlocked"
    assert dynamo.snapshot(tenant.id) == before


def test_a_hidden_badge_not_unlocked_is_as_unknown_as_a_badge_that_does_not_exist(api, clock, dynamo, tenant):
    clock.set(NOON)
    assert api.xp("h", "forked").status_code == 200
    before = dynamo.snapshot(tenant.id)
    hidden = put(api, "/v1/users/h/active-badge", {"badge": "level_5"})
    missing = put(api, "/v1/users/h/active-badge", {"badge": "level_6"})
    assert (hidden.status_code, missing.status_code) == (404, 404), hidden.text
    assert hidden.json()["error"]["message"] == missing.json()["error"]["message"].replace("level_6", "level_5")
    assert dynamo.snapshot(tenant.id) == before


def test_clearing_the_active_badge_of_a_new_user_is_fine(api, clock):
    clock.set(NOON)
    r = put(api, "/v1/users/fresh/active-badge", {"badge": None})
    assert r.status_code == 200 and r.json() == {"user_id": "fresh", "active_badge": None, "badges": []}
