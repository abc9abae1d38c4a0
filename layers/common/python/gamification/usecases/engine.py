"""Use cases of API v1: award XP, award coins once, read limits, levels and profiles.

Each award is two DynamoDB round trips in the common case:

1. one strongly consistent ``BatchGetItem`` of the profile, the usage/marker item, the
   idempotency record and the user's score on each board period the event touches;
2. one ``TransactWriteItems`` whose conditions (see :mod:`gamification.dal.store`) make DynamoDB
   refuse it if anything it was decided from has changed, or if it would break a limit.

On a cancelled transaction the use case reads and decides again (bounded, jittered); a
request that keeps losing gets :class:`Contention` (503), which is safe to retry with the
same ``Idempotency-Key``.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from gamification import clock
from gamification.api.models import (
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
from gamification.dal import keys
from gamification.dal.store import TTL_ATTRIBUTE, Store, WriteConflict, day_counts, epoch, version_of
from gamification.domain.awards import (
    DayUsage,
    check_event_time,
    decide_xp,
    requested_xp,
    resolve_reward,
    xp_bonus_coins,
)
from gamification.domain.errors import Contention, GamificationError, IdempotencyKeyReused, ValidationFailed
from gamification.domain.levels import level_for_xp, progress_for_xp
from gamification.domain.periods import day_end, day_key, local_date, window_end, window_key
from gamification.domain.rules import XP_BONUS_REASON, Rules
from gamification.usecases.boards import BoardUpdate, LeaderboardReader
from gamification.usecases.progression import ProgressionService, after_award, room_left

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
    """Hash of what makes two requests "the same" for an Idempotency-Key: route, user and
    body, with ``occurred_at`` in UTC (the same instant with another offset is the same)."""
    body = request.model_dump(mode="json", exclude_none=True)
    if getattr(request, "occurred_at", None) is not None:
        body["occurred_at"] = keys.stamp(request.occurred_at)
    canonical = json.dumps({"route": route, "user_id": user_id, "body": body}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class Engine:
    """The gamification engine for one rules file over one table.

    ``now`` is injectable (tests, replays). Optimistic retries stop after ``max_attempts``
    or ``retry_budget_s`` seconds, whichever comes first (503 ``contention``).
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
        retry_budget_s: float = 5.0,
        *,
        backfill: bool = False,
    ) -> None:
        self.rules = rules
        self.store = store
        self.now = now or (lambda: clock.now())
        self.max_attempts = max_attempts
        self.retry_budget_s = retry_budget_s
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

    def _attempts(self) -> Iterator[int]:
        """Attempt numbers, with jittered exponential backoff between them; raises
        :class:`Contention` when the attempts or the time budget run out."""
        deadline = time.monotonic() + self.retry_budget_s
        for attempt in range(self.max_attempts):
            if attempt:
                time.sleep(random.uniform(0, min(0.1, 0.002 * 2**attempt)))
                if time.monotonic() > deadline:
                    break
            yield attempt
        raise Contention("Too many concurrent updates for this user; retry with the same Idempotency-Key")

    @staticmethod
    def _replay(record: dict[str, Any], fingerprint: str) -> Outcome:
        if record["fingerprint"] != fingerprint:
            raise IdempotencyKeyReused("This Idempotency-Key was already used for a different request")
        return Outcome(json.loads(record["response"]), replayed=True)

    def _replay_or_raise(self, error: GamificationError, k_idem: keys.Key | None, fingerprint: str) -> Outcome:
        """A request refused before any read may be the retry of one that succeeded (its
        ``occurred_at`` has aged, or the rules changed since): replay it if so."""
        record = self.store.get(k_idem) if k_idem else None
        if record is None:
            raise error
        return self._replay(record, fingerprint)

    @staticmethod
    def _idempotency_record(fingerprint: str, body: dict[str, Any], now: datetime) -> dict[str, Any]:
        return {"fingerprint": fingerprint, "response": json.dumps(body), "created_at": keys.stamp(now)}

    # ---- XP ------------------------------------------------------------------------

    def award_xp(self, tenant: str, user_id: str, req: AwardXpRequest, idempotency_key: str | None) -> Outcome:
        """Award XP for ``req.action`` to ``user_id`` (product.md "Award order for XP").

        Raises UnknownAction (400), ValidationFailed (400, occurred_at out of range),
        ActionLimitReached / DailyXpCapReached (429), IdempotencyKeyReused (422),
        Contention (503). Writes: XP ledger entry, DAY# usage, profile, an ``xp_bonus`` coin
        ledger entry when coins are earned, the idempotency record when a key is given, and
        the user's score on every board period the award moves (:class:`BoardUpdate`).
        """
        rules = self.rules
        now = self.now()
        fp = _fingerprint("award_xp", user_id, req)
        k_idem = keys.idempotency_key(tenant, idempotency_key) if idempotency_key else None
        try:
            requested_xp(rules, req.action, req.amount)  # unknown action, bad amount: 400
            occurred = self._event_time(req.occurred_at, now)
        except GamificationError as exc:
            return self._replay_or_raise(exc, k_idem, fp)
        day = local_date(occurred, rules.zone)
        resets_at = day_end(day, rules.zone)
        # A past day never resets for this event: no Retry-After then.
        retry_after = math.ceil((resets_at - now).total_seconds()) if resets_at > now else None
        k_profile = keys.profile_key(tenant, user_id)
        k_usage = keys.usage_key(tenant, user_id, day_key(day))

        boards = BoardUpdate(rules, tenant, user_id, day)

        # A refused commit may still have been applied: botocore re-sends a transaction whose
        # response was lost, and DynamoDB refuses the copy. Reading the previous attempt's own
        # ledger entry tells, and returns its response instead of awarding twice.
        previous: tuple[keys.Key, dict[str, Any]] | None = None
        for _ in self._attempts():
            profile, usage_item, idem, applied, *scores = self.store.get_many(
                [k_profile, k_usage, k_idem, previous[0] if previous else None, *boards.keys]
            )
            if applied and previous:
                return Outcome(previous[1])
            if idem:
                return self._replay(idem, fp)
            total_before = int(profile["total_xp"]) if profile else rules.xp.start
            balance_before = int(profile.get("coins_balance", 0)) if profile else 0
            usage = DayUsage(int(usage_item.get("xp_gained", 0)) if usage_item else 0, day_counts(usage_item))
            decision = decide_xp(rules, req.action, total_before, usage, retry_after, amount=req.amount)

            bonus = xp_bonus_coins(rules.coins.xp_ratio, total_before, total_before + decision.amount, balance_before)
            # Streaks and achievements: cap-exempt rewards on top of the award (docs/achievements.md).
            extras = after_award(rules, profile, action=req.action, occurred=occurred, now=now,
                                 total_xp=total_before + decision.amount, balance=balance_before + bonus,
                                 coins_gained=bonus, room=room_left(len(boards.keys)))  # fmt: skip
            total_after = total_before + decision.amount + extras.xp
            level_before, level_after = level_for_xp(rules, total_before), level_for_xp(rules, total_after)
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
                coins_awarded=bonus + extras.coins,
                coins_balance=balance_before + bonus + extras.coins,
                daily=DailyUsage(
                    date=day_key(day),
                    resets_at=keys.stamp(resets_at),
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
            ).model_dump(mode="json")

            common = {"user_id": user_id, "occurred_at": keys.stamp(occurred), "recorded_at": keys.stamp(now),
                      "idempotency_key": idempotency_key}  # fmt: skip
            k_entry = keys.xp_entry_key(tenant, user_id, occurred, event_id)
            tx = self.store.transaction(token=event_id)
            # Starting XP (rules xp.start) is ledgered once, with the profile; not a board score.
            opening = 0 if profile else self._opening_balance(tx, tenant, user_id, occurred, now, event_id)
            tx.bump_profile(
                k_profile,
                version_of(profile),
                user_id=user_id,
                now=now,
                xp=opening + decision.amount + extras.xp,
                coins=bonus + extras.coins,
                xp_floor=decision.floor,
                set_attrs=extras.profile_attrs,
            )
            tx.add_day_usage(
                k_usage,
                day=day_key(day),
                action=req.action,
                cap_amount=decision.cap_amount,
                cap=decision.enforced_cap,
                limit=decision.limit,
                # A backfilled day is kept as long as a live one, counted from now.
                expires_at=max(resets_at, now) + rules.max_event_age + USAGE_RETENTION,
            )
            tx.put_new(
                k_entry,
                {
                    **common,
                    "type": "xp",
                    "action": req.action,
                    "reason": req.action,
                    "xp": decision.amount,
                    "xp_requested": decision.requested,
                    "capped": decision.capped,
                    "floored": decision.floored or None,
                    "day": day_key(day),
                    "total_xp": total_after,
                    "level": level_after.level,
                    "metadata": json.dumps(req.metadata) if req.metadata else None,
                },
            )
            boards.apply(tx, scores, xp=decision.amount + extras.xp, coins=bonus + extras.coins, now=now)
            extras.write(tx, tenant=tenant, user_id=user_id, occurred=occurred, now=now, event_id=event_id, rules=rules)
            if bonus:
                tx.put_new(
                    keys.coin_entry_key(tenant, user_id, occurred, event_id),
                    {**common, "type": "coins", "amount": bonus, "reason": XP_BONUS_REASON,
                     "source_event_id": event_id, "balance": balance_before + bonus},
                )  # fmt: skip
            if k_idem:
                tx.put_new(k_idem, self._idempotency_record(fp, body, now))
            try:
                self.store.commit(tx)
            except WriteConflict:
                previous = (k_entry, body)
                continue
            return Outcome(body)
        raise AssertionError("unreachable: _attempts raises when exhausted")

    # ---- coins ---------------------------------------------------------------------

    def award_coins(self, tenant: str, user_id: str, req: AwardCoinsRequest, idempotency_key: str | None) -> Outcome:
        """Award a coin reward once per window (seed 000 ``awardCoinsOnce``).

        A repeat inside the window is ``awarded: false`` (not an error); tiers of one reward
        share its window (``daily_goal`` pays once a day, whichever tier comes first). Raises
        UnknownReward / ValidationFailed (400), IdempotencyKeyReused (422), Contention (503).
        Writes: once-marker, coin ledger entry, profile balance, idempotency record, and
        the user's score on every ``coins`` board period (:class:`BoardUpdate`).
        """
        rules = self.rules
        now = self.now()
        fp = _fingerprint("award_coins", user_id, req)
        k_idem = keys.idempotency_key(tenant, idempotency_key) if idempotency_key else None
        try:
            reward, amount = resolve_reward(rules, req.reason, req.scope, req.tier)
            occurred = self._event_time(req.occurred_at, now)
        except GamificationError as exc:
            return self._replay_or_raise(exc, k_idem, fp)
        day = local_date(occurred, rules.zone)
        wkey = window_key(reward.window, day)
        wend = window_end(reward.window, day, rules.zone)
        k_profile = keys.profile_key(tenant, user_id)
        k_once = keys.once_key(tenant, user_id, req.reason, req.scope, wkey)

        def respond(awarded: bool, balance: int, event_id: str | None, unlocked: Any = ()) -> dict[str, Any]:
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
                achievements_unlocked=list(unlocked),
            ).model_dump(mode="json")

        boards = BoardUpdate(rules, tenant, user_id, day)

        previous: dict[str, Any] | None = None  # the last attempt, if its commit was refused
        for _ in self._attempts():
            profile, marker, idem, *scores = self.store.get_many([k_profile, k_once, k_idem, *boards.keys])
            if marker and previous and marker.get("event_id") == previous["event_id"]:
                return Outcome(previous)  # that attempt was applied after all (see award_xp)
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
            total = int(profile["total_xp"]) if profile else rules.xp.start
            extras = after_award(rules, profile, action=None, occurred=occurred, now=now, total_xp=total,
                                 balance=balance + amount, coins_gained=amount, room=room_left(len(boards.keys)))  # fmt: skip
            body = respond(True, balance + amount + extras.coins, event_id, extras.unlocked)
            tx = self.store.transaction(token=event_id)
            tx.put_new(
                k_once,
                {
                    "reason": req.reason,
                    "scope": req.scope,
                    "window_key": wkey,
                    "event_id": event_id,
                    "created_at": keys.stamp(now),
                    # A marker is needed only while events of its window can still arrive.
                    "expires_at": epoch(max(wend, now) + rules.max_event_age + USAGE_RETENTION) if wend else None,
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
            tx.bump_profile(k_profile, version_of(profile), user_id=user_id, now=now, xp=opening + extras.xp,
                            coins=amount + extras.coins, set_attrs=extras.profile_attrs)  # fmt: skip
            boards.apply(tx, scores, xp=extras.xp, coins=amount + extras.coins, now=now)
            extras.write(tx, tenant=tenant, user_id=user_id, occurred=occurred, now=now, event_id=event_id, rules=rules)
            if k_idem:
                tx.put_new(k_idem, self._idempotency_record(fp, body, now))
            try:
                self.store.commit(tx)
            except WriteConflict:
                previous = body
                continue
            return Outcome(body)
        raise AssertionError("unreachable: _attempts raises when exhausted")

    # ---- reads ---------------------------------------------------------------------

    def limits(self, tenant: str, user_id: str, on: date | None = None) -> Outcome:
        """Usage, caps and per-action limits for one local day (default: today in the rules'
        zone). The cap shown is the one for the user's current level. One BatchGetItem.

        ``on`` must lie within the retention of usage items (``max_event_age`` + 7 days back)
        and at most one day ahead; else ValidationFailed (400).
        """
        rules = self.rules
        now = self.now()
        today = local_date(now, rules.zone)
        day = on or today
        oldest = today - (rules.max_event_age + USAGE_RETENTION)
        if not oldest <= day <= today + timedelta(days=1):
            raise ValidationFailed(
                f"date must be between {oldest.isoformat()} and {(today + timedelta(days=1)).isoformat()}", field="date"
            )
        profile, usage_item = self.store.get_many(
            [keys.profile_key(tenant, user_id), keys.usage_key(tenant, user_id, day_key(day))]
        )
        if usage_item and usage_item.get(TTL_ATTRIBUTE, float("inf")) < epoch(now):
            usage_item = None  # expired; TTL deletes late
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
                **ProgressionService(self.rules, self.store, self.now).profile_fields(item),
            ).model_dump(mode="json")
        )

    def leaderboard(self, tenant: str, board: str, period: str, on: date | None = None, **options: Any) -> Outcome:
        """``GET /v1/leaderboards/{board}``: see :meth:`gamification.usecases.boards.LeaderboardReader.read`
        for ``options`` (limit, user_id, around, final) and errors."""
        reader = LeaderboardReader(self.rules, self.store)
        return Outcome(reader.read(tenant, board, period, on, now=self.now(), **options))
