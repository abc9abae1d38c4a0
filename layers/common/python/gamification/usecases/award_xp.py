"""``POST /v1/users/{user_id}/xp``: award XP for an action (README.md, "The API (v1)").

Two DynamoDB round trips in the common case (:mod:`gamification.usecases.optimistic`): one
``BatchGetItem`` of the profile, the day's usage item and the idempotency record; one
``TransactWriteItems`` of the XP ledger entry, the day usage (its own conditions refuse a
limit or cap overshoot) and the profile (version-checked). The ``xp_bonus`` coins the award
earns ride on the XP entry (:func:`gamification.dal.items.with_bonus`). With an
Idempotency-Key the XP entry is stored as the key's record
(:mod:`gamification.usecases.idempotency`): 3 items either way. Leaderboards are not in it:
they are projected from the ledger entry through the table's stream (docs/leaderboards.md,
"The projection").
"""

from __future__ import annotations

import json
import math
import uuid
from datetime import date, datetime
from typing import Any

from gamification.api.models import AwardXpRequest, AwardXpResponse, DailyUsage
from gamification.dal import items, keys
from gamification.dal.store import Transaction, version_of
from gamification.domain.awards import DayUsage, XpDecision, decide_xp, requested_xp, xp_bonus_coins
from gamification.domain.errors import GamificationError
from gamification.domain.levels import level_for_xp
from gamification.domain.periods import day_end, day_key, local_date
from gamification.usecases.context import Context, event_time, opening_balance
from gamification.usecases.idempotency import Idempotency
from gamification.usecases.optimistic import Read, Write, read_decide_commit
from gamification.usecases.outcome import Outcome
from gamification.usecases.progression import Extras, after_award, room_left


def award_xp(
    ctx: Context, tenant: str, user_id: str, req: AwardXpRequest, idempotency_key: str | None
) -> Outcome[AwardXpResponse]:
    """Award XP for ``req.action`` to ``user_id``.

    Raises UnknownAction (400), ValidationFailed (400, occurred_at out of range or a bad
    ``amount``), ActionLimitReached / DailyXpCapReached (429), IdempotencyKeyReused (422),
    Contention (503).
    """
    rules, now = ctx.rules, ctx.now()
    idem = Idempotency.of(tenant, "award_xp", user_id, req, idempotency_key, AwardXpResponse)
    try:
        requested_xp(rules, req.action, req.amount)  # unknown action, bad amount: 400
        occurred = event_time(ctx, req.occurred_at, now)
    except GamificationError as exc:
        return idem.replay_or_raise(ctx.store, exc)
    day = local_date(occurred, rules.zone)
    resets_at = day_end(day, rules.zone)
    # A past day never resets for this event: no Retry-After then.
    retry_after = math.ceil((resets_at - now).total_seconds()) if resets_at > now else None
    k_profile, k_usage = keys.profile_key(tenant, user_id), keys.usage_key(tenant, user_id, day_key(day))

    def decide(read: Read) -> Write:
        profile, usage_item = read
        total_before = int(profile["total_xp"]) if profile else rules.xp.start
        balance_before = int(profile.get("coins_balance", 0)) if profile else 0
        usage = DayUsage(int(usage_item.get("xp_gained", 0)) if usage_item else 0, items.day_counts(usage_item))
        decision = decide_xp(rules, req.action, total_before, usage, retry_after, amount=req.amount)
        total_after = total_before + decision.amount
        bonus = xp_bonus_coins(rules.coins.xp_ratio, total_before, total_after, balance_before)
        # Streaks and achievements: profile attributes and cap-exempt rewards (docs/achievements.md).
        extras = after_award(rules, profile, action=req.action, occurred=occurred, now=now, total_xp=total_after,
                             balance=balance_before + bonus, coins_gained=bonus, room=room_left(0))  # fmt: skip
        event_id = uuid.uuid4().hex
        result = _response(ctx, req, user_id, event_id, occurred, day, decision, total_before, balance_before, bonus,
                           extras)  # fmt: skip
        tx = ctx.store.transaction(token=event_id)
        entry = _write(ctx, tx, tenant, req, idempotency_key, profile, event_id, occurred, now, day, decision, result,
                       extras)  # fmt: skip
        extras.write(tx, tenant=tenant, user_id=user_id, occurred=occurred, now=now, event_id=event_id, rules=rules)
        if bonus:  # the xp_bonus coins ride on the XP entry: one ledger item (docs/ledger-and-events.md)
            entry = items.with_bonus(entry, amount=bonus, balance=balance_before + bonus)
        return Write(Outcome(result), tx, entry=entry)

    return read_decide_commit(ctx.store, ctx.retry, idem, now, [k_profile, k_usage], decide)


def _response(
    ctx: Context, req: AwardXpRequest, user_id: str, event_id: str, occurred: datetime, day: date,
    decision: XpDecision, total_before: int, balance_before: int, bonus: int, extras: Extras,
) -> AwardXpResponse:
    """The response of an award decided as ``decision`` (plus streak and achievement ``extras``)."""
    rules = ctx.rules
    total_after = total_before + decision.amount + extras.xp
    level_before, level_after = level_for_xp(rules, total_before), level_for_xp(rules, total_after)
    return AwardXpResponse(
        event_id=event_id,
        user_id=user_id,
        action=req.action,
        occurred_at=keys.stamp(occurred),
        xp_awarded=decision.amount,
        xp_requested=decision.requested,
        capped=decision.capped,
        total_xp=total_after,
        level=level_after.level,
        level_name=level_after.name,
        leveled_up=level_after.level > level_before.level,
        coins_awarded=bonus + extras.coins,
        coins_balance=balance_before + bonus + extras.coins,
        daily=DailyUsage(
            date=day_key(day),
            resets_at=keys.stamp(day_end(day, rules.zone)),
            xp_gained=decision.xp_gained_after,
            xp_cap=decision.cap,
            xp_remaining=None if decision.cap is None else max(decision.cap - decision.xp_gained_after, 0),
            action_count=decision.count_after,
            action_limit=decision.limit,
            action_remaining=None if decision.limit is None else decision.limit - decision.count_after,
        ),
        floored=decision.floored,
        streak=extras.streak,
        achievements_unlocked=extras.unlocked,
    )


def _write(
    ctx: Context, tx: Transaction, tenant: str, req: AwardXpRequest, idempotency_key: str | None,
    profile: dict[str, Any] | None, event_id: str, occurred: datetime, now: datetime, day: date,
    decision: XpDecision, result: AwardXpResponse, extras: Extras,
) -> items.Item:
    """Add the profile and day usage of the award to ``tx`` (and the starting balance when
    the profile is new). Returns the XP ledger entry, for the caller to write (at its own
    key, or as the idempotency record: :class:`gamification.usecases.optimistic.Write`)."""
    rules, user_id = ctx.rules, result.user_id
    # Starting XP (rules xp.start) is ledgered once, with the profile; not a board score.
    opening = 0 if profile else opening_balance(ctx, tx, tenant, user_id, occurred, now, event_id)
    tx.bump_profile(keys.profile_key(tenant, user_id), version_of(profile), user_id=user_id, now=now,
                    xp=opening + decision.amount + extras.xp, coins=result.coins_awarded, xp_floor=decision.floor,
                    set_attrs=extras.profile_attrs)  # fmt: skip
    tx.add_day_usage(
        keys.usage_key(tenant, user_id, day_key(day)),
        day=day_key(day),
        action=req.action,
        cap_amount=decision.cap_amount,
        cap=decision.enforced_cap,
        limit=decision.limit,
        expires_at=items.retained_until(day_end(day, rules.zone), now, rules.max_event_age),
    )
    return items.xp_entry(
        tenant, user_id, event_id=event_id, occurred=occurred, recorded=now, reason=req.action, xp=decision.amount,
        total_xp=result.total_xp - extras.xp, xp_requested=decision.requested, capped=decision.capped,
        floored=decision.floored or None, day=day_key(day), level=level_for_xp(rules, result.total_xp - extras.xp).level,
        metadata=json.dumps(req.metadata) if req.metadata else None, idempotency_key=idempotency_key,
        streak_events=extras.streak_events or None,
    )  # fmt: skip
