"""PUT /v1/users/{user_id}/active-badge: show one unlocked badge (Mikoshi's ``active_badge``)."""

from aws_lambda_powertools.event_handler import Response
from gamification.api.http import IdempotencyKeyHeader, UserIdPath, build_app, entrypoint, respond, responses, tenant_of
from gamification.api.badge_models import ActiveBadgeRequest, ActiveBadgeResponse
from gamification.runtime import engine
from gamification.usecases.set_active_badge import set_active_badge as set_badge

app = build_app()


@app.put("/v1/users/<user_id>/active-badge", summary="Set the active badge", responses=responses(ActiveBadgeResponse))
def set_active_badge(
    user_id: UserIdPath, body: ActiveBadgeRequest, idempotency_key: IdempotencyKeyHeader = None
) -> Response[ActiveBadgeResponse]:
    return respond(set_badge(engine(), tenant_of(app), user_id, body, idempotency_key))


lambda_handler = entrypoint(app)
