"""The read routes: a day's limits, the level ladder, a profile, a leaderboard. Each is one
DynamoDB round trip or a few (leaderboards: see :mod:`gamification.usecases.boards`); none
writes. The profile is :mod:`gamification.usecases.profile` (re-exported here), which the
dashboard reads too: it loads none of the other reads' models."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from gamification.api.models import ActionUsage, LeaderboardResponse, LevelInfo, LevelsResponse, LimitsResponse
from gamification.dal import items, keys
from gamification.domain.errors import ValidationFailed
from gamification.domain.levels import level_for_xp
from gamification.domain.periods import day_end, day_key, local_date
from gamification.usecases.context import Context
from gamification.usecases.outcome import Outcome
from gamification.usecases.profile import profile  # noqa: F401 - re-exported

if TYPE_CHECKING:  # annotations only: the rules load with the engine, on the first request
    from gamification.domain.rules import Rules


def limits(ctx: Context, tenant: str, user_id: str, on: date | None = None) -> Outcome[LimitsResponse]:
    """Usage, caps and per-action limits for one local day (default: today in the rules'
    zone). The cap shown is the one for the user's current level. One BatchGetItem.

    ``on`` must lie within the retention of usage items (``max_event_age`` + 7 days back)
    and at most one day ahead; else ValidationFailed (400).
    """
    rules, now = ctx.rules, ctx.now()
    today = local_date(now, rules.zone)
    day = on or today
    oldest = today - (rules.max_event_age + items.USAGE_RETENTION)
    if not oldest <= day <= today + timedelta(days=1):
        raise ValidationFailed(
            f"date must be between {oldest.isoformat()} and {(today + timedelta(days=1)).isoformat()}", field="date"
        )
    profile, usage_item = ctx.store.get_many(
        [keys.profile_key(tenant, user_id), keys.usage_key(tenant, user_id, day_key(day))]
    )
    if usage_item and usage_item.get(items.TTL_ATTRIBUTE, float("inf")) < items.epoch(now):
        usage_item = None  # expired; TTL deletes late
    level = level_for_xp(rules, int(profile["total_xp"]) if profile else rules.xp.start).level
    cap = rules.daily_xp_cap(level)
    gained = int(usage_item.get("xp_gained", 0)) if usage_item else 0
    return Outcome(
        LimitsResponse(
            user_id=user_id,
            date=day_key(day),
            timezone=rules.timezone,
            level=level,
            xp_gained=gained,
            xp_cap=cap,
            xp_remaining=None if cap is None else max(cap - gained, 0),
            resets_at=keys.stamp(day_end(day, rules.zone)),
            actions=_action_usage(rules, items.day_counts(usage_item)),
        )
    )


def _action_usage(rules: Rules, counts: dict[str, int]) -> dict[str, ActionUsage]:
    return {
        name: ActionUsage(
            count=counts.get(name, 0),
            limit=rule.daily_limit,
            remaining=None if rule.daily_limit is None else max(rule.daily_limit - counts.get(name, 0), 0),
            xp=rule.xp,
            xp_min=rule.min,
            xp_max=rule.max,
        )
        for name, rule in rules.actions.items()
    }


def levels(rules: Rules) -> Outcome[LevelsResponse]:
    """The level ladder with each level's daily XP cap and unlocks. No I/O."""
    return Outcome(
        LevelsResponse(
            levels=[
                LevelInfo(level=lv.level, name=lv.name, xp=lv.xp, daily_xp_cap=rules.daily_xp_cap(lv.level),
                          unlocks=list(lv.unlocks))  # fmt: skip
                for lv in rules.levels
            ]
        )
    )


def leaderboard(
    ctx: Context, tenant: str, board: str, period: str, on: date | None = None, **options: Any
) -> Outcome[LeaderboardResponse]:
    """``GET /v1/leaderboards/{board}``: see :meth:`gamification.usecases.boards.LeaderboardReader.read`
    for ``options`` (limit, user_id, around, final) and errors. Optional parts that do not
    apply (``user``, ``around``, ``finalised_at``) are left out of the body."""
    from gamification.usecases.boards import OPTIONAL_FIELDS, LeaderboardReader  # its route only (cold start)

    result = LeaderboardReader(ctx.rules, ctx.store).read(tenant, board, period, on, now=ctx.now(), **options)
    return Outcome(result, omit_none=OPTIONAL_FIELDS)
