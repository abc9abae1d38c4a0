"""The KPI tracker's story over HTTP (examples/kpi_tracker/rules.yaml): its 11 achievements in
four categories, a streak of days with a KPI logged (a freeze bridges a missed day), and
the one-row profile that holds XP, level, streak and achievement count."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

EXAMPLE = "kpi_tracker"
DAY1 = datetime(2026, 11, 2, 18, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def _rules(example_rules):
    return example_rules


def log(api, action="log_kpi"):
    r = api.xp("vic", action)
    assert r.status_code == 200, r.text
    return r.json()


def unlocked(body):
    return [a["id"] for a in body["achievements_unlocked"]]


def test_the_catalogue_has_11_achievements_in_four_categories(api):
    catalogue = api.get("/v1/achievements").json()["achievements"]
    by_category: dict[str, int] = {}
    for a in catalogue:
        by_category[a["category"]] = by_category.get(a["category"], 0) + 1
    assert by_category == {"exploration": 2, "milestones": 4, "streaks": 3, "mastery": 2}
    assert sorted(a["id"] for a in catalogue if a["hidden"]) == ["level_10", "streak_100"]


def test_a_vision_kpis_a_week_of_check_ins_and_the_one_row_profile(api, clock):
    clock.set(DAY1)
    assert unlocked(log(api, "create_vision")) == ["first_vision"]
    assert unlocked(log(api, "create_kpi")) == ["first_kpi"]
    tenth = [unlocked(log(api)) for _ in range(10)]
    assert tenth == [[]] * 9 + [["kpi_10"]]  # once, at the tenth check-in
    # One check-in a day on days 2, 3, 5, 6, 7, 8: the missed day 4 is bridged by the freeze.
    streaks = []
    for day in (1, 2, 4, 5, 6, 7):
        clock.set(DAY1 + timedelta(days=day))
        body = log(api)
        streaks.append(body["streak"]["current"])
    assert streaks == [2, 3, 4, 5, 6, 7] and unlocked(body) == ["streak_7"]
    streak = api.get("/v1/users/vic/streak").json()
    assert [h["status"] for h in streak["history"][:8]] == ["active"] * 4 + ["frozen"] + ["active"] * 3
    assert streak["freezes_available"] == 1  # spent on day 4, one earned by 7 active dates

    # The one-row profile (the source's user_gamification row): 25 + 15 + 16 x 10 XP, and
    # the rewards 10 + 10 + 25 + 50.
    profile = api.get("/v1/users/vic").json()
    assert (profile["total_xp"], profile["level"], profile["level_name"]) == (295, 3, "Tracker")
    assert (profile["streak_current"], profile["streak_longest"], profile["last_active_date"]) == (7, 7, "2026-11-09")
    assert profile["achievements_count"] == 4 and profile["badges"] == ["streak_7"]
    mine = {a["id"]: a for a in api.get("/v1/users/vic/achievements").json()["achievements"]}
    assert "streak_100" not in mine and "level_10" not in mine  # hidden until unlocked
    assert mine["kpi_50"]["unlocked"] is False and mine["kpi_50"]["progress"]["current"] == 16
