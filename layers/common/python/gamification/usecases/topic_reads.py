"""The read use cases of topics and spaced repetition (docs/topics.md): a user's topics and
the reviews due. Apart from the attempt (:mod:`gamification.usecases.topic_attempts`), so
the read routes do not load the award path (optimistic writes, idempotency, streaks and
achievements), nor the attempt route these reads' models.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import date
from typing import TYPE_CHECKING, Any

from gamification.api.topic_read_models import ReviewDue, ReviewsResponse, TopicsResponse, TopicStatus
from gamification.dal import keys
from gamification.dal.topic_store import query_reviews
from gamification.domain.errors import ValidationFailed
from gamification.domain.periods import day_key, local_date
from gamification.domain.topics import earliest_due, missing_prerequisites, topic_level
from gamification.usecases.outcome import Outcome
from gamification.usecases.progression_profile import user_zone

if TYPE_CHECKING:
    from gamification.usecases.context import Context

MAX_REVIEWS_LIMIT = 500
DEFAULT_REVIEWS_LIMIT = 100


class TopicReads:
    """A user's topics and reviews over a use-case :class:`~gamification.usecases.context.Context`
    (the engine: its rules, store and clock)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.rules = ctx.rules
        self.store = ctx.store

    def topics(self, tenant: str, user_id: str) -> Outcome[TopicsResponse]:
        """Every topic of the rules with the user's XP, level, next review date and locks.
        One ``BatchGetItem`` per 100 topics (items: one per topic the user has touched)."""
        names = list(self.rules.topics)
        items: list[dict[str, Any] | None] = []
        for i in range(0, len(names), 100):
            items += self.store.get_many([keys.topic_key(tenant, user_id, n) for n in names[i : i + 100]])
        xp_of = {n: int(item.get("xp", 0)) if item else 0 for n, item in zip(names, items)}
        out = []
        for name, item in zip(names, items):
            topic = self.rules.topics[name]
            missing = missing_prerequisites(self.rules.topics, name, xp_of)
            out.append(
                TopicStatus(
                    topic=name,
                    title=topic.title,
                    xp=xp_of[name],
                    level=topic_level(topic, xp_of[name]),
                    max_level=topic.max_level,
                    max_xp=topic.max_xp,
                    next_review_date=earliest_due((item or {}).get("due") or {}),
                    locked=bool(missing),
                    missing_prerequisites=missing,
                    requires=dict(topic.requires),
                    tasks=int((item or {}).get("tasks", 0)),
                )
            )
        return Outcome(TopicsResponse(user_id=user_id, topics=out))

    def reviews(
        self, tenant: str, user_id: str, due_by: date | None = None, limit: int = DEFAULT_REVIEWS_LIMIT,
        cursor: str | None = None,
    ) -> Outcome[ReviewsResponse]:
        """Tasks whose next review date is on or before ``due_by`` (default: today in the
        user's zone), most overdue first: one ``GetItem`` (the profile, for the zone, only
        when ``due_by`` is omitted) and one ``Query`` of GSI ``reviews`` reading at most
        ``limit`` items, whatever the number of topics and tasks.

        Raises ValidationFailed (400) for a ``limit`` outside 1..500 or a bad ``cursor``.
        """
        if not 1 <= limit <= MAX_REVIEWS_LIMIT:
            raise ValidationFailed(f"limit must be between 1 and {MAX_REVIEWS_LIMIT}", field="limit")
        start = _decode_cursor(cursor, keys.user_pk(tenant, user_id)) if cursor else None
        if due_by is None:
            profile = self.store.get(keys.profile_key(tenant, user_id))
            due_by = local_date(self.ctx.now(), user_zone(self.rules, profile))
        # review_sk = {date}#{topic}#{task}: "{due_by}$" sorts after every key of due_by ('$'
        # follows '#') and before the next date's; no date arithmetic, so 9999-12-31 works.
        before = day_key(due_by) + "$"
        items, last = query_reviews(self.store, keys.user_pk(tenant, user_id), before, limit, start)
        return Outcome(
            ReviewsResponse(
                user_id=user_id,
                due_by=day_key(due_by),
                reviews=[
                    ReviewDue(topic=i["topic"], task_id=i["task_id"], next_review_date=i["next_review_date"])
                    for i in items
                ],
                next_cursor=_encode_cursor(last) if last else None,
            )
        )


def _encode_cursor(last: dict[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps([last["sk"], last["review_sk"]]).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, pk: str) -> dict[str, str]:
    """The ``ExclusiveStartKey`` of a ``next_cursor``; ValidationFailed (400) if malformed."""
    try:
        sk, review_sk = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not (isinstance(sk, str) and isinstance(review_sk, str) and sk.startswith("TASK#")
                and 0 < len(review_sk) <= 1024 and len(sk) <= 1024):  # fmt: skip
            raise ValueError
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailed("cursor is not a next_cursor of this route", field="cursor") from None
    return {"pk": pk, "sk": sk, "review_sk": review_sk}


def parse_due_by(value: str | None) -> date | None:
    """``YYYY-MM-DD`` -> date; ValidationFailed (400) for a non-date."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(f"due_by is not a calendar date: {value}", field="due_by") from None

