"""GET /v1/levels: the level ladder (Mikoshi's ``GET /api/levels``; docs/api.md)."""

from aws_lambda_powertools.event_handler import Response
from gamification.api.http import build_app, entrypoint, respond, responses
from gamification.api.models import LevelsResponse
from gamification.runtime import engine

app = build_app()


@app.get("/v1/levels", summary="Level ladder", responses=responses(LevelsResponse))
def get_levels() -> Response[LevelsResponse]:
    return respond(engine().levels())


lambda_handler = entrypoint(app)
