"""Use cases of API v1: award XP, award coins once, read limits, levels and profiles.

Each award is two DynamoDB round trips in the common case:

1. one strongly consistent ``BatchGetItem`` of the profile, the usage/marker item and the
   idempotency record;
2. one ``TransactWriteItems`` whose conditions (see :mod:`gamification.store`) make DynamoDB
   refuse it if anything it was decided from has changed, or if it would break a limit.

On a cancelled transaction the use case reads and decides again (bounded, jittered); a
request that keeps losing gets :class:`Contention` (503), which is safe to retry with the
same ``Idempotency-Key``.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from . import clock, keys
from .awards import DayUsage, check_event_time, decide_xp, requested_xp, resolve_reward, xp_bonus_coins
from .errors import Contention, IdempotencyKeyReused
from .levels import level_for_xp, progress_for_xp
from .models import (
    ActionUsage,
    AwardCoinsRequest,
    AwardCoinsResponse,
    AwardXpRequest,
    AwardXpResponse,
    DailyUsage,
    LevelInfo,
    LevelsResponse,
    LimitsResponse,
    ProfileResponse,
)
from .periods import day_key, local_date, window_end, window_key
from .rules import XP_BONUS_REASON, Rules
from .store import Store, WriteConflict, day_counts, epoch

#: How long DAY# usage items outlive their day (beyond max_event_age): limits stay readable.
USAGE_RETENTION = timedelta(days=7)
#: Ledger reason of the rules' starting XP (``xp.start``), written when a profile is created.
STARTING_BALANCE_REASON = "starting_balance"


@dataclass(frozen=True)
class Outcome:
    """A use case's response body and whether it was replayed from an idempotency record."""

    body: dict[str, Any]
    replayed: bool = False


def _fingerprint(route: str, user_id: str, request: Any) -> str:
    canonical = json.dumps(
        {"route": route, "user_id": user_id, "body": request.model_dump(mode="json", exclude_none=True)},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


class Engine:
    """The gamification engine for one rules file over one table.

    ``now`` is injectable (tests, replays). ``max_attempts`` bounds optimistic retries.
    ``backfill`` (default off; only the replay/import tools turn it on, never the HTTP API)
    accepts events older than the rules' ``max_event_age``: each still counts on its own
    day, under that day's limits and caps.
    """

    def __init__(
        self,
        rules: Rules,
        store: Store,
        now: Callable[[], datetime] | None = None,
        max_attempts: int = 40,
        *,
        backfill: bool = False,
    ) -> None:
        self.rules = rules
        self.store = store
        self.now = now or (lambda: clock.now())
        self.max_attempts = max_attempts
        self.backfill = backfill

    # ---- helpers -------------------------------------------------------------------

    def _event_time(self, occurred_at: datetime | None, now: datetime) -> datetime:
        if occurred_at is None:
            return now
        check_event_time(occurred_at, now, self.rules, backfill=self.backfill)
        return occurred_at

    def _opening_balance(
        self, tx: Any, tenant: str, user_id: str, occurred: datetime, now: datetime, event_id: str
    ) -> int:
        """For a profile about to be created: the rules' starting XP, recorded as a
        ``starting_balance`` ledger entry in ``tx``. Returns the XP to add (0: none)."""
        start = self.rules.xp.start
        if start:
            opened = occurred - timedelta(microseconds=1)  # sorts just before the first event
            tx.put_new(
                keys.xp_entry_key(tenant, user_id, opened, event_id),
                {
                    "type": "xp",
                    "user_id": user_id,
                    "action": STARTING_BALANCE_REASON,
                    "reason": STARTING_BALANCE_REASON,
                    "xp": start,
                    "occurred_at": keys.stamp(opened),
                    "recorded_at": keys.stamp(now),
                    "total_xp": start,
                },
            )
        return start

    def _attempts(self):
        """Yield attempt numbers, sleeping with jittered exponential backoff between them."""
        for attempt in range(self.max_attempts):
            if attempt:
                time.sleep(random.uniform(0, min(0.1, 0.002 * 2**attempt)))
            yield attempt
        raise Contention("Too many concurrent updates for this user; retry with the same Idempotency-Key")

    @staticmethod
    def _replay(record: dict[str, Any], fingerprint: str) -> Outcome:
        if record["fingerprint"] != fingerprint:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was already used for a different request",
            )
        return Outcome(json.loads(record["response"]), replayed=True)

    def _idempotency_record(self, fingerprint: str, body: dict[str, Any], now: datetime) -> dict[str, Any]:
        return {"fingerprint": fingerprint, "response": json.dumps(body), "created_at": keys.stamp(now)}

    # ---- XP ------------------------------------------------------------------------

    def award_xp(self, tenant: str, user_id: str, req: AwardXpRequest, idempotency_key: str | None) -> Outcome:
        """Award XP for ``req.action`` to ``user_id`` (product.md "Award order for XP").

        Raises UnknownAction (400), ValidationFailed (400, occurred_at out of range),
        ActionLimitReached / DailyXpCapReached (429), IdempotencyKeyReused (422),
        Contention (503). Writes: XP ledger entry, DAY# usage, profile, an ``xp_bonus`` coin
        ledger entry when coins are earned, and the idempotency record when a key is given.
        """
        rules = self.rules
        now = self.now()
        occurred = self._event_time(req.occurred_at, now)
        # Bad input (unknown action, bad amount) is refused before any I/O.
        requested_xp(rules, req.action, req.amount)
        day = local_date(occurred, rules.zone)
        day_end = window_end("day", day, rules.zone)
        assert day_end is not None
        retry_after = max(int((day_end - now).total_seconds()), 1)
        fp = _fingerprint("award_xp", user_id, req)
        k_profile = keys.profile_key(tenant, user_id)
        k_day = keys.day_key(tenant, user_id, day_key(day))
        k_idem = keys.idempotency_key(tenant, idempotency_key) if idempotency_key else None

        for _ in self._attempts():
            wanted = [k_profile, k_day] + ([k_idem] if k_idem else [])
            profile, usage_item, idem = (self.store.get_many(wanted) + [None])[:3]
            if idem:
                return self._replay(idem, fp)
            total_before = int(profile["total_xp"]) if profile else rules.xp.start
            version = int(profile["version"]) if profile else 0
            balance_before = int(profile.get("coins_balance", 0)) if profile else 0
            usage = DayUsage(int(usage_item.get("xp_gained", 0)) if usage_item else 0, day_counts(usage_item))
            decision = decide_xp(rules, req.action, total_before, usage, retry_after, amount=req.amount)

            total_after = total_before + decision.amount
            bonus = xp_bonus_coins(rules.coins.xp_ratio, total_before, total_after, balance_before)
            level_before = level_for_xp(rules, total_before)
            level_after = level_for_xp(rules, total_after)
            event_id = uuid.uuid4().hex
            body = AwardXpResponse(
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
                coins_awarded=bonus,
                coins_balance=balance_before + bonus,
                daily=DailyUsage(
                    date=day_key(day),
                    resets_at=keys.stamp(day_end),
                    xp_gained=decision.xp_gained_after,
                    xp_cap=decision.cap,
                    xp_remaining=None if decision.cap is None else max(decision.cap - decision.xp_gained_after, 0),
                    action_count=decision.count_after,
                    action_limit=decision.limit,
                    action_remaining=None if decision.limit is None else decision.limit - decision.count_after,
                ),
                floored=decision.floored,
            ).model_dump(mode="json")

            tx = self.store.transaction()
            opening = 0 if profile else self._opening_balance(tx, tenant, user_id, occurred, now, event_id)
            tx.bump_profile(
                k_profile,
                version,
                user_id=user_id,
                now=now,
                xp=opening + decision.amount,
                coins=bonus,
                xp_floor=decision.floor,
            )
            tx.add_day_usage(
                k_day,
                day=day_key(day),
                action=req.action,
                cap_amount=decision.cap_amount,
                cap=decision.enforced_cap,
                limit=decision.limit,
                # A backfilled day is kept as long as a live one, counted from now.
                expires_at=max(day_end, now) + rules.max_event_age + USAGE_RETENTION,
            )
            tx.put_new(
                keys.xp_entry_key(tenant, user_id, occurred, event_id),
                {
                    "type": "xp",
                    "user_id": user_id,
                    "action": req.action,
                    "reason": req.action,
                    "xp": decision.amount,
                    "xp_requested": decision.requested,
                    "capped": decision.capped,
                    "floored": decision.floored or None,
                    "occurred_at": keys.stamp(occurred),
                    "recorded_at": keys.stamp(now),
                    "day": day_key(day),
                    "total_xp": total_after,
                    "level": level_after.level,
                    "idempotency_key": idempotency_key,
                    "metadata": json.dumps(req.metadata) if req.metadata else None,
                },
            )
            if bonus:
                tx.put_new(
                    keys.coin_entry_key(tenant, user_id, occurred, event_id),
                    {
                        "type": "coins",
                        "user_id": user_id,
                        "amount": bonus,
                        "reason": XP_BONUS_REASON,
                        "source_event_id": event_id,
                        "occurred_at": keys.stamp(occurred),
                        "recorded_at": keys.stamp(now),
                        "balance": balance_before + bonus,
                    },
                )
            if k_idem:
                tx.put_new(k_idem, self._idempotency_record(fp, body, now))
            try:
                self.store.commit(tx)
            except WriteConflict:
                continue
            return Outcome(body)
        raise AssertionError("unreachable")  # pragma: no cover

    # ---- coins ---------------------------------------------------------------------

    def award_coins(self, tenant: str, user_id: str, req: AwardCoinsRequest, idempotency_key: str | None) -> Outcome:
        """Award a coin reward once per window (seed 000 ``awardCoinsOnce``).

        A repeat inside the window is ``awarded: false`` (not an error). Raises
        UnknownReward / ValidationFailed (400), IdempotencyKeyReused (422), Contention (503).
        Writes: once-marker, coin ledger entry, profile balance, idempotency record.
        """
        rules = self.rules
        reward, amount = resolve_reward(rules, req.reason, req.scope, req.tier)
        now = self.now()
        occurred = self._event_time(req.occurred_at, now)
        day = local_date(occurred, rules.zone)
        wkey = window_key(reward.window, day)
        wend = window_end(reward.window, day, rules.zone)
        fp = _fingerprint("award_coins", user_id, req)
        k_profile = keys.profile_key(tenant, user_id)
        k_once = keys.once_key(tenant, user_id, req.reason, req.scope, wkey)
        k_idem = keys.idempotency_key(tenant, idempotency_key) if idempotency_key else None

        def respond(awarded: bool, balance: int, event_id: str | None) -> dict[str, Any]:
            return AwardCoinsResponse(
                awarded=awarded,
                amount=amount if awarded else 0,
                balance=balance,
                reason=req.reason,
                scope=req.scope,
                tier=req.tier,
                window=reward.window,
                window_key=wkey,
                event_id=event_id,
            ).model_dump(mode="json")

        for _ in self._attempts():
            wanted = [k_profile, k_once] + ([k_idem] if k_idem else [])
            profile, marker, idem = (self.store.get_many(wanted) + [None])[:3]
            if idem:
                return self._replay(idem, fp)
            balance = int(profile.get("coins_balance", 0)) if profile else 0
            if marker:
                body = respond(False, balance, None)
                # Remember the answer under the key so a retry gets it again, even after
                # the window has rolled over.
                if k_idem and not self.store.put_new(k_idem, self._idempotency_record(fp, body, now)):
                    continue
                return Outcome(body)
            event_id = uuid.uuid4().hex
            body = respond(True, balance + amount, event_id)
            tx = self.store.transaction()
            tx.put_new(
                k_once,
                {
                    "reason": req.reason,
                    "scope": req.scope,
                    "window_key": wkey,
                    "event_id": event_id,
                    "created_at": keys.stamp(now),
                    # A marker is needed only while events of its window can still arrive.
                    "expires_at": epoch(max(wend, now) + rules.max_event_age + timedelta(days=1)) if wend else None,
                },
            )
            tx.put_new(
                keys.coin_entry_key(tenant, user_id, occurred, event_id),
                {
                    "type": "coins",
                    "user_id": user_id,
                    "amount": amount,
                    "reason": req.reason,
                    "scope": req.scope,
                    "tier": req.tier,
                    "window": reward.window,
                    "window_key": wkey,
                    "occurred_at": keys.stamp(occurred),
                    "recorded_at": keys.stamp(now),
                    "balance": balance + amount,
                    "idempotency_key": idempotency_key,
                },
            )
            opening = 0 if profile else self._opening_balance(tx, tenant, user_id, occurred, now, event_id)
            tx.bump_profile(
                k_profile, int(profile["version"]) if profile else 0, user_id=user_id, now=now, xp=opening, coins=amount
            )
            if k_idem:
                tx.put_new(k_idem, self._idempotency_record(fp, body, now))
            try:
                self.store.commit(tx)
            except WriteConflict:
                continue
            return Outcome(body)
        raise AssertionError("unreachable")  # pragma: no cover

    # ---- reads ---------------------------------------------------------------------

    def limits(self, tenant: str, user_id: str, on: date | None = None) -> Outcome:
        """Usage, caps and per-action limits for one local day (default: today in the rules'
        zone). The cap shown is the one for the user's current level. One BatchGetItem."""
        rules = self.rules
        day = on or local_date(self.now(), rules.zone)
        profile, usage_item = self.store.get_many(
            [keys.profile_key(tenant, user_id), keys.day_key(tenant, user_id, day_key(day))]
        )
        level = level_for_xp(rules, int(profile["total_xp"]) if profile else rules.xp.start).level
        cap = rules.daily_xp_cap(level)
        gained = int(usage_item.get("xp_gained", 0)) if usage_item else 0
        counts = day_counts(usage_item)
        actions = {
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
        end = window_end("day", day, rules.zone)
        assert end is not None
        return Outcome(
            LimitsResponse(
                user_id=user_id,
                date=day_key(day),
                timezone=rules.timezone,
                level=level,
                xp_gained=gained,
                xp_cap=cap,
                xp_remaining=None if cap is None else max(cap - gained, 0),
                resets_at=keys.stamp(end),
                actions=actions,
            ).model_dump(mode="json")
        )

    def levels(self) -> Outcome:
        """The level ladder with each level's daily XP cap and unlocks. No I/O."""
        return Outcome(
            LevelsResponse(
                levels=[
                    LevelInfo(
                        level=lv.level,
                        name=lv.name,
                        xp=lv.xp,
                        daily_xp_cap=self.rules.daily_xp_cap(lv.level),
                        unlocks=list(lv.unlocks),
                    )
                    for lv in self.rules.levels
                ]
            ).model_dump(mode="json")
        )

    def profile(self, tenant: str, user_id: str) -> Outcome:
        """Total XP, level, progress and coin balance; an unknown user reads as new."""
        item = self.store.get(keys.profile_key(tenant, user_id)) or {}
        total = int(item.get("total_xp", self.rules.xp.start))
        prog = progress_for_xp(self.rules, total)
        return Outcome(
            ProfileResponse(
                user_id=user_id,
                total_xp=total,
                level=prog.level.level,
                level_name=prog.level.name,
                xp_into_level=prog.xp_into_level,
                xp_for_next_level=prog.xp_for_next_level,
                progress=prog.progress,
                coins_balance=int(item.get("coins_balance", 0)),
            ).model_dump(mode="json")
        )
