"""POST /v1/users/{user_id}/topics/{topic}/attempts: an attempt on a task of a topic (topic
XP by the day's tier, spaced repetition per task; docs/topics.md)."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.metrics import MetricUnit
from gamification.api.http import IdempotencyKeyHeader, UserIdPath, build_app, entrypoint, respond, responses, tenant_of
from gamification.api.models import ErrorResponse
from gamification.api.topic_models import TopicAttemptRequest, TopicAttemptResponse
from gamification.observability import metrics
from gamification.runtime import engine
from gamification.usecases.topic_attempts import TopicAttempts

app = build_app()

RESPONSES = {
    **responses(TopicAttemptResponse),
    404: {"description": "Unknown topic (unknown_topic)", "content": {"application/json": {"model": ErrorResponse}}},
    409: {"description": "Prerequisites unmet (topic_locked)", "content": {"application/json": {"model": ErrorResponse}}},
}


@app.post("/v1/users/<user_id>/topics/<topic>/attempts", summary="Record a task attempt on a topic", responses=RESPONSES)
def topic_attempt(
    user_id: UserIdPath,
    topic: Annotated[str, Path(min_length=1, max_length=64)],
    body: TopicAttemptRequest,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response[TopicAttemptResponse]:
    outcome = TopicAttempts(engine()).attempt(tenant_of(app), user_id, topic, body, idempotency_key)
    if not outcome.replayed:
        metrics.add_metric(name="TopicXpAwarded", unit=MetricUnit.Count, value=outcome.result.xp_awarded)
    return respond(outcome)


lambda_handler = entrypoint(app)
