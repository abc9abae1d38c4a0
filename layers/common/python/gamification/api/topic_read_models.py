"""Response models of the topic reads, ``GET /v1/users/{user_id}/topics`` and
``GET /v1/users/{user_id}/reviews`` (docs/topics.md), apart from the attempt's
(:mod:`gamification.api.topic_models`). Field names are the public contract; dates are the
user's local dates ``YYYY-MM-DD``, XP are integers."""

from gamification.api.models import _Model


class TopicStatus(_Model):
    """One topic of ``GET /v1/users/{user_id}/topics``; ``missing_prerequisites`` lists the
    required topics whose level is still too low (``requires``: topic -> level needed)."""

    topic: str
    title: str
    xp: int
    level: int
    max_level: int
    max_xp: int | None
    next_review_date: str | None
    locked: bool
    missing_prerequisites: list[str]
    requires: dict[str, int]
    tasks: int


class TopicsResponse(_Model):
    """``GET /v1/users/{user_id}/topics``: every topic of the rules, in rules order."""

    user_id: str
    topics: list[TopicStatus]


class ReviewDue(_Model):
    """A task due for review by ``due_by`` (its ``next_review_date`` is on or before it)."""

    topic: str
    task_id: str
    next_review_date: str


class ReviewsResponse(_Model):
    """``GET /v1/users/{user_id}/reviews``: most overdue first (ties by topic, task);
    ``next_cursor`` pages on (null at the end)."""

    user_id: str
    due_by: str
    reviews: list[ReviewDue]
    next_cursor: str | None
