"""PUT /v1/users/{user_id}/timezone: the user's IANA time zone for streak dates."""

from aws_lambda_powertools.event_handler import Response
from gamification.api.http import IdempotencyKeyHeader, UserIdPath, build_app, entrypoint, respond, responses, tenant_of
from gamification.api.timezone_models import TimezoneRequest, TimezoneResponse
from gamification.runtime import engine
from gamification.usecases.set_timezone import set_timezone as set_zone

app = build_app()


@app.put("/v1/users/<user_id>/timezone", summary="Set the user's time zone", responses=responses(TimezoneResponse))
def set_timezone(
    user_id: UserIdPath, body: TimezoneRequest, idempotency_key: IdempotencyKeyHeader = None
) -> Response[TimezoneResponse]:
    return respond(set_zone(engine(), tenant_of(app), user_id, body, idempotency_key))


lambda_handler = entrypoint(app)
