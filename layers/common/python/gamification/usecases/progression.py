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

Reads and writes of the routes: :class:`ProgressionService`.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from gamification.api.models import (
    ActiveBadgeRequest,
    ActiveBadgeResponse,
    CatalogueResponse,
    StreakResponse,
    TimezoneRequest,
    TimezoneResponse,
    UserAchievementsResponse,
)
from gamification.dal import items, keys
from gamification.dal.progress_store import require_item, set_profile_attrs, unlock_counts
from gamification.dal.store import Store, Transaction, version_of
from gamification.domain.achievements import ACHIEVEMENT_REASON, Figures, newly_met, progress
from gamification.domain.awards import xp_bonus_coins
from gamification.domain.errors import (
    BadgeNotUnlocked,
    Contention,
    GamificationError,
    NotABadge,
    NotFound,
    UnknownBadge,
    ValidationFailed,
)
from gamification.domain.levels import level_for_xp
from gamification.domain.periods import is_iana_zone, local_date
from gamification.domain.reasons import XP_BONUS_REASON
from gamification.domain.streak_rules import Reward
from gamification.domain.streaks import MILESTONE_REASON, StreakGap, StreakState, window_days
from gamification.usecases.idempotency import Idempotency
from gamification.usecases.outcome import Outcome
from gamification.usecases.retry import Retry

if TYPE_CHECKING:  # annotations only: the rules load with the engine, on the first request
    from gamification.domain.rules import Rules

R = TypeVar("R", bound=BaseModel)

#: Profile attributes of this feature.
STREAK, ACTION_COUNTS, COINS_EARNED, ACHIEVEMENTS, ACTIVE_BADGE, TIMEZONE = (
    "streak", "action_counts", "coins_earned", "achievements", "active_badge", "timezone",
)  # fmt: skip
#: A transaction holds at most 100 items; unlocks that would not fit wait for the next award.
MAX_TRANSACTION_ITEMS = 100


def room_left(board_periods: int) -> int:
    """Items an award's transaction can still take for unlocks: 100 less its own (profile,
    day usage or once-marker, ledger entry with its xp_bonus coins, opening balance,
    idempotency record) and up to 11 per board period it moves (docs/leaderboards.md)."""
    return MAX_TRANSACTION_ITEMS - 5 - 11 * board_periods


def user_zone(rules: Rules, profile: Mapping[str, Any] | None) -> ZoneInfo:
    """The user's time zone (``PUT /v1/users/{id}/timezone``), default the rules' zone."""
    name = (profile or {}).get(TIMEZONE)
    return ZoneInfo(name) if name else rules.zone


def zone_named(name: str) -> str:
    """``name`` if it is an IANA time zone (the names a rules file's ``timezone`` may take:
    :func:`gamification.domain.periods.iana_zones`; never ``localtime``). Raises
    ValidationFailed (400, field ``timezone``)."""
    if is_iana_zone(name):
        return name
    raise ValidationFailed(f"unknown IANA time zone: {name!r}", field="timezone")


def figures_of(rules: Rules, profile: Mapping[str, Any] | None, total_xp: int, streak: int) -> Figures:
    """The user's lifetime figures for achievement criteria."""
    profile = profile or {}
    return Figures(
        total_xp=total_xp,
        level=level_for_xp(rules, total_xp).level,
        streak=streak,
        action_counts={k: int(v) for k, v in (profile.get(ACTION_COUNTS) or {}).items()},
        coins_earned=int(profile.get(COINS_EARNED, 0)),
    )


def shard_for(user_id: str) -> int:
    """Count shard of a user's unlocks (stable per user)."""
    return int(hashlib.sha256(user_id.encode()).hexdigest()[:8], 16) % keys.ACHIEVEMENT_COUNT_SHARDS


class Payment(NamedTuple):
    """One reward paid by an award: ``reason`` (``achievement:<id>`` / ``streak_milestone:<n>``)."""

    reason: str
    reward: Reward
    achievement: str | None = None


@dataclass
class Extras:
    """What an accepted award adds for streaks and achievements (see the module docstring).

    ``xp``: reward XP (cap-exempt); ``coins``: reward coins plus the ``xp_bonus`` on reward
    XP; ``streak``: the response's ``{current, longest, extended}`` (None: no daily streak
    in the rules, or a coin award); ``unlocked``: ``achievements_unlocked``.
    """

    profile_attrs: dict[str, Any]
    xp: int = 0
    coins: int = 0
    bonus: int = 0
    streak: dict[str, Any] | None = None
    unlocked: list[dict[str, Any]] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    total_xp_before: int = 0
    balance_before: int = 0
    streak_events: list[dict[str, Any]] = field(default_factory=list)

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
            if pay.reward.xp:
                total += pay.reward.xp
                tx.put_new(
                    keys.xp_entry_key(tenant, user_id, occurred, ref),
                    {**common, "type": "xp", "reason": pay.reason, "xp": pay.reward.xp, "cap_exempt": True,
                     "total_xp": total, "level": level_for_xp(rules, total).level},
                )  # fmt: skip
            if pay.reward.coins:
                balance += pay.reward.coins
                tx.put_new(
                    keys.coin_entry_key(tenant, user_id, occurred, ref),
                    {**common, "type": "coins", "amount": pay.reward.coins, "reason": pay.reason, "balance": balance},
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
            n += (2 if pay.achievement else 0) + bool(pay.reward.xp) + bool(pay.reward.coins)
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
            extras.payments += [Payment(f"{MILESTONE_REASON}:{n}", rule.milestones[n]) for n in update.milestones]
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
    reward_xp = sum(p.reward.xp for p in extras.payments)
    reward_coins = sum(p.reward.coins for p in extras.payments)
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
            pay = Payment(f"{ACHIEVEMENT_REASON}:{aid}", ach.reward or NO_REWARD, achievement=aid)
            if Extras(attrs, payments=[*extras.payments, pay], bonus=1).items_needed() > room:
                break  # does not fit this transaction: a later award unlocks it
            extras.payments.append(pay)
            unlocked[aid] = stamp
            reward_xp += pay.reward.xp
            reward_coins += pay.reward.coins
            extras.unlocked.append(
                {"id": aid, "name": ach.name, "category": ach.category,
                 "reward": {"xp": pay.reward.xp, "coins": pay.reward.coins}, "badge": ach.badge}
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


#: The reward of an achievement without ``reward``.
NO_REWARD = Reward.model_construct(xp=0, coins=0)


# ---- routes ---------------------------------------------------------------------------


def _badges(rules: Rules, unlocked: Mapping[str, Any]) -> list[str]:
    return [aid for aid, ach in rules.achievements.items() if ach.badge and aid in unlocked]


class ProgressionService:
    """Reads and writes of the streak, achievement, badge and time-zone routes."""

    def __init__(self, rules: Rules, store: Store, now: Callable[[], datetime], retry: Retry | None = None) -> None:
        self.rules = rules
        self.store = store
        self.now = now
        self.retry = retry or Retry(20, 5.0, lambda: Contention("Too many concurrent updates for this user; retry"))

    @classmethod
    def of(cls, engine: Any) -> ProgressionService:
        """The service over an engine's rules, store and retry policy, following its
        (injectable) clock."""
        return cls(engine.rules, engine.store, lambda: engine.now(), engine.retry)

    def _profile(self, tenant: str, user_id: str) -> dict[str, Any]:
        return self.store.get(keys.profile_key(tenant, user_id)) or {}

    def profile_fields(self, profile: Mapping[str, Any]) -> dict[str, Any]:
        """Fields the profile response gains: ``streak_current``, ``streak_longest``,
        ``last_active_date``, ``badges``, ``active_badge``, ``achievements_count``, ``timezone``."""
        view = self._view(profile)
        unlocked = profile.get(ACHIEVEMENTS) or {}
        return {
            "streak_current": view.current if view else 0,
            "streak_longest": view.longest if view else 0,
            "last_active_date": view.last_active_date.isoformat() if view and view.last_active_date else None,
            "badges": _badges(self.rules, unlocked),
            "active_badge": profile.get(ACTIVE_BADGE),
            "achievements_count": sum(1 for aid in unlocked if aid in self.rules.achievements),
            "timezone": user_zone(self.rules, profile).key,
        }

    def _view(self, profile: Mapping[str, Any]):  # type: ignore[no-untyped-def]
        rule = self.rules.streaks.daily
        if rule is None:
            return None
        today = local_date(self.now(), user_zone(self.rules, profile))
        return StreakState.from_item(profile.get(STREAK)).view(rule, today)

    def streak(self, tenant: str, user_id: str) -> Outcome[StreakResponse]:
        """``GET /v1/users/{id}/streak``. Raises NotFound when the rules have no daily streak."""
        if self.rules.streaks.daily is None:
            raise NotFound("These rules define no daily streak (streaks.daily)")
        profile = self._profile(tenant, user_id)
        view = self._view(profile)
        return _outcome(StreakResponse, {
            "user_id": user_id,
            "timezone": user_zone(self.rules, profile).key,
            "today": local_date(self.now(), user_zone(self.rules, profile)).isoformat(),
            "current": view.current,
            "longest": view.longest,
            "last_active_date": view.last_active_date.isoformat() if view.last_active_date else None,
            "today_active": view.today_active,
            "at_risk": view.at_risk,
            "freezes_available": view.freezes_available,
            "history": [{"date": d.isoformat(), "status": s} for d, s in view.history],
        })

    def achievements(self, tenant: str, user_id: str) -> Outcome[UserAchievementsResponse]:
        """``GET /v1/users/{id}/achievements``: every visible achievement with progress;
        hidden ones only once unlocked."""
        profile = self._profile(tenant, user_id)
        view = self._view(profile)
        total = int(profile.get("total_xp", self.rules.xp.start))
        figures = figures_of(self.rules, profile, total, view.current if view else 0)
        unlocked = profile.get(ACHIEVEMENTS) or {}
        out = []
        for aid, ach in self.rules.achievements.items():
            done = aid in unlocked
            if ach.hidden and not done:
                continue
            p = progress(ach.criteria, figures)
            out.append(
                {"id": aid, "name": ach.name, "category": ach.category, "description": ach.description,
                 "unlocked": done, "unlocked_at": unlocked.get(aid),
                 "progress": {"current": p.target if done else p.current, "target": p.target,
                              "criterion": p.criterion},
                 "reward": _reward(ach.reward), "badge": ach.badge, "hidden": ach.hidden}
            )  # fmt: skip
        return _outcome(UserAchievementsResponse, {"user_id": user_id, "achievements": out,
                        "badges": _badges(self.rules, unlocked), "active_badge": profile.get(ACTIVE_BADGE)})  # fmt: skip

    def catalogue(self, tenant: str) -> Outcome[CatalogueResponse]:
        """``GET /v1/achievements``: the operator's view, hidden ones too, with unlock counts."""
        counts = unlock_counts(self.store, tenant)
        return _outcome(CatalogueResponse, {
            "achievements": [
                {"id": aid, "name": a.name, "category": a.category, "description": a.description,
                 "criteria": a.criteria.model_dump(exclude_none=True), "reward": _reward(a.reward),
                 "badge": a.badge, "hidden": a.hidden, "unlocked_count": counts.get(aid, 0)}
                for aid, a in self.rules.achievements.items()
            ]
        })  # fmt: skip

    def _update_profile(
        self,
        tenant: str,
        user_id: str,
        attrs: dict[str, Any],
        idem: Idempotency[R],
        respond: Callable[[Mapping[str, Any]], Outcome[R]],
        require: keys.Key | None = None,
    ) -> Outcome[R]:
        """SET ``attrs`` on the profile (created, with the rules' starting XP, if absent) on
        the read -> decide -> commit skeleton of the awards
        (:func:`gamification.usecases.optimistic.read_decide_commit`): optimistic on its
        version, with an Idempotency-Key (``idem``) its record in the same transaction, and
        answered by ``respond(profile after)``. ``require``: an item that must exist (an
        unlock marker), read with the profile and checked by DynamoDB in the transaction
        (ConditionCheck): one gone meanwhile refuses the commit, and the next read says so.
        Raises BadgeNotUnlocked (409) when ``require`` is missing, Contention (503)."""
        # Here, not at import: the profile read uses this module and writes nothing.
        from gamification.usecases.optimistic import Read, Write, read_decide_commit

        now = self.now()
        k_profile = keys.profile_key(tenant, user_id)

        def decide(read: Read) -> Write:
            profile, required = read
            if require and required is None:
                raise BadgeNotUnlocked("This badge is not unlocked for this user")
            tx = self.store.transaction(token=uuid.uuid4().hex)
            if profile:
                set_profile_attrs(tx, k_profile, version_of(profile), attrs)
            else:
                fresh = {k: v for k, v in attrs.items() if v is not None}  # nothing to remove yet
                tx.bump_profile(k_profile, 0, user_id=user_id, now=now, xp=self.rules.xp.start, set_attrs=fresh)
                if self.rules.xp.start:
                    tx.put_new(*items.starting_balance(tenant, user_id, xp=self.rules.xp.start, first_event=now,
                                                       now=now, event_id=uuid.uuid4().hex))  # fmt: skip
            if require:
                require_item(tx, require)
            if idem.key:  # an erasure of the user finds the key's record by it
                tx.put_new(*idem.user_request(user_id))
            return Write(respond({**(profile or {}), **attrs}), tx)

        return read_decide_commit(self.store, self.retry, idem, now, [k_profile, require], decide)

    def set_timezone(
        self, tenant: str, user_id: str, req: TimezoneRequest, idempotency_key: str | None = None
    ) -> Outcome[TimezoneResponse]:
        """``PUT /v1/users/{id}/timezone``: future awards' streak dates use ``req.timezone``;
        past dates keep the zone they were recorded in. With an Idempotency-Key a retry
        replays the first response (``today`` as it was then) and changes nothing: a late
        retry never sets back a zone changed since (docs/api.md). Raises ValidationFailed
        (400), IdempotencyKeyReused (422), Contention (503)."""
        idem = Idempotency.of(tenant, "set_timezone", user_id, req, idempotency_key, TimezoneResponse)
        try:
            zone = zone_named(req.timezone)
        except GamificationError as exc:
            return idem.replay_or_raise(self.store, exc)

        def respond(profile: Mapping[str, Any]) -> Outcome[TimezoneResponse]:
            today = local_date(self.now(), ZoneInfo(zone))
            return _outcome(TimezoneResponse, {"user_id": user_id, "timezone": zone, "today": today.isoformat()})

        return self._update_profile(tenant, user_id, {TIMEZONE: zone}, idem, respond)

    def set_active_badge(
        self, tenant: str, user_id: str, req: ActiveBadgeRequest, idempotency_key: str | None = None
    ) -> Outcome[ActiveBadgeResponse]:
        """``PUT /v1/users/{id}/active-badge``: show one unlocked badge (``req.badge`` None:
        none). With an Idempotency-Key a retry replays the first response and changes
        nothing: a late retry never puts back a badge changed since (docs/api.md).

        Raises UnknownBadge (404), NotABadge (400), BadgeNotUnlocked (409: DynamoDB checks
        the unlock marker in the same transaction), IdempotencyKeyReused (422), Contention."""
        idem = Idempotency.of(tenant, "set_active_badge", user_id, req, idempotency_key, ActiveBadgeResponse)
        badge = req.badge

        def respond(profile: Mapping[str, Any]) -> Outcome[ActiveBadgeResponse]:
            return _badge_outcome(self.rules, user_id, badge, profile)

        if badge is None:
            return self._update_profile(tenant, user_id, {ACTIVE_BADGE: None}, idem, respond)
        ach = self.rules.achievements.get(badge)
        # A hidden achievement is unknown to a user who has not unlocked it (docs/achievements.md).
        unknown = UnknownBadge(f"Unknown badge: {badge}", badge=badge)
        try:
            if ach is None or (ach.hidden and not ach.badge):
                raise unknown
            if not ach.badge:
                raise NotABadge(f"Achievement {badge} is not a badge", badge=badge)
        except GamificationError as exc:  # a retry of a request that succeeded before the rules changed
            return idem.replay_or_raise(self.store, unknown if ach and ach.hidden else exc)
        try:
            return self._update_profile(tenant, user_id, {ACTIVE_BADGE: badge}, idem, respond,
                                        require=keys.achievement_key(tenant, user_id, badge))  # fmt: skip
        except BadgeNotUnlocked:
            if ach.hidden:
                raise unknown from None
            raise


def _reward(reward: Reward | None) -> dict[str, int]:
    return {"xp": reward.xp if reward else 0, "coins": reward.coins if reward else 0}


def _outcome(model: type[R], body: dict[str, Any]) -> Outcome[R]:
    return Outcome(model.model_validate(body))


def _badge_outcome(rules: Rules, user_id: str, badge: str | None, profile: Mapping[str, Any]) -> Outcome[ActiveBadgeResponse]:
    unlocked = profile.get(ACHIEVEMENTS) or {}
    return _outcome(ActiveBadgeResponse, {"user_id": user_id, "active_badge": badge, "badges": _badges(rules, unlocked)})
