"""Use cases of topics and spaced repetition (docs/topics.md): :class:`TopicUseCases` holds
the attempt (:mod:`gamification.usecases.topic_attempts`) and the reads (a user's topics,
the reviews due: :mod:`gamification.usecases.topic_reads`), for the operator tools and the
tests; each route's function imports its own part (cold start).
"""

from __future__ import annotations

from gamification.usecases.topic_attempts import TOPIC_REASON_PREFIX, TopicAttempts  # noqa: F401 - re-exported
from gamification.usecases.topic_reads import (  # noqa: F401 - re-exported
    DEFAULT_REVIEWS_LIMIT,
    MAX_REVIEWS_LIMIT,
    TopicReads,
    parse_due_by,
)


class TopicUseCases(TopicAttempts, TopicReads):
    """Topics over a use-case :class:`~gamification.usecases.context.Context` (the engine:
    its rules, store, clock and retry policy): the attempt and the reads."""
