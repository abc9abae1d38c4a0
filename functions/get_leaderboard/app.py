"""GET /v1/leaderboards/{board}: a board period's top entries, a user's exact rank and
neighbours, or the roll-over's final snapshot (Progressive Flow's leaderboards; docs/leaderboards.md)."""

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from gamification.api.http import DateQuery, QueryFlag, build_app, entrypoint, query_date, query_int, respond, responses, tenant_of
from gamification.api.models import ID_PATTERN, LeaderboardResponse
from gamification.domain.errors import ValidationFailed
from gamification.runtime import engine

app = build_app()


@app.get("/v1/leaderboards/<board>", summary="Leaderboard, a user's rank, final snapshots", responses=responses(LeaderboardResponse))
def get_leaderboard(
    board: Annotated[str, Path(min_length=1, max_length=64)],
    period: Annotated[Literal["daily", "weekly", "monthly", "all_time"], Query()],
    date_: DateQuery = None,
    limit: Annotated[query_int(1, 100), Query()] = 10,  # type: ignore[valid-type]
    user_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    around: Annotated[query_int(1, 50) | None, Query(description="Players above and below the user (needs user_id)")] = None,  # type: ignore[valid-type]
    final: Annotated[QueryFlag, Query()] = False,
) -> Response[LeaderboardResponse]:
    tenant = tenant_of(app)
    on = query_date(date_)
    if around is not None and user_id is None:
        raise ValidationFailed("query.around: needs user_id", field="around")
    return respond(
        engine().leaderboard(tenant, board, period, on, limit=limit, user_id=user_id, around=around, final=final)
    )


lambda_handler = entrypoint(app)
