"""POST /v1/users/{user_id}/xp: award XP for an action (Mikoshi's ``POST /api/exp/gain``; docs/api.md)."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.metrics import MetricUnit
from gamification.api.http import IdempotencyKeyHeader, UserIdPath, build_app, entrypoint, respond, responses, tenant_of
from gamification.api.models import AwardXpRequest, AwardXpResponse
from gamification.observability import metrics
from gamification.runtime import engine

app = build_app()


@app.post("/v1/users/<user_id>/xp", summary="Award XP for an action", responses=responses(AwardXpResponse))
def award_xp(
    user_id: UserIdPath, body: AwardXpRequest, idempotency_key: IdempotencyKeyHeader = None
) -> Response[AwardXpResponse]:
    outcome = engine().award_xp(tenant_of(app), user_id, body, idempotency_key)
    if not outcome.replayed:
        metrics.add_metric(name="XpAwarded", unit=MetricUnit.Count, value=outcome.result.xp_awarded)
    return respond(outcome)


lambda_handler = entrypoint(app)
