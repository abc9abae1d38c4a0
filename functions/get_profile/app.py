"""GET /v1/users/{user_id}: total XP, level, progress and coin balance (Progressive Flow, the KPI tracker; docs/api.md)."""

from aws_lambda_powertools.event_handler import Response
from gamification.api.http import UserIdPath, build_app, entrypoint, respond, responses, tenant_of
from gamification.api.models import ProfileResponse
from gamification.runtime import engine

app = build_app()


@app.get("/v1/users/<user_id>", summary="User profile", responses=responses(ProfileResponse))
def get_profile(user_id: UserIdPath) -> Response[ProfileResponse]:
    return respond(engine().profile(tenant_of(app), user_id))


lambda_handler = entrypoint(app)
