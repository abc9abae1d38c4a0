"""POST /v1/users/{user_id}/coins: award a coin reward once per window (the exam-prep coin system's ``awardCoinsOnce``; docs/api.md)."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.metrics import MetricUnit
from gamification.api.http import IdempotencyKeyHeader, UserIdPath, build_app, entrypoint, respond, responses, tenant_of
from gamification.api.models import AwardCoinsRequest, AwardCoinsResponse
from gamification.observability import metrics
from gamification.runtime import engine

app = build_app()


@app.post("/v1/users/<user_id>/coins", summary="Award coins once per window", responses=responses(AwardCoinsResponse))
def award_coins(
    user_id: UserIdPath, body: AwardCoinsRequest, idempotency_key: IdempotencyKeyHeader = None
) -> Response[AwardCoinsResponse]:
    outcome = engine().award_coins(tenant_of(app), user_id, body, idempotency_key)
    if not outcome.replayed:
        metrics.add_metric(name="CoinsAwarded", unit=MetricUnit.Count, value=outcome.result.amount)
    return respond(outcome)


lambda_handler = entrypoint(app)
