"""The math-learning system's story over HTTP (examples/math_topics/rules.yaml): topic XP by
the day's full / half / low tiers, topic levels by thresholds, a prerequisite that opens at
a level, the decay, and spaced repetition moving a task up its stages through reviews."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

EXAMPLE = "math_topics"
DAY1 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def _rules(example_rules):
    return example_rules


def attempt(api, topic, task, correct=True, status=200):
    r = api.post(f"/v1/users/mia/topics/{topic}/attempts", {"task_id": task, "correct": correct})
    assert r.status_code == status, r.text
    return r.json()


def test_tiers_levels_prerequisites_and_reviews(api, clock):
    clock.set(DAY1)
    assert attempt(api, "fractions", "f-1", status=409)["error"]["code"] == "topic_locked"
    bodies = [attempt(api, "whole_numbers", f"w-{i}") for i in range(12)]
    assert [b["xp_awarded"] for b in bodies] == [10] * 5 + [5] * 5 + [1] * 2
    assert [b["tier"] for b in bodies] == ["full"] * 5 + ["half"] * 5 + ["low"] * 2
    assert [b["topic"]["level"] for b in bodies][3:6] == [1, 2, 2]  # 50 topic XP: level 2
    # Level 2 of whole numbers opens fractions (and decimals).
    assert attempt(api, "fractions", "f-1")["xp_awarded"] == 15
    decimals = [attempt(api, "decimals", f"d-{i}")["xp_awarded"] for i in range(3)]
    assert decimals == [15, 14, 13]  # 15 x 0.95^(n-1), rounded down
    topics = {t["topic"]: t for t in api.get("/v1/users/mia/topics").json()["topics"]}
    assert topics["whole_numbers"]["xp"] == 77 and topics["whole_numbers"]["level"] == 2
    assert topics["percentages"]["locked"] is True

    # Spaced repetition of one task: 1, 3, 7 days; an early repeat pays half; a wrong answer
    # starts the task again.
    stages = []
    for day, correct in ((1, True), (4, True)):
        clock.set(DAY1 + timedelta(days=day))
        task = attempt(api, "whole_numbers", "w-0", correct)["task"]
        stages.append((task["srs_stage"], task["next_review_date"]))
    assert stages == [(2, "2026-11-06"), (3, "2026-11-13")]
    assert api.get("/v1/users/mia/reviews", due_by="2026-11-13").json()["reviews"][-1] == {
        "topic": "whole_numbers", "task_id": "w-0", "next_review_date": "2026-11-13"}  # fmt: skip
    early = attempt(api, "whole_numbers", "w-0")
    assert early["multiplier"] == 0.5 and early["xp_awarded"] == 5
    wrong = attempt(api, "whole_numbers", "w-0", correct=False)
    assert wrong["xp_awarded"] == 0 and wrong["task"]["srs_stage"] == 0
    assert wrong["task"]["next_review_date"] == "2026-11-07"
