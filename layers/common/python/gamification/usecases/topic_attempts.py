"""``POST /v1/users/{user_id}/topics/{topic}/attempts``: an attempt on a task of a topic
(docs/topics.md). :class:`gamification.usecases.topics.TopicUseCases` adds the reads (a
user's topics, the reviews due: :mod:`gamification.usecases.topic_reads`), which the attempt
route does not load.

An attempt is two DynamoDB round trips, like an XP award, on the read -> decide -> commit
skeleton of :mod:`gamification.usecases.optimistic`:

1. one strongly consistent ``BatchGetItem``: profile, task, topic, its prerequisite topics,
   the day counters of the three local dates the event can fall on (the user's zone is on
   the profile, read in the same batch), the day's global usage, the idempotency record,
   the user's board scores;
2. one ``TransactWriteItems``: task (version), topic (version), the day's per-topic counter
   (the count the tier was decided from), the XP ledger entry (which is the attempt's record),
   and, when XP is earned, profile (version), global day usage (cap condition), xp_bonus
   coins as for an action (on the ledger entry), and what the award means for streaks and achievements
   (:func:`gamification.usecases.progression.after_award`: profile attributes, unlock
   markers, reward entries); prerequisite ``ConditionCheck``s; the idempotency record.
   Boards follow the XP ledger entry through the table's stream (docs/leaderboards.md).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from gamification.api.topic_models import TaskProgress, TopicAttemptRequest, TopicAttemptResponse, TopicProgress
from gamification.dal import items, keys
from gamification.dal.store import version_of
from gamification.dal.topic_store import count_topic_attempt, put_versioned, require_topic_xp, topic_day_count
from gamification.domain.awards import xp_bonus_coins
from gamification.domain.errors import GamificationError, TopicLocked, UnknownTopic, ValidationFailed
from gamification.domain.levels import level_for_xp
from gamification.domain.periods import day_end, day_key, local_date
from gamification.domain.topics import (
    AttemptXp,
    Review,
    decide_attempt,
    earliest_due,
    fixed_review,
    fsrs_review,
    is_early,
    missing_prerequisites,
    move_due,
    topic_level,
    xp_needed,
)
from gamification.usecases.context import Context, event_time, opening_balance
from gamification.usecases.idempotency import Idempotency
from gamification.usecases.optimistic import Read, Write, read_decide_commit
from gamification.usecases.outcome import Outcome
from gamification.usecases.progression import Extras, after_award, room_left
from gamification.usecases.progression_profile import user_zone, zone_name

if TYPE_CHECKING:  # annotations only: the rules load with the engine, on the first request
    from gamification.domain.topic_rules import Topic

#: Ledger ``action``/``reason`` of topic XP: ``topic:<name>`` (never an action name, whose
#: pattern has no colon).
TOPIC_REASON_PREFIX = "topic:"
#: Items of an attempt's transaction beyond an XP award's (:func:`room_left`): task, topic,
#: topic-day counter; plus one ConditionCheck per prerequisite.
_OWN_ITEMS = 3


class TopicAttempts:
    """Topic attempts over a use-case :class:`~gamification.usecases.context.Context` (the
    engine: its rules, store, clock and retry policy)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.rules = ctx.rules
        self.store = ctx.store

    def _topic(self, name: str) -> Topic:
        topic = self.rules.topics.get(name)
        if topic is None:
            raise UnknownTopic(f"Unknown topic: {name}", topic=name)
        return topic

    # ---- attempts --------------------------------------------------------------------------

    def attempt(
        self, tenant: str, user_id: str, topic_name: str, req: TopicAttemptRequest, idempotency_key: str | None
    ) -> Outcome[TopicAttemptResponse]:
        """Record one attempt on ``req.task_id`` of ``topic_name`` (docs/topics.md).

        Raises UnknownTopic (404), ValidationFailed (400: occurred_at out of range),
        TopicLocked (409: prerequisites unmet), IdempotencyKeyReused (422), Contention (503).
        """
        ctx, rules = self.ctx, self.rules
        now = ctx.now()
        idem = Idempotency.of(tenant, f"topic_attempt:{topic_name}", user_id, req, idempotency_key, TopicAttemptResponse)
        try:
            topic = self._topic(topic_name)
            occurred = event_time(ctx, req.occurred_at, now)
        except GamificationError as exc:
            return idem.replay_or_raise(ctx.store, exc)

        rules_day = local_date(occurred, rules.zone)  # the global cap's day (rules' zone)
        utc_day = occurred.astimezone(timezone.utc).date()
        # Any zone's local date is within a day of the UTC date: read all three counters.
        candidates = [utc_day - timedelta(days=1), utc_day, utc_day + timedelta(days=1)]
        prereqs = list(topic.requires)
        k_profile = keys.profile_key(tenant, user_id)
        k_task = keys.task_key(tenant, user_id, topic_name, req.task_id)
        k_topic = keys.topic_key(tenant, user_id, topic_name)
        k_usage = keys.usage_key(tenant, user_id, day_key(rules_day))
        k_days = [keys.topic_day_key(tenant, user_id, day_key(d)) for d in candidates]
        k_prereqs = [keys.topic_key(tenant, user_id, p) for p in prereqs]

        def decide(read: Read) -> Write:
            profile, task, topic_item, usage_item = read[:4]
            day_items = read[4:7]
            prereq_items = read[7 : 7 + len(prereqs)]
            zone = user_zone(rules, profile)
            today = local_date(occurred, zone)
            k_day, day_item = k_days[candidates.index(today)], day_items[candidates.index(today)]

            xp_of = {p: int(item.get("xp", 0)) if item else 0 for p, item in zip(prereqs, prereq_items)}
            missing = missing_prerequisites(rules.topics, topic_name, xp_of)
            if missing:
                raise TopicLocked(
                    f"Topic {topic_name} is locked: "
                    + ", ".join(f"{m} needs level {topic.requires[m]}" for m in missing),
                    topic=topic_name,
                    missing_prerequisites=missing,
                    requires=dict(topic.requires),
                )

            total_before = int(profile["total_xp"]) if profile else rules.xp.start
            balance_before = int(profile.get("coins_balance", 0)) if profile else 0
            level_before = level_for_xp(rules, total_before)
            cap = rules.daily_xp_cap(level_before.level)
            gained = int(usage_item.get("xp_gained", 0)) if usage_item else 0
            if usage_item and usage_item.get(items.TTL_ATTRIBUTE, float("inf")) < items.epoch(now):
                gained = 0  # expired (TTL deletes late)
            topic_xp = int(topic_item.get("xp", 0)) if topic_item else 0
            daily_before = topic_day_count(day_item, topic_name)
            old_due = task.get("next_review_date") if task else None
            decision = decide_attempt(
                topic,
                correct=req.correct,
                daily_before=daily_before,
                early=is_early(date.fromisoformat(old_due) if old_due else None, today),
                topic_xp=topic_xp,
                cap_room=None if cap is None else cap - gained,
            )
            stage_before = int(task.get("srs_stage", 0)) if task else 0
            card = None
            if topic.scheduler == "fsrs":
                card_before = task.get("fsrs_card") if task else None
                review, card = fsrs_review(topic, card_before, req.correct, occurred, today, stage_before)
            else:
                review = fixed_review(topic, stage_before, req.correct, today)
            new_due = day_key(review.next_review_date)
            due = move_due((topic_item or {}).get("due") or {}, old_due, new_due)
            total_after = total_before + decision.amount
            bonus = xp_bonus_coins(rules.coins.xp_ratio, total_before, total_after, balance_before)
            # An attempt that earns XP is an XP award (docs/topics.md): it makes its date active
            # for the streak and can unlock achievements, as POST /xp does (docs/streaks.md,
            # docs/achievements.md). One that earns none (wrong, capped, maxed) writes no profile.
            extras = (
                after_award(rules, profile, action=TOPIC_REASON_PREFIX + topic_name, occurred=occurred, now=now,
                            total_xp=total_after, balance=balance_before + bonus, coins_gained=bonus,
                            room=room_left(0) - _OWN_ITEMS - len(prereqs), count_action=False)
                if decision.amount > 0 else Extras({})
            )  # fmt: skip
            level_after = level_for_xp(rules, total_after + extras.xp)
            attempts = (int(task.get("attempts", 0)) if task else 0) + 1
            event_id = uuid.uuid4().hex
            result = TopicAttemptResponse(
                event_id=event_id,
                user_id=user_id,
                topic=TopicProgress(
                    topic=topic_name,
                    xp=topic_xp + decision.amount,
                    level=topic_level(topic, topic_xp + decision.amount),
                    daily_tasks=daily_before + int(req.correct),
                    next_review_date=earliest_due(due),
                    max_xp=topic.max_xp,
                ),
                task=TaskProgress(task_id=req.task_id, srs_stage=review.stage, next_review_date=new_due,
                                  attempts=attempts, scheduler=topic.scheduler),  # fmt: skip
                correct=req.correct,
                occurred_at=keys.stamp(occurred),
                date=day_key(today),
                timezone=zone_name(zone),
                tier=decision.tier,
                early=decision.early,
                multiplier=round(float(decision.multiplier), 6),
                xp_requested=decision.requested,
                xp_awarded=decision.amount,
                capped=decision.capped,
                maxed=decision.maxed,
                total_xp=total_after + extras.xp,
                level=level_after.level,
                level_name=level_after.name,
                leveled_up=level_after.level > level_before.level,
                coins_awarded=bonus + extras.coins,
                coins_balance=balance_before + bonus + extras.coins,
                streak=extras.streak,
                achievements_unlocked=extras.unlocked,
            )

            tx = ctx.store.transaction(token=event_id)
            stamp_now, stamp_at = keys.stamp(now), keys.stamp(occurred)
            put_versioned(tx, k_task, version_of(task), {
                "type": "task", "user_id": user_id, "topic": topic_name, "task_id": req.task_id,
                "srs_stage": review.stage, "next_review_date": new_due,
                "review_sk": keys.review_sort_key(new_due, topic_name, req.task_id), "attempts": attempts,
                "correct_count": (int(task.get("correct_count", 0)) if task else 0) + int(req.correct),
                "last_attempt_at": stamp_at, "last_correct": req.correct, "timezone": zone_name(zone),
                "fsrs_card": card, "created_at": (task or {}).get("created_at", stamp_now), "updated_at": stamp_now,
            })  # fmt: skip
            put_versioned(tx, k_topic, version_of(topic_item), {
                "type": "topic", "user_id": user_id, "topic": topic_name, "xp": result.topic.xp,
                "level": result.topic.level, "due": due,
                "tasks": (int(topic_item.get("tasks", 0)) if topic_item else 0) + (0 if task else 1),
                "attempts": (int(topic_item.get("attempts", 0)) if topic_item else 0) + 1,
                "last_activity": stamp_at, "created_at": (topic_item or {}).get("created_at", stamp_now),
                "updated_at": stamp_now,
            })  # fmt: skip
            if req.correct:
                tx.update(count_topic_attempt(
                    k_day, topic=topic_name, day=day_key(today), seen=daily_before,
                    expires_at=items.retained_until(day_end(today, zone), now, rules.max_event_age),
                ))  # fmt: skip
            for p in prereqs:
                need = xp_needed(rules.topics[p], topic.requires[p])
                if need > 0:
                    require_topic_xp(tx, keys.topic_key(tenant, user_id, p), need)
            proof = self._ledger(tx, tenant, idempotency_key, profile, occurred, now, rules_day, today, decision,
                                 review, result, cap, extras, bonus)  # fmt: skip
            extras.write(tx, tenant=tenant, user_id=user_id, occurred=occurred, now=now, event_id=event_id,
                         rules=rules)  # fmt: skip
            return Write(Outcome(result), tx, proof=proof)

        wanted = [k_profile, k_task, k_topic, k_usage, *k_days, *k_prereqs]
        return read_decide_commit(ctx.store, ctx.retry, idem, now, wanted, decide)

    def _ledger(
        self, tx: Any, tenant: str, idempotency_key: str | None, profile: dict[str, Any] | None, occurred: datetime,
        now: datetime, rules_day: date, today: date, decision: AttemptXp, review: Review,
        result: TopicAttemptResponse, cap: int | None, extras: Extras, bonus: int,
    ) -> keys.Key:
        """The attempt's XP ledger entry and, when XP is earned, what an action's award moves:
        profile (with the streak and achievement attributes of ``extras``, its reward XP and
        coins), the day's global usage (cap condition, the attempt's own XP only); the
        ``xp_bonus`` coins of the attempt's XP (``bonus``) ride on the entry. Returns the entry's key (the
        proof that this attempt landed)."""
        rules, user_id, topic = self.rules, result.user_id, result.topic.topic
        reason = TOPIC_REASON_PREFIX + topic
        total_xp = result.total_xp - extras.xp  # after the attempt's XP, before its rewards'
        # The attempt's record is an ordinary XP ledger entry (with topic fields): totals,
        # boards and ledger reads treat it as any award.
        key, attrs = items.xp_entry(
            tenant, user_id, event_id=result.event_id, occurred=occurred, recorded=now, reason=reason,
            xp=decision.amount, total_xp=total_xp, xp_requested=decision.requested, capped=decision.capped,
            day=day_key(rules_day), level=level_for_xp(rules, total_xp).level, idempotency_key=idempotency_key,
            topic=topic, task_id=result.task.task_id, correct=result.correct, tier=decision.tier,
            early=decision.early, multiplier=str(decision.multiplier), topic_day=day_key(today),
            topic_xp=result.topic.xp, srs_stage=review.stage, next_review_date=result.task.next_review_date,
            streak_events=extras.streak_events or None,
        )  # fmt: skip
        if bonus:  # the xp_bonus coins of the attempt's XP ride on its entry (one ledger item)
            key, attrs = items.with_bonus((key, attrs), amount=bonus, balance=result.coins_balance - extras.coins)
        tx.put_new(key, attrs)
        opening = 0 if profile else opening_balance(self.ctx, tx, tenant, user_id, occurred, now, result.event_id)
        if decision.amount or opening:
            tx.bump_profile(keys.profile_key(tenant, user_id), version_of(profile), user_id=user_id, now=now,
                            xp=opening + decision.amount + extras.xp, coins=result.coins_awarded,
                            set_attrs=extras.profile_attrs)  # fmt: skip
        if decision.amount:
            tx.add_day_usage(
                keys.usage_key(tenant, user_id, day_key(rules_day)), day=day_key(rules_day), action=reason,
                cap_amount=decision.amount, cap=cap, limit=None,
                expires_at=items.retained_until(day_end(rules_day, rules.zone), now, rules.max_event_age),
            )  # fmt: skip
        return key
