"""GET /v1/users/{user_id}/achievements: unlocked and visible locked achievements with progress."""

from aws_lambda_powertools.event_handler import Response
from gamification.api.http import UserIdPath, build_app, entrypoint, respond, responses, tenant_of
from gamification.api.achievement_models import UserAchievementsResponse
from gamification.runtime import engine
from gamification.usecases.achievement_reads import achievements

app = build_app()


@app.get(
    "/v1/users/<user_id>/achievements", summary="The user's achievements", responses=responses(UserAchievementsResponse)
)
def get_achievements(user_id: UserIdPath) -> Response[UserAchievementsResponse]:
    return respond(achievements(engine(), tenant_of(app), user_id))


lambda_handler = entrypoint(app)
