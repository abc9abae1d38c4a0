"""Pure award decisions: what an XP award or a coin reward may grant, given the rules and
the state read from the ledger. No I/O; the data-access layer turns a decision into
conditional writes that DynamoDB enforces.

Source: product.md "Award order for XP" (seed 001 limits, caps, partial awards) and
seed 000 (``awardCoinsOnce``, ``xp_bonus`` at 1 coin per ``xp_ratio`` XP).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .errors import ActionLimitReached, DailyXpCapReached, UnknownAction, UnknownReward, ValidationFailed
from .levels import level_for_xp
from .rules import Action, CoinReward, Rules, format_duration


@dataclass(frozen=True)
class DayUsage:
    """One user's usage of one local day: XP counted toward the cap and awards per action."""

    xp_gained: int = 0
    action_counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class XpDecision:
    """The outcome of an allowed XP award.

    ``amount``: signed XP added to the total (may be cut by the cap: ``capped``).
    ``cap_amount``: XP counted toward the daily cap (0 for cap-exempt actions).
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


def decide_xp(rules: Rules, action: str, total_xp: int, usage: DayUsage, retry_after: int) -> XpDecision:
    """Decide an XP award for ``action`` by a user holding ``total_xp`` with ``usage`` today.

    Order (product.md): unknown action -> :class:`UnknownAction`; action's daily limit used
    up -> :class:`ActionLimitReached`; the cap of the level held *before* the award used up
    -> :class:`DailyXpCapReached`; else award ``min(xp, cap - gained)``, ``capped`` when cut.
    ``retry_after`` (seconds to the day's reset) is carried by the 429 errors.
    """
    rule = action_rule(rules, action)
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
    amount = rule.xp
    if cap is not None and not rule.cap_exempt:
        room = cap - usage.xp_gained
        if room <= 0:
            raise DailyXpCapReached(
                f"Daily EXP cap reached ({cap} EXP/day for level {level})",
                retry_after,
                cap=cap,
                level=level,
                xp_gained=usage.xp_gained,
            )
        amount = min(amount, room)
    return XpDecision(
        action=action,
        requested=rule.xp,
        amount=amount,
        cap_amount=0 if rule.cap_exempt else amount,
        capped=amount < rule.xp,
        cap=cap,
        limit=rule.daily_limit,
        level=level,
        cap_exempt=rule.cap_exempt,
        usage_before=usage,
    )


def xp_bonus_coins(xp_ratio: int, total_before: int, total_after: int) -> int:
    """Coins earned as ``xp_bonus`` when total XP moves (seed 000: 1 coin per 10 XP).

    ``floor(after/ratio) - floor(before/ratio)``; 0 when the ratio is 0 (disabled).
    """
    if xp_ratio <= 0:
        return 0
    return total_after // xp_ratio - total_before // xp_ratio


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


def check_event_time(occurred_at: datetime, now: datetime, rules: Rules) -> None:
    """Refuse an event more than 5 minutes in the future or older than ``max_event_age``.

    Raises :class:`ValidationFailed` naming ``occurred_at`` (product.md "Events may carry").
    """
    if occurred_at > now + timedelta(minutes=5):
        raise ValidationFailed("occurred_at is more than 5 minutes in the future", field="occurred_at")
    if occurred_at < now - rules.max_event_age:
        raise ValidationFailed(
            f"occurred_at is older than max_event_age ({format_duration(rules.max_event_age)})", field="occurred_at"
        )
