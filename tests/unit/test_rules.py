"""The rules file: the bundled default encodes the seeds, and bad files are refused with
messages that name the field."""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml
from gamification.domain.rules import DEFAULT_RULES_FILE, RulesError, load_rules, parse_rules


@pytest.fixture(scope="module")
def rules():
    return load_rules()


def base() -> dict:
    return yaml.safe_load(DEFAULT_RULES_FILE.read_text())


def test_default_rules_encode_seed_001_actions_and_caps(rules):
    expected = {
        "daily_chat": (20, 1),
        "create_character": (30, 2),
        "create_scene": (15, 2),
        "create_persona": (15, 2),
        "character_liked": (5, 20),
        "forked": (10, None),
        "paid_char_sold": (50, None),
    }
    assert {name: (a.xp, a.daily_limit) for name, a in rules.actions.items()} == expected
    assert [rules.daily_xp_cap(level) for level in range(1, 7)] == [150, 150, 300, 300, 500, 500]
    assert (rules.levels[0].name, rules.levels[0].xp) == ("Newbie", 0)
    assert (rules.levels[1].name, rules.levels[1].xp) == ("Creator", 100)
    assert rules.timezone == "UTC" and rules.max_event_age == timedelta(hours=48)


def test_default_rules_encode_seed_000_coins(rules):
    coins = rules.coins
    assert coins.xp_ratio == 10
    assert (coins.rewards["daily_login"].amount, coins.rewards["daily_login"].window) == (10, "day")
    assert coins.rewards["daily_goal"].tiers == {"easy": 15, "medium": 25, "hard": 40}
    variant = coins.rewards["variant_clear"]
    assert (variant.amount, variant.window, variant.scoped) == (30, "forever", True)


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda d: d.update(version=2), "version"),
        (lambda d: d.update(timezone="Mars/Olympus"), "timezone"),
        (lambda d: d.update(timezone="localtime"), "timezone"),  # the host's zone, not an IANA name
        (lambda d: d.update(timezone="Factory"), "timezone"),
        (lambda d: d.update(max_event_age="soon"), "max_event_age"),
        (lambda d: d.update(max_event_age="0s"), "max_event_age"),
        (lambda d: d["levels"].__setitem__(0, {"level": 1, "name": "A", "xp": 10}), "levels"),
        (lambda d: d["levels"].__setitem__(2, {"level": 3, "name": "A", "xp": 50}), "levels"),
        (lambda d: d["levels"].append({"level": 9, "name": "Z", "xp": 99999}), "levels"),
        (lambda d: d["daily_xp_caps"].append({"levels": [2, 3], "cap": 1}), "daily_xp_caps"),
        (lambda d: d["daily_xp_caps"].append({"levels": [7, 8], "cap": 1}), "daily_xp_caps"),
        (lambda d: d["daily_xp_caps"].__setitem__(0, {"levels": [2, 1], "cap": 1}), "daily_xp_caps.0.levels"),
        (lambda d: d["actions"]["daily_chat"].update(xp=10**9), "actions.daily_chat.xp"),
        (lambda d: d["actions"]["daily_chat"].update(daily_limit=0), "actions.daily_chat.daily_limit"),
        (lambda d: d["actions"]["daily_chat"].update(xp="lots"), "actions.daily_chat.xp"),
        (lambda d: d["actions"]["daily_chat"].update(colour="red"), "actions.daily_chat.colour"),
        (lambda d: d["actions"].update({"Bad Name": {"xp": 1}}), "actions.Bad Name"),
        (lambda d: d["coins"]["rewards"].update(xp_bonus={"amount": 1, "window": "day"}), "coins.rewards"),
        (lambda d: d["coins"]["rewards"]["daily_login"].update(window="hour"), "coins.rewards.daily_login.window"),
        (lambda d: d["coins"]["rewards"]["daily_login"].update(tiers={"a": 1}), "coins.rewards.daily_login"),
        (lambda d: d["leaderboards"]["xp"].update(periods=["daily", "daily"]), "leaderboards.xp.periods"),
        (lambda d: d.update(surprise=True), "surprise"),
        (lambda d: d.pop("actions"), "actions"),
    ],
)
def test_a_bad_rules_file_is_refused_naming_the_field(mutate, field):
    data = base()
    mutate(data)
    with pytest.raises(RulesError) as exc:
        parse_rules(data, source="game.yaml")
    lines = str(exc.value).splitlines()
    assert lines[0] == "game.yaml is not a valid rules file:"
    assert any(line.strip().startswith(field) for line in lines[1:]), str(exc.value)


def test_durations(tmp_path):
    for text, span in [("90m", timedelta(minutes=90)), ("2d", timedelta(days=2)), ("1w", timedelta(weeks=1))]:
        data = base()
        data["max_event_age"] = text
        assert parse_rules(data).max_event_age == span


def test_unreadable_and_malformed_files(tmp_path):
    with pytest.raises(RulesError, match="cannot read rules file"):
        load_rules(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("levels: [unclosed\n")
    with pytest.raises(RulesError, match="not valid YAML"):
        load_rules(bad)
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    with pytest.raises(RulesError, match="not a valid rules file"):
        load_rules(empty)


def test_levels_without_a_cap_are_uncapped():
    data = base()
    data["daily_xp_caps"] = [{"levels": [1, 2], "cap": 150}]
    rules = parse_rules(data)
    assert rules.daily_xp_cap(2) == 150 and rules.daily_xp_cap(3) is None
