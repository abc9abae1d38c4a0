"""``POST /v1/users/{user_id}/coins``: a coin reward paid once per window (the coin-log
service's ``awardCoinsOnce``; README.md, "The API (v1)", "Award coins once").

A repeat inside the window is ``awarded: false`` (not an error); tiers of one reward share
its window (``daily_goal`` pays once a day, whichever tier comes first). Two round trips
(:mod:`gamification.usecases.optimistic`): one ``BatchGetItem`` of the profile, the
once-marker and the idempotency record; one ``TransactWriteItems`` of the marker
(``attribute_not_exists``: paid once even under races), the coin ledger entry and the profile
balance; with an Idempotency-Key the coin entry is stored as the key's record
(:mod:`gamification.usecases.idempotency`). ``coins`` boards follow from the ledger entry through
the table's stream (docs/leaderboards.md, "The projection").
"""

from __future__ import annotations

import uuid
from typing import Any

from gamification.api.models import AwardCoinsRequest, AwardCoinsResponse
from gamification.dal import items, keys
from gamification.dal.store import version_of
from gamification.domain.awards import resolve_reward
from gamification.domain.errors import GamificationError
from gamification.domain.periods import local_date, window_end, window_key
from gamification.usecases.context import Context, event_time, opening_balance
from gamification.usecases.idempotency import Idempotency
from gamification.usecases.optimistic import Answer, Read, Write, read_decide_commit
from gamification.usecases.outcome import Outcome
from gamification.usecases.progression import after_award, room_left


def award_coins(
    ctx: Context, tenant: str, user_id: str, req: AwardCoinsRequest, idempotency_key: str | None
) -> Outcome[AwardCoinsResponse]:
    """Award ``req.reason`` (``scope``, ``tier``) once in its window. Raises UnknownReward /
    ValidationFailed (400), IdempotencyKeyReused (422), Contention (503)."""
    rules, now = ctx.rules, ctx.now()
    idem = Idempotency.of(tenant, "award_coins", user_id, req, idempotency_key, AwardCoinsResponse)
    try:
        reward, amount = resolve_reward(rules, req.reason, req.scope, req.tier)
        occurred = event_time(ctx, req.occurred_at, now)
    except GamificationError as exc:
        return idem.replay_or_raise(ctx.store, exc)
    day = local_date(occurred, rules.zone)
    wkey = window_key(reward.window, day)
    wend = window_end(reward.window, day, rules.zone)
    k_profile = keys.profile_key(tenant, user_id)
    k_once = keys.once_key(tenant, user_id, req.reason, req.scope, wkey)

    def respond(awarded: bool, balance: int, event_id: str | None, unlocked: Any = ()) -> Outcome[AwardCoinsResponse]:
        return Outcome(AwardCoinsResponse(
            awarded=awarded, amount=amount if awarded else 0, balance=balance, reason=req.reason, scope=req.scope,
            tier=req.tier, window=reward.window, window_key=wkey, event_id=event_id,
            achievements_unlocked=list(unlocked),
        ))  # fmt: skip

    def decide(read: Read) -> Write | Answer:
        profile, marker = read
        balance = int(profile.get("coins_balance", 0)) if profile else 0
        if marker:
            return Answer(respond(False, balance, None))
        event_id = uuid.uuid4().hex
        # Achievements on coins earned (docs/achievements.md); rewards are cap-exempt.
        total = int(profile["total_xp"]) if profile else rules.xp.start
        extras = after_award(rules, profile, action=None, occurred=occurred, now=now, total_xp=total,
                             balance=balance + amount, coins_gained=amount, room=room_left(0))  # fmt: skip
        tx = ctx.store.transaction(token=event_id)
        # A marker is needed only while events of its window can still arrive.
        expires = items.retained_until(wend, now, rules.max_event_age) if wend else None
        tx.put_new(*items.once_marker(
            tenant, user_id, reason=req.reason, scope=req.scope, window_key=wkey, event_id=event_id, now=now,
            expires_at=expires,
        ))  # fmt: skip
        entry = items.coin_entry(
            tenant, user_id, event_id=event_id, occurred=occurred, recorded=now, reason=req.reason, amount=amount,
            balance=balance + amount, scope=req.scope, tier=req.tier, window=reward.window, window_key=wkey,
            idempotency_key=idempotency_key,
        )  # fmt: skip
        opening = 0 if profile else opening_balance(ctx, tx, tenant, user_id, occurred, now, event_id)
        tx.bump_profile(k_profile, version_of(profile), user_id=user_id, now=now, xp=opening + extras.xp,
                        coins=amount + extras.coins, set_attrs=extras.profile_attrs)  # fmt: skip
        extras.write(tx, tenant=tenant, user_id=user_id, occurred=occurred, now=now, event_id=event_id, rules=rules)
        # The next attempt tells this one landed by the marker naming its event id.
        landed = lambda again: bool(again[1]) and again[1].get("event_id") == event_id  # noqa: E731
        return Write(respond(True, balance + amount + extras.coins, event_id, extras.unlocked), tx, landed=landed,
                     entry=entry)  # fmt: skip

    return read_decide_commit(ctx.store, ctx.retry, idem, now, [k_profile, k_once], decide)
