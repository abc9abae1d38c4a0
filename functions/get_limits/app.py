"""GET /v1/users/{user_id}/limits: a day's XP usage, cap and per-action limits (Mikoshi; docs/api.md)."""

from aws_lambda_powertools.event_handler import Response
from gamification.api.http import DateQuery, UserIdPath, build_app, entrypoint, query_date, respond, responses, tenant_of
from gamification.api.models import LimitsResponse
from gamification.runtime import engine

app = build_app()


@app.get("/v1/users/<user_id>/limits", summary="Daily usage and limits", responses=responses(LimitsResponse))
def get_limits(user_id: UserIdPath, date_: DateQuery = None) -> Response[LimitsResponse]:
    tenant = tenant_of(app)
    return respond(engine().limits(tenant, user_id, query_date(date_)))


lambda_handler = entrypoint(app)
