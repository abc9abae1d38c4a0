"""POST /v1/users/{user_id}/coins/spend: take coins off the balance (a shop, a reward store);
the balance is enforced by a DynamoDB condition, so racing spends never overdraw."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.metrics import MetricUnit
from gamification.api.http import IdempotencyKeyHeader, UserIdPath, build_app, entrypoint, respond, responses, tenant_of
from gamification.api.spend_models import SpendRequest, SpendResponse
from gamification.observability import metrics
from gamification.runtime import engine
from gamification.usecases.spending import Spending

app = build_app()


@app.post(
    "/v1/users/<user_id>/coins/spend",
    summary="Spend coins",
    responses=responses(SpendResponse, _409="Balance too low (insufficient_coins); nothing written"),
)
def spend_coins(
    user_id: UserIdPath, body: SpendRequest, idempotency_key: IdempotencyKeyHeader = None
) -> Response[SpendResponse]:
    outcome = Spending(engine()).spend(tenant_of(app), user_id, body, idempotency_key)
    if not outcome.replayed:
        metrics.add_metric(name="CoinsSpent", unit=MetricUnit.Count, value=outcome.result.spent)
    return respond(outcome)


lambda_handler = entrypoint(app)
