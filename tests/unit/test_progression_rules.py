"""The rules' ``streaks:`` and ``achievements:`` sections: the bundled default and the KPI
tracker example load, and bad sections are refused with messages that name the field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from gamification.domain.achievement_rules import Criteria
from gamification.domain.achievements import Figures, met, newly_met, progress
from gamification.domain.rules import DEFAULT_RULES_FILE, RulesError, load_rules, parse_rules

KPI_RULES = Path(__file__).resolve().parents[2] / "examples" / "kpi_tracker" / "rules.yaml"


def base() -> dict:
    return yaml.safe_load(DEFAULT_RULES_FILE.read_text())


def test_the_default_rules_have_a_daily_streak_and_achievements_for_their_actions():
    rules = load_rules()
    daily = rules.streaks.daily
    assert daily is not None and daily.qualifying == "any" and daily.freezes.earn_every_days == 7
    assert set(daily.milestones) == {7, 30}
    assert {a.category for a in rules.achievements.values()} == {"exploration", "milestones", "streaks", "mastery"}
    assert any(a.badge for a in rules.achievements.values()) and any(a.hidden for a in rules.achievements.values())


def test_the_kpi_tracker_example_has_its_11_achievements_in_four_categories():
    rules = load_rules(KPI_RULES)
    by_category: dict[str, list[str]] = {}
    for aid, a in rules.achievements.items():
        by_category.setdefault(a.category, []).append(aid)
    assert by_category == {
        "exploration": ["first_vision", "first_kpi"],
        "milestones": ["kpi_10", "kpi_50", "kpi_100", "kpi_500"],
        "streaks": ["streak_7", "streak_30", "streak_100"],
        "mastery": ["level_5", "level_10"],
    }


def ach(**criteria) -> dict:
    return {"name": "X", "category": "milestones", "criteria": criteria}


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d["achievements"].update(x=ach(action_count={"nope": 1})),
         "achievements.x.criteria.action_count.nope: unknown action 'nope'"),
        (lambda d: d["achievements"].update(x=ach(level=99)), "achievements.x.criteria.level: level 99 does not exist"),
        (lambda d: d["achievements"].update(x=ach(total_xp=0)), "achievements.x.criteria.total_xp"),
        (lambda d: d["achievements"].update(x=ach()), "achievements.x.criteria: give at least one criterion"),
        (lambda d: d["achievements"].update(x=ach(action_count={})), "action_count: name at least one action"),
        (lambda d: d["achievements"].update(x={**ach(level=2), "category": "fun"}), "achievements.x.category"),
        (lambda d: d["achievements"].update(x={**ach(level=2), "reward": {}}), "achievements.x.reward"),
        (lambda d: d["achievements"].update(x={**ach(level=2), "reward": {"xp": -5}}), "achievements.x.reward.xp"),
        (lambda d: d["achievements"].update(x={**ach(level=2), "colour": "red"}), "achievements.x.colour"),
        (lambda d: d["achievements"].update({"Bad-Id": ach(level=2)}), "achievements.Bad-Id"),
        (lambda d: d["streaks"]["daily"].update(milestones={0: {"xp": 5}}), "streaks.daily.milestones: milestone 0"),
        (lambda d: d["streaks"]["daily"].update(milestones={3: {"xp": 0}}), "streaks.daily.milestones.3"),
        (lambda d: d["streaks"]["daily"].update(qualifying=["nope"]), "streaks.daily.qualifying: unknown action 'nope'"),
        (lambda d: d["streaks"]["daily"].update(qualifying=[]), "streaks.daily.qualifying"),
        (lambda d: d["streaks"]["daily"].update(freezes={"start": 3, "max": 1}), "streaks.daily.freezes"),
        (lambda d: d["streaks"]["daily"].update(freezes={"earn_every_days": 0}), "streaks.daily.freezes.earn_every_days"),
        (lambda d: d["streaks"].update(weekly={}), "streaks.weekly"),
        (lambda d: d.pop("streaks"), "achievements.streak_7.criteria.streak: the rules have no 'streaks.daily'"),
    ],
)
def test_a_bad_section_is_refused_naming_the_field(mutate, message):
    data = base()
    mutate(data)
    with pytest.raises(RulesError) as err:
        parse_rules(data)
    assert message in str(err.value)


def test_criteria_progress_and_unlocks():
    c = Criteria(total_xp=100, action_count={"a": 2, "b": 1})
    f = Figures(total_xp=150, action_counts={"a": 5})
    assert not met(c, f)
    p = progress(c, f)
    assert (p.current, p.target, p.criterion) == (2, 3, "action_count")  # 'a' counts 2 at most
    assert met(c, Figures(total_xp=100, action_counts={"a": 2, "b": 1}))
    catalogue = load_rules().achievements
    got = newly_met(catalogue, Figures(total_xp=600, level=3, action_counts={"create_character": 1}), {"xp_500"})
    assert got == ["first_character"]
