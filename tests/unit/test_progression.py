"""What an accepted award adds for streaks and achievements (no I/O): profile attributes,
cap-exempt rewards, chained unlocks, items to write, and nothing extra for an ordinary award."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import yaml
from gamification.dal.store import Transaction
from gamification.domain.rules import DEFAULT_RULES_FILE, load_rules, parse_rules
from gamification.domain.streaks import StreakState
from gamification.usecases.progression import ACHIEVEMENTS, STREAK, after_award

NOON = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)
RULES = load_rules()


def rewarded(xp: int):
    """The default rules with a reward of ``xp`` XP on first_character."""
    data = yaml.safe_load(DEFAULT_RULES_FILE.read_text())
    data["achievements"]["first_character"]["reward"] = {"xp": xp}
    return parse_rules(data)


def award(profile, action="forked", total=10, balance=1, coins=1, now=NOON, rules=RULES, occurred=None):
    return after_award(rules, profile, action=action, occurred=occurred or now, now=now, total_xp=total,
                       balance=balance, coins_gained=coins)  # fmt: skip


def test_a_first_award_starts_the_streak_and_adds_no_item():
    extras = award(None)
    assert extras.streak == {"current": 1, "longest": 1, "extended": True}
    assert extras.unlocked == [] and (extras.xp, extras.coins) == (0, 0)
    assert extras.items_needed() == 0
    assert set(extras.profile_attrs) == {"streak", "action_counts", "coins_earned"}


def test_a_second_award_the_same_day_does_not_rewrite_the_streak():
    first = award(None)
    extras = award({**first.profile_attrs, "total_xp": 10})
    assert extras.streak == {"current": 1, "longest": 1, "extended": False}
    assert STREAK not in extras.profile_attrs and extras.profile_attrs["action_counts"] == {"forked": 2}


def test_an_unlock_pays_its_reward_once_and_writes_marker_count_and_ledger():
    rules = rewarded(10)
    extras = award(None, action="create_character", total=30, rules=rules)
    assert [u["id"] for u in extras.unlocked] == ["first_character"]
    assert extras.xp == 10 and extras.unlocked[0]["reward"] == {"xp": 10, "coins": 0}
    assert extras.profile_attrs[ACHIEVEMENTS] == {"first_character": "2026-11-21T12:00:00.000000Z"}
    tx = Transaction("t")
    extras.write(tx, tenant="g", user_id="u", occurred=NOON, now=NOON, event_id="e", rules=rules)
    sks = sorted(next(iter(i.values()))["Item"]["sk"]["S"] if "Put" in i else i["Update"]["Key"]["sk"]["S"]
                 for i in tx.items)  # fmt: skip
    # marker, reward XP entry, the xp_bonus its 10 XP earn (30 -> 40 XP), the catalogue count
    stamp = "2026-11-21T12:00:00.000000Z"
    assert sks == ["ACH#first_character", f"COIN#{stamp}#e.bonus", f"XP#{stamp}#e.0", "first_character"]
    assert len(tx.items) == extras.items_needed()
    again = award({**extras.profile_attrs, "total_xp": 40}, action="create_character", total=70, rules=rules)
    assert again.unlocked == []


def test_reward_xp_chains_into_a_level_unlock_and_earns_bonus_coins():
    extras = award(None, action="create_character", total=30, rules=rewarded(1500))
    assert [u["id"] for u in extras.unlocked] == ["first_character", "xp_500", "coins_100", "level_5"]
    assert extras.xp == 1500 and extras.bonus == 150 and extras.coins == 150 + 20


def test_unlocks_that_do_not_fit_the_transaction_wait():
    extras = after_award(RULES, None, action="create_character", occurred=NOON, now=NOON, total_xp=30, balance=0,
                         coins_gained=0, room=2)  # fmt: skip
    assert extras.unlocked == []


def test_a_milestone_is_paid_once_when_the_run_first_reaches_it():
    profile, paid = {}, []
    for i in range(8):
        now = NOON + timedelta(days=i)
        extras = award({**profile, "total_xp": 10}, now=now)
        profile.update(extras.profile_attrs)
        paid += [p.reason for p in extras.payments if p.reason.startswith("streak_milestone")]
    assert paid == ["streak_milestone:7"]
    assert StreakState.from_item(profile[STREAK]).view(RULES.streaks.daily, (NOON + timedelta(days=7)).date()).current == 8


def test_a_coin_award_counts_coins_earned_and_touches_no_streak():
    extras = after_award(RULES, {"coins_earned": 95}, action=None, occurred=NOON, now=NOON, total_xp=0, balance=95,
                         coins_gained=10)  # fmt: skip
    assert extras.streak is None and [u["id"] for u in extras.unlocked] == ["coins_100"]
    assert extras.profile_attrs["coins_earned"] == 105


def test_the_award_that_ends_a_gap_records_what_the_missed_dates_did():
    day1 = award(None)
    day2 = award({**day1.profile_attrs}, now=NOON + timedelta(days=1))
    assert day2.streak_events == []  # the next date: nothing missed
    back = award({**day1.profile_attrs, **day2.profile_attrs}, now=NOON + timedelta(days=4))
    assert back.streak == {"current": 1, "longest": 2, "extended": True}
    assert back.streak_events == [{"type": "streak.lost", "date": "2026-11-23", "length": 2}]
    again = award({**day1.profile_attrs, **day2.profile_attrs, **back.profile_attrs}, now=NOON + timedelta(days=4))
    assert again.streak_events == []  # the same date again: reported once
