"""Topics and spaced repetition over HTTP (docs/topics.md): attempts, tiers, reviews,
locks, time zones and bad input, against the bundled rules' two topics."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from gamification.dal import keys

NOON = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)


def attempt(api, user, topic, task, correct=True, key=None, **extra):
    return api.post(f"/v1/users/{user}/topics/{topic}/attempts", {"task_id": task, "correct": correct, **extra}, key=key)


def test_a_first_correct_attempt_awards_base_xp_and_schedules_the_first_interval(api, clock):
    clock.set(NOON)
    r = attempt(api, "ann", "whole_numbers", "add-1")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["xp_awarded"] == 10 and body["multiplier"] == 1.0 and body["tier"] == "full"
    assert body["task"] == {"task_id": "add-1", "srs_stage": 1, "next_review_date": "2026-11-22",
                            "attempts": 1, "scheduler": "fixed"}
    assert body["topic"]["xp"] == 10 and body["topic"]["level"] == 1 and body["topic"]["daily_tasks"] == 1
    assert body["topic"]["next_review_date"] == "2026-11-22"
    assert body["total_xp"] == 10 and body["level"] == 1 and body["leveled_up"] is False
    assert api.get("/v1/users/ann").json()["total_xp"] == 10
