"""Topics and spaced repetition: the pure rules of a rules file's ``topics:`` section (its
model is :mod:`gamification.domain.topic_rules`).

Source: the math-learning system among the seeds (``TopicXpConfig``: base XP, daily
full/half task tiers with multipliers, an early-review multiplier, decay, a minimum percent,
level thresholds, review intervals, max XP; ``UserTopicXp`` / ``UserTaskAttempt``: per-user
topic XP and level, daily counters, SRS stage and next review date), plus prerequisites
(``requires``), as documented in docs/topics.md.

XP of one correct attempt (docs/topics.md "XP of an attempt"), for the n-th correct attempt
(1-based) on this topic on the user's local date:

- ``tier``: ``full`` for ``n <= daily_full_tasks``, ``half`` for the next
  ``daily_half_tasks``, ``low`` after that; ``tier_multiplier`` is the tier's multiplier;
- ``early`` = ``multiplier_early`` when the same task is attempted before its
  ``next_review_date`` (local dates), else 1;
- ``multiplier = max(tier_multiplier * early * (1 - daily_xp_decay) ** (n - 1),
  min_xp_percent / 100)``;
- ``xp = floor(base_xp * multiplier)``, computed in decimal arithmetic (no float rounding);
- then cut to the topic's room under ``max_xp`` and to the room under the day's global XP
  cap (those two can go below the minimum; nothing else can). A wrong attempt awards 0.

Spaced repetition (fixed intervals): a new task is at stage 0; a correct attempt schedules
``local date + review_intervals[stage]`` days and moves the stage up one, capped at the last
interval's index; a wrong attempt resets the stage to 0 and schedules the next local date.
With ``scheduler: fsrs`` the usecase asks the FSRS scheduler instead (card state per task).

Everything here is pure: no I/O, no clock.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

if TYPE_CHECKING:  # annotations only: the rules load with the engine, on the first request
    from gamification.domain.topic_rules import Topic

Tier = Literal["full", "half", "low"]


# ---- levels and locks ----------------------------------------------------------------------


def topic_level(topic: Topic, xp: int) -> int:
    """Topic level: the number of ``level_thresholds`` at or below ``xp`` (1 at 0 XP when
    the first threshold is 0)."""
    return bisect_right(topic.level_thresholds, xp)


def missing_prerequisites(topics: Mapping[str, Topic], name: str, xp_of: Mapping[str, int]) -> list[str]:
    """Prerequisites of topic ``name`` whose level (from the user's topic XP ``xp_of``,
    0 for an untouched topic) is below the level ``requires`` asks for, in rules order."""
    return [
        req
        for req, need in topics[name].requires.items()
        if topic_level(topics[req], xp_of.get(req, 0)) < need
    ]


def xp_needed(topic: Topic, level: int) -> int:
    """Topic XP needed to hold ``level`` (1..max_level)."""
    return topic.level_thresholds[level - 1]


def reversed_topic_xp(topic_xp: int, xp: int) -> int:
    """A topic's XP after the reversal of one of its ledger entries moves it by ``xp``
    (signed: the compensating entry's XP), never below 0 (docs/topics.md "Reversals")."""
    return max(topic_xp + xp, 0)


# ---- XP of an attempt ----------------------------------------------------------------------


def tier_of(topic: Topic, n: int) -> Tier:
    """The tier of the ``n``-th correct attempt (1-based) of a local day."""
    if n <= topic.daily_full_tasks:
        return "full"
    if n <= topic.daily_full_tasks + topic.daily_half_tasks:
        return "half"
    return "low"


def _dec(x: float) -> Decimal:
    return Decimal(str(x))


def multiplier(topic: Topic, n: int, early: bool) -> Decimal:
    """``max(tier_multiplier * early * (1 - daily_xp_decay) ** (n - 1), min_xp_percent / 100)``
    as an exact decimal (``n`` 1-based; ``early``: before the task's next review date)."""
    tier = tier_of(topic, n)
    m = _dec({"full": topic.multiplier_full, "half": topic.multiplier_half, "low": topic.multiplier_low}[tier])
    if early:
        m *= _dec(topic.multiplier_early)
    if topic.daily_xp_decay:
        m *= (1 - _dec(topic.daily_xp_decay)) ** (n - 1)
    return max(m, _dec(topic.min_xp_percent) / 100)


def base_award(topic: Topic, n: int, early: bool) -> int:
    """``floor(base_xp * multiplier)`` XP for the n-th correct attempt of the day."""
    return math.floor(topic.base_xp * multiplier(topic, n, early))


class AttemptXp(NamedTuple):
    """What one attempt earns.

    ``requested``: ``floor(base_xp * multiplier)`` (0 when wrong); ``amount``: after the
    topic's ``max_xp`` room and the global daily cap's room; ``capped``: cut by the global
    cap; ``maxed``: cut by ``max_xp``; ``n``: the attempt's rank among the day's correct
    attempts on the topic (0 when wrong: a wrong attempt does not count).
    """

    correct: bool
    n: int
    tier: Tier | None
    early: bool
    multiplier: Decimal
    requested: int
    amount: int
    capped: bool
    maxed: bool


def decide_attempt(
    topic: Topic,
    *,
    correct: bool,
    daily_before: int,
    early: bool,
    topic_xp: int,
    cap_room: int | None,
) -> AttemptXp:
    """XP of one attempt. ``daily_before``: correct attempts on this topic already counted
    on the user's local date; ``topic_xp``: the user's topic XP before; ``cap_room``: XP
    left under today's global cap (None: uncapped)."""
    if not correct:
        return AttemptXp(False, 0, None, early, Decimal(0), 0, 0, False, False)
    n = daily_before + 1
    m = multiplier(topic, n, early)
    requested = math.floor(topic.base_xp * m)
    amount = requested
    maxed = capped = False
    if topic.max_xp is not None and amount > topic.max_xp - topic_xp:
        amount, maxed = max(topic.max_xp - topic_xp, 0), True
    if cap_room is not None and amount > cap_room:
        amount, capped = max(cap_room, 0), True
    return AttemptXp(True, n, tier_of(topic, n), early, m, requested, amount, capped, maxed)


# ---- spaced repetition (fixed intervals) ---------------------------------------------------


class Review(NamedTuple):
    """A task's schedule after an attempt: ``stage`` and the local ``next_review_date``."""

    stage: int
    next_review_date: date


def fixed_review(topic: Topic, stage: int, correct: bool, today: date) -> Review:
    """Fixed-interval schedule after an attempt on local date ``today`` by a task at
    ``stage`` (0 for a new task)."""
    if not correct:
        return Review(0, today + timedelta(days=1))
    top = len(topic.review_intervals) - 1
    stage = min(stage, top)
    return Review(min(stage + 1, top), today + timedelta(days=topic.review_intervals[stage]))


def is_early(next_review: date | None, today: date) -> bool:
    """True when a task already scheduled for ``next_review`` is attempted before it."""
    return next_review is not None and today < next_review


# ---- the per-topic review histogram --------------------------------------------------------


def move_due(due: Mapping[str, int], old: str | None, new: str) -> dict[str, int]:
    """The topic's count of tasks per next review date (``YYYY-MM-DD`` -> tasks) after one
    task moves from ``old`` (None: a new task) to ``new``; empty dates are dropped."""
    out = dict(due)
    if old is not None and out.get(old, 0) > 0:
        out[old] -= 1
        if not out[old]:
            del out[old]
    out[new] = out.get(new, 0) + 1
    return out


def earliest_due(due: Mapping[str, int]) -> str | None:
    """The topic's next review date: the earliest date holding a task (None: no tasks)."""
    dates = [d for d, n in due.items() if n > 0]
    return min(dates) if dates else None


# ---- spaced repetition (FSRS) --------------------------------------------------------------


@lru_cache(maxsize=32)
def _fsrs_scheduler(desired_retention: float) -> Any:
    """An FSRS-6 scheduler with the package's default parameters, scheduling in whole days:
    no sub-day learning steps (review dates are local dates) and no random fuzz (the same
    answers give the same schedule, so retries and tests are deterministic)."""
    import fsrs

    return fsrs.Scheduler(
        desired_retention=desired_retention, learning_steps=(), relearning_steps=(), enable_fuzzing=False
    )


def fsrs_review(topic: Topic, card_json: str | None, correct: bool, at: datetime, today: date, stage: int) -> tuple[Review, str]:
    """FSRS schedule after an attempt at instant ``at`` (aware) on local date ``today``:
    correct is ``Rating.Good``, wrong is ``Rating.Again``. ``card_json``: the task's stored
    card (None for a new task). Returns the review (``stage``: correct answers in a row,
    reset to 0 by a wrong one) and the card to store (JSON)."""
    import fsrs

    at = at.astimezone(timezone.utc)
    card = fsrs.Card.from_json(card_json) if card_json else fsrs.Card(card_id=1, due=at)
    card, _ = _fsrs_scheduler(topic.desired_retention).review_card(
        card, fsrs.Rating.Good if correct else fsrs.Rating.Again, review_datetime=at
    )
    days = max((card.due - at).days, 1)  # whole days; DST-safe because counted on local dates
    return Review(stage + 1 if correct else 0, today + timedelta(days=days)), card.to_json()
