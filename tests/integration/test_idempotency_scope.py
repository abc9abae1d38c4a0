"""What an Idempotency-Key promises (docs/api.md, "Conventions"), pinned so that a leaner
award transaction cannot quietly give any of it up.

The record of a key is keyed by tenant and key only (for an award it is the award's ledger
entry itself): a retry finds it with one read whatever day it comes back on and whether or
not the request named its ``occurred_at``, and one key is one request across routes, users
and event times. Folding the record into a per-user item whose key depends on the event's
time (an entry of the user's partition, ``XP#{occurred_at}#...``; the day's usage,
``DAY#{date}``) would break the tests below (docs/benchmarks.md, "Award items: a keyed
award's ledger entry is its idempotency record").
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

NOON = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)


def test_a_keyed_award_without_occurred_at_replays_at_its_limit_and_on_a_later_day(api, clock, dynamo, tenant):
    clock.set(NOON)
    first = api.xp("nia", "daily_chat", key="chat-1")  # daily_chat: once a day
    assert first.status_code == 200, first.text
    at_limit = api.xp("nia", "daily_chat", key="chat-1")
    assert at_limit.status_code == 200 and at_limit.headers["Idempotent-Replayed"] == "true"
    assert at_limit.json() == first.json()
    clock.set(NOON + timedelta(days=1))  # the request names no time: "now" is another day
    assert api.xp("nia", "daily_chat").status_code == 200  # the new day's one chat
    later = api.xp("nia", "daily_chat", key="chat-1")
    assert later.status_code == 200 and later.headers["Idempotent-Replayed"] == "true"
    assert later.json() == first.json()
    assert len(dynamo.ledger(tenant.id)) == 2
    assert api.get("/v1/users/nia").json()["total_xp"] == 40


def test_one_key_is_one_request_across_event_times_routes_and_users(api, clock, dynamo, tenant):
    clock.set(NOON)
    when = (NOON - timedelta(hours=1)).isoformat()
    assert api.xp("oli", "forked", key="k-scope", occurred_at=when).status_code == 200
    others = [
        api.xp("oli", "forked", key="k-scope", occurred_at=(NOON - timedelta(hours=2)).isoformat()),
        api.xp("oli", "forked", key="k-scope"),  # no occurred_at: another request
        api.coins("oli", "daily_login", key="k-scope"),
        api.xp("pat", "forked", key="k-scope", occurred_at=when),
    ]
    for r in others:
        assert r.status_code == 422 and r.json()["error"]["code"] == "idempotency_key_reused", r.text
    assert len(dynamo.ledger(tenant.id)) == 1
    assert [c["reason"] for c in dynamo.ledger(tenant.id, "COIN")] == ["xp_bonus"]  # 10 XP: 1 coin
    again = api.xp("oli", "forked", key="k-scope", occurred_at=when)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
