"""GET /v1/users/{user_id}/streak: current and longest streak, freezes, 14 days of history."""

from aws_lambda_powertools.event_handler import Response
from gamification.api.http import UserIdPath, build_app, entrypoint, respond, responses, tenant_of
from gamification.api.streak_models import StreakResponse
from gamification.runtime import engine
from gamification.usecases.streak_read import streak

app = build_app()


@app.get("/v1/users/<user_id>/streak", summary="The user's daily streak", responses=responses(StreakResponse))
def get_streak(user_id: UserIdPath) -> Response[StreakResponse]:
    return respond(streak(engine(), tenant_of(app), user_id))


lambda_handler = entrypoint(app)
