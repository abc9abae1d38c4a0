"""Request and response models of the topic attempt route (docs/topics.md); the topic and
review reads' are :mod:`gamification.api.topic_read_models`, so that neither function creates
the other's (cold start). Field names are the public contract; dates are the user's local
dates ``YYYY-MM-DD``, XP are integers."""

from typing import Annotated

from pydantic import StrictBool, StrictStr, StringConstraints

from gamification.api.reward_models import StreakSummary, UnlockedAchievement
from gamification.api.models import ID_PATTERN, EventTime, _Model, _Request

#: Task ids: the same alphabet as user ids (never ``#``, the key delimiter).
TaskId = Annotated[StrictStr, StringConstraints(pattern=ID_PATTERN)]


class TopicAttemptRequest(_Request):
    """``POST /v1/users/{user_id}/topics/{topic}/attempts`` body: the task answered and
    whether the answer was correct; ``occurred_at`` (RFC 3339 with offset) defaults to now."""

    task_id: TaskId
    correct: StrictBool
    occurred_at: EventTime | None = None


class TaskProgress(_Model):
    """A task's spaced-repetition state after the attempt."""

    task_id: str
    srs_stage: int
    next_review_date: str
    attempts: int
    scheduler: str


class TopicProgress(_Model):
    """The topic after the attempt: ``daily_tasks`` = correct attempts on it on the
    attempt's local date; ``next_review_date``: the earliest of its tasks'."""

    topic: str
    xp: int
    level: int
    daily_tasks: int
    next_review_date: str | None
    max_xp: int | None


class TopicAttemptResponse(_Model):
    """Result of an attempt. ``multiplier`` is the one applied to ``base_xp`` (tier x early
    x decay, never below the minimum); ``xp_requested`` = floor(base_xp x multiplier);
    ``xp_awarded`` after the topic's ``max_xp`` (``maxed``) and the daily XP cap (``capped``).
    ``total_xp``, ``coins_*`` include the rewards of ``achievements_unlocked`` and streak
    milestones, as an XP award's do; ``streak``: the daily streak after an attempt that
    earned XP (None when it earned none, or the rules' streak does not count topic
    attempts; docs/streaks.md)."""

    event_id: str
    user_id: str
    topic: TopicProgress
    task: TaskProgress
    correct: bool
    occurred_at: str
    date: str
    timezone: str
    tier: str | None
    early: bool
    multiplier: float
    xp_requested: int
    xp_awarded: int
    capped: bool
    maxed: bool
    total_xp: int
    level: int
    level_name: str
    leveled_up: bool
    coins_awarded: int
    coins_balance: int
    #: Streaks and achievements, as on an XP award (docs/streaks.md, docs/achievements.md).
    streak: StreakSummary | None = None
    achievements_unlocked: list[UnlockedAchievement] = []
