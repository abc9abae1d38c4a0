"""Pure award decisions: what an XP award or a coin reward may grant, given the rules and
the state read from the ledger. No I/O; the data-access layer turns a decision into
conditional writes that DynamoDB enforces.

Source: docs/api.md (the XP route's order of checks: Mikoshi's limits, caps, partial awards)
and the exam-prep coin system (``awardCoinsOnce``, ``xp_bonus`` at 1 coin per ``xp_ratio`` XP).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, NamedTuple

from gamification.domain.errors import (
    ActionLimitReached,
    DailyXpCapReached,
    UnknownAction,
    UnknownReward,
    ValidationFailed,
)
from gamification.domain.levels import level_for_xp
from gamification.domain.periods import format_duration

if TYPE_CHECKING:  # annotations only: deciding needs a Rules instance, not the rules module's classes
    from gamification.domain.rules import Action, CoinReward, Rules


class DayUsage(NamedTuple):
    """One user's usage of one local day: XP counted toward the cap and awards per action."""

    xp_gained: int = 0
    action_counts: Mapping[str, int] = MappingProxyType({})


class XpDecision(NamedTuple):
    """The outcome of an allowed XP award.

    ``amount``: signed XP added to the total (a gain may be cut by the cap: ``capped``; a
    penalty may be cut by the rules' floor: ``floored``).
    ``cap_amount``: XP counted toward the daily cap (0 for cap-exempt actions; negative for
    a penalty, which frees room: the cap applies to the net of the day).
    ``cap``/``limit``: the daily cap of the level held before the award and the action's
    daily limit, None when unlimited. ``enforced_cap`` is the cap the write must assert
    (None for cap-exempt actions); the data layer turns it and ``limit`` into conditions.
    """

    action: str
    requested: int
    amount: int
    cap_amount: int
    capped: bool
    cap: int | None
    limit: int | None
    level: int
    cap_exempt: bool
    usage_before: DayUsage
    floored: bool = False
    floor: int | None = None

    @property
    def enforced_cap(self) -> int | None:
        """The daily cap this award must respect in the write condition."""
        return None if self.cap_exempt else self.cap

    @property
    def count_after(self) -> int:
        """The action's count for the day including this award."""
        return self.usage_before.action_counts.get(self.action, 0) + 1

    @property
    def xp_gained_after(self) -> int:
        """XP counted toward the day's cap including this award."""
        return self.usage_before.xp_gained + self.cap_amount


def action_rule(rules: Rules, action: str) -> Action:
    """The rule of ``action``. Raises :class:`UnknownAction` (400) if the rules lack it."""
    rule = rules.actions.get(action)
    if rule is None:
        raise UnknownAction(f"Unknown action: {action}", action=action)
    return rule


def requested_xp(rules: Rules, action: str, amount: int | None) -> tuple[Action, int]:
    """The action's rule and the signed XP requested: the fixed ``xp``, or the request's
    ``amount`` for a variable action. Checks the request only (no state).

    Raises :class:`UnknownAction`, or :class:`ValidationFailed` (``field: amount``) for an
    amount missing on a variable action, outside its ``min``/``max``, or given to a fixed one.
    """
    rule = action_rule(rules, action)
    if not rule.variable:
        if amount is not None:
            raise ValidationFailed(f"Action {action} awards a fixed {rule.xp} XP: remove 'amount'", field="amount")
        return rule, rule.xp  # type: ignore[return-value]
    if amount is None:
        raise ValidationFailed(f"Action {action} needs an 'amount' between {rule.min} and {rule.max}", field="amount")
    if not rule.min <= amount <= rule.max:  # type: ignore[operator]
        raise ValidationFailed(f"amount {amount} is outside {rule.min}..{rule.max} for {action}", field="amount")
    return rule, amount


def decide_xp(
    rules: Rules, action: str, total_xp: int, usage: DayUsage, retry_after: int, amount: int | None = None
) -> XpDecision:
    """Decide an XP award for ``action`` by a user holding ``total_xp`` with ``usage`` today.

    ``amount`` is the request's signed XP for a variable action (``min``/``max`` in the
    rules) and must be None for a fixed one.

    Order (docs/api.md, extended by the signed awards of docs/replay.md): unknown action -> :class:`UnknownAction`;
    missing/unexpected/out-of-bounds ``amount`` -> :class:`ValidationFailed`; action's daily
    limit used up -> :class:`ActionLimitReached`; for a gain, the cap of the level held
    *before* the award used up -> :class:`DailyXpCapReached`, else the gain is cut to
    ``cap - gained`` (``capped``). A penalty (negative amount) is never refused by the cap:
    it counts against the day's net (freeing room) unless the action is ``cap_exempt``, and
    it is cut so the total stays at or above ``rules.xp.floor`` (``floored``).
    ``retry_after`` (seconds to the day's reset) is carried by the 429 errors.
    """
    rule, requested = requested_xp(rules, action, amount)
    level = level_for_xp(rules, total_xp).level
    count = usage.action_counts.get(action, 0)
    if rule.daily_limit is not None and count >= rule.daily_limit:
        raise ActionLimitReached(
            f"Daily limit reached for {action} ({rule.daily_limit}/day)",
            retry_after,
            action=action,
            limit=rule.daily_limit,
            count=count,
        )
    cap = rules.daily_xp_cap(level)
    granted = requested
    if cap is not None and not rule.cap_exempt and requested > 0:
        room = cap - usage.xp_gained
        if room <= 0:
            raise DailyXpCapReached(
                f"Daily EXP cap reached ({cap} EXP/day for level {level})",
                retry_after,
                cap=cap,
                level=level,
                xp_gained=usage.xp_gained,
            )
        granted = min(granted, room)
    floor = rules.xp.floor
    granted = clip_to_floor(granted, total_xp, floor)
    return XpDecision(
        action=action,
        requested=requested,
        amount=granted,
        cap_amount=0 if rule.cap_exempt else granted,
        capped=granted < requested,
        cap=cap,
        limit=rule.daily_limit,
        level=level,
        cap_exempt=rule.cap_exempt,
        usage_before=usage,
        floored=granted > requested,
        floor=floor,
    )


def clip_to_floor(xp: int, total_xp: int, floor: int | None) -> int:
    """``xp`` (signed) cut so that ``total_xp + xp`` stays at or above ``floor`` (the rules'
    ``xp.floor``, docs/rules.md; None: no floor). A gain is never cut; a loss is cut to what
    the floor leaves (0 when the total is at or below the floor already), never made a gain.
    Awards (a penalty: ``floored``) and reversals (the compensating entry) share it."""
    if floor is None or xp >= 0:
        return xp
    return max(xp, min(0, floor - total_xp))


def xp_bonus_coins(xp_ratio: int, total_before: int, total_after: int, balance: int | None = None) -> int:
    """Coins earned as ``xp_bonus`` when total XP moves (the exam-prep coin system: 1 coin per 10 XP).

    ``floor(after/ratio) - floor(before/ratio)``; 0 when the ratio is 0 (disabled). A
    penalty takes the bonus coins back (negative), but never below a coin ``balance`` of 0
    when the current balance is given.
    """
    if xp_ratio <= 0:
        return 0
    coins = total_after // xp_ratio - total_before // xp_ratio
    if balance is not None and coins < 0:
        coins = max(coins, -balance)
    return coins


def resolve_reward(rules: Rules, reason: str, scope: str | None, tier: str | None) -> tuple[CoinReward, int]:
    """The reward rule and coin amount for a once-reward request.

    Raises :class:`UnknownReward` for a reason not in the rules, :class:`ValidationFailed`
    for a missing/unexpected ``scope`` or ``tier``, or an unknown tier.
    """
    reward = rules.coins.rewards.get(reason)
    if reward is None:
        raise UnknownReward(f"Unknown coin reward: {reason}", reason=reason)
    if reward.scoped and scope is None:
        raise ValidationFailed(f"Reward {reason} is scoped: give a 'scope'", field="scope")
    if not reward.scoped and scope is not None:
        raise ValidationFailed(f"Reward {reason} is not scoped: remove 'scope'", field="scope")
    if reward.tiers is None:
        if tier is not None:
            raise ValidationFailed(f"Reward {reason} has no tiers: remove 'tier'", field="tier")
        return reward, reward.amount  # type: ignore[return-value]
    if tier is None or tier not in reward.tiers:
        names = ", ".join(sorted(reward.tiers))
        raise ValidationFailed(f"Reward {reason} needs a 'tier', one of: {names}", field="tier")
    return reward, reward.tiers[tier]


def check_event_time(occurred_at: datetime, now: datetime, rules: Rules, backfill: bool = False) -> None:
    """Refuse an event more than 5 minutes in the future or older than ``max_event_age``.

    ``backfill`` (replay of history by an operator, never the HTTP API) lifts the age limit
    only. Raises :class:`ValidationFailed` naming ``occurred_at`` (docs/api.md "Common to every route").
    """
    if occurred_at > now + timedelta(minutes=5):
        raise ValidationFailed("occurred_at is more than 5 minutes in the future", field="occurred_at")
    if not backfill and occurred_at < now - rules.max_event_age:
        raise ValidationFailed(
            f"occurred_at is older than max_event_age ({format_duration(rules.max_event_age)})", field="occurred_at"
        )
