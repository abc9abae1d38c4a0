"""Streaks, achievements and badges in the use cases (docs/streaks.md, docs/achievements.md).

Award path, no extra round trip: the user's streak state, lifetime action counts, coins
earned, unlocked achievements and time zone are attributes of the profile item the award
already reads. :func:`after_award` turns one accepted award into :class:`Extras`: the profile
attributes to SET (whole values: the profile ``version`` condition makes them exact), the
cap-exempt reward XP and coins to add, the response fragments, and the items to add to the
award's transaction (:meth:`Extras.write`):

- per unlock: the marker ``ACH#<id>`` created with ``attribute_not_exists`` (so racing
  requests unlock once: DynamoDB refuses the second), one count shard of the catalogue,
  and the reward's ledger entries (reason ``achievement:<id>``);
- per milestone: its ledger entries (reason ``streak_milestone:<n>``);
- an ``xp_bonus`` coin entry when reward XP earns bonus coins.

An ordinary award (no unlock, no milestone) adds no item: only profile attributes.

The routes have a module each, so that a function loads neither this award path nor the
other routes' models: :mod:`~gamification.usecases.streak_read`,
:mod:`~gamification.usecases.achievement_reads`, :mod:`~gamification.usecases.catalogue`,
:mod:`~gamification.usecases.set_timezone`, :mod:`~gamification.usecases.set_active_badge`;
the profile attributes they share are :mod:`gamification.usecases.progression_profile`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from gamification.dal import items, keys
from gamification.dal.store import Transaction
from gamification.domain.achievements import ACHIEVEMENT_REASON, Figures, newly_met
from gamification.domain.awards import xp_bonus_coins
from gamification.domain.levels import level_for_xp
from gamification.domain.periods import local_date
from gamification.domain.reasons import XP_BONUS_REASON
from gamification.domain.streaks import MILESTONE_REASON, StreakGap, StreakState, window_days
from gamification.usecases.progression_profile import (  # noqa: F401 - ACTIVE_BADGE, TIMEZONE re-exported
    ACHIEVEMENTS,
    ACTION_COUNTS,
    ACTIVE_BADGE,
    COINS_EARNED,
    STREAK,
    TIMEZONE,
    shard_for,
    user_zone,
)

if TYPE_CHECKING:  # annotations only: the rules load with the engine, on the first request
    from gamification.domain.rules import Rules

#: A transaction holds at most 100 items; unlocks that would not fit wait for the next award.
MAX_TRANSACTION_ITEMS = 100


def room_left(board_periods: int) -> int:
    """Items an award's transaction can still take for unlocks: 100 less its own (profile,
    day usage or once-marker, ledger entry with its xp_bonus coins, opening balance,
    idempotency record) and up to 11 per board period it moves (docs/leaderboards.md)."""
    return MAX_TRANSACTION_ITEMS - 5 - 11 * board_periods


class Payment(NamedTuple):
    """One reward paid by an award: ``reason`` (``achievement:<id>`` / ``streak_milestone:<n>``),
    its ``xp`` (cap-exempt) and ``coins``."""

    reason: str
    xp: int
    coins: int
    achievement: str | None = None


class Extras:
    """What an accepted award adds for streaks and achievements (see the module docstring).

    ``xp``: reward XP (cap-exempt); ``coins``: reward coins plus the ``xp_bonus`` on reward
    XP; ``streak``: the response's ``{current, longest, extended}`` (None: no daily streak
    in the rules, or a coin award); ``unlocked``: ``achievements_unlocked``.

    A plain class, not a dataclass (:func:`after_award` fills it in): a dataclass compiles
    its methods at every import (CONTRIBUTING.md, "Cold start").
    """

    def __init__(
        self, profile_attrs: dict[str, Any], *, bonus: int = 0, payments: list[Payment] | None = None,
        total_xp_before: int = 0, balance_before: int = 0,
    ) -> None:  # fmt: skip
        self.profile_attrs = profile_attrs
        self.xp = 0
        self.coins = 0
        self.bonus = bonus
        self.streak: dict[str, Any] | None = None
        self.unlocked: list[dict[str, Any]] = []
        self.payments: list[Payment] = payments if payments is not None else []
        self.total_xp_before = total_xp_before
        self.balance_before = balance_before
        self.streak_events: list[dict[str, Any]] = []

    def write(
        self,
        tx: Transaction,
        *,
        tenant: str,
        user_id: str,
        occurred: datetime,
        now: datetime,
        event_id: str,
        rules: Rules,
        retroactive: bool = False,
    ) -> None:
        """Add the unlock markers, count shards and reward ledger entries to ``tx``."""
        common = {"user_id": user_id, "occurred_at": keys.stamp(occurred), "recorded_at": keys.stamp(now),
                  "source_event_id": event_id, "retroactive": retroactive or None}  # fmt: skip
        total, balance = self.total_xp_before, self.balance_before
        for i, pay in enumerate(self.payments):
            ref = f"{event_id}.{i}"
            if pay.achievement:
                tx.put_new(
                    keys.achievement_key(tenant, user_id, pay.achievement),
                    {"user_id": user_id, "achievement": pay.achievement, "unlocked_at": keys.stamp(now),
                     "event_id": event_id, "retroactive": retroactive or None},
                )  # fmt: skip
                tx.update(items.counter_add(keys.achievement_count_key(tenant, shard_for(user_id), pay.achievement)))
            if pay.xp:
                total += pay.xp
                tx.put_new(
                    keys.xp_entry_key(tenant, user_id, occurred, ref),
                    {**common, "type": "xp", "reason": pay.reason, "xp": pay.xp, "cap_exempt": True,
                     "total_xp": total, "level": level_for_xp(rules, total).level},
                )  # fmt: skip
            if pay.coins:
                balance += pay.coins
                tx.put_new(
                    keys.coin_entry_key(tenant, user_id, occurred, ref),
                    {**common, "type": "coins", "amount": pay.coins, "reason": pay.reason, "balance": balance},
                )
        if self.bonus:
            tx.put_new(
                keys.coin_entry_key(tenant, user_id, occurred, f"{event_id}.bonus"),
                {**common, "type": "coins", "amount": self.bonus, "reason": XP_BONUS_REASON,
                 "balance": balance + self.bonus},
            )  # fmt: skip

    def items_needed(self) -> int:
        """Items :meth:`write` adds."""
        n = 1 if self.bonus else 0
        for pay in self.payments:
            n += (2 if pay.achievement else 0) + bool(pay.xp) + bool(pay.coins)
        return n


def after_award(
    rules: Rules,
    profile: Mapping[str, Any] | None,
    *,
    action: str | None,
    occurred: datetime,
    now: datetime,
    total_xp: int,
    balance: int,
    coins_gained: int,
    room: int = MAX_TRANSACTION_ITEMS,
    only: Collection[str] | None = None,
    count_action: bool = True,
) -> Extras:
    """The streak and achievement part of one accepted award.

    ``action``: the XP award's action (None: a coin award, which does not make a date
    active); ``total_xp``/``balance``: the user's XP and coins after the award's own effect;
    ``coins_gained``: coins the award itself earned (counted in ``coins_earned``);
    ``room``: items the award's transaction can still hold (unlocks that do not fit are
    left for the next award); ``only``: consider just these achievements (retroactive
    grants); ``count_action``: add the award to the lifetime ``action_counts`` (False for a
    topic attempt, action ``topic:<name>``: no ``action_count`` criterion can name it, since
    criteria name actions of the rules; docs/topics.md). Unlocks chain: reward XP can lift
    the level and unlock more.
    """
    profile = profile or {}
    attrs: dict[str, Any] = {}
    extras = Extras(attrs, total_xp_before=total_xp, balance_before=balance)
    rule = rules.streaks.daily
    current = 0
    if rule is not None:
        zone = user_zone(rules, profile)
        today = local_date(now, zone)
        state = StreakState.from_item(profile.get(STREAK))
        if action is not None and rule.qualifies(action):
            day = local_date(occurred, zone)
            update = state.record(rule, day, today, window_days(rules.max_event_age))
            if update.extended:
                attrs[STREAK] = update.state.to_item()
                extras.streak_events = streak_events(state.gap_before(rule, day))
            state = update.state
            view = state.view(rule, today)
            extras.streak = {"current": view.current, "longest": view.longest, "extended": update.extended}
            extras.payments += [Payment(f"{MILESTONE_REASON}:{n}", rule.milestones[n].xp, rule.milestones[n].coins)
                                for n in update.milestones]
            current = view.current
        else:
            current = state.view(rule, today).current
    counts = {k: int(v) for k, v in (profile.get(ACTION_COUNTS) or {}).items()}
    if action is not None and count_action:
        counts[action] = counts.get(action, 0) + 1
        attrs[ACTION_COUNTS] = counts
    unlocked = dict(profile.get(ACHIEVEMENTS) or {})
    catalogue = rules.achievements if only is None else {a: v for a, v in rules.achievements.items() if a in only}
    earned = int(profile.get(COINS_EARNED, 0)) + max(coins_gained, 0)
    reward_xp = sum(p.xp for p in extras.payments)
    reward_coins = sum(p.coins for p in extras.payments)
    stamp = keys.stamp(now)
    while True:  # unlocks chain through reward XP and coins; each id at most once
        bonus = xp_bonus_coins(rules.coins.xp_ratio, total_xp, total_xp + reward_xp)
        figures = Figures(
            total_xp=total_xp + reward_xp,
            level=level_for_xp(rules, total_xp + reward_xp).level,
            streak=current,
            action_counts=counts,
            coins_earned=earned + reward_coins + bonus,
        )
        added = False
        for aid in newly_met(catalogue, figures, unlocked):
            ach = rules.achievements[aid]
            xp, coins = (ach.reward.xp, ach.reward.coins) if ach.reward else (0, 0)
            pay = Payment(f"{ACHIEVEMENT_REASON}:{aid}", xp, coins, achievement=aid)
            if Extras(attrs, payments=[*extras.payments, pay], bonus=1).items_needed() > room:
                break  # does not fit this transaction: a later award unlocks it
            extras.payments.append(pay)
            unlocked[aid] = stamp
            reward_xp += pay.xp
            reward_coins += pay.coins
            extras.unlocked.append(
                {"id": aid, "name": ach.name, "category": ach.category,
                 "reward": {"xp": pay.xp, "coins": pay.coins}, "badge": ach.badge}
            )  # fmt: skip
            added = True
        if not added:
            break
    extras.xp = reward_xp
    extras.bonus = xp_bonus_coins(rules.coins.xp_ratio, total_xp, total_xp + reward_xp)
    extras.coins = reward_coins + extras.bonus
    if extras.unlocked:
        attrs[ACHIEVEMENTS] = unlocked
    gained = max(coins_gained, 0) + extras.coins
    if gained or COINS_EARNED not in profile:
        attrs[COINS_EARNED] = int(profile.get(COINS_EARNED, 0)) + gained
    return extras


def streak_events(gap: StreakGap) -> list[dict[str, Any]]:
    """The ``streak_events`` an extending award records on its XP ledger entry: what the
    dates missed since the previous active date did, learnt when the user comes back (the
    stream turns them into ``streak.freeze_used`` and ``streak.lost``;
    docs/ledger-and-events.md)."""
    out: list[dict[str, Any]] = []
    if gap.frozen:
        out.append({"type": "streak.freeze_used", "dates": [d.isoformat() for d in gap.frozen], "freezes_used": len(gap.frozen)})
    if gap.lost:
        out.append({"type": "streak.lost", "date": gap.lost_on.isoformat() if gap.lost_on else None, "length": gap.lost})
    return out


