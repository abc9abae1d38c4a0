"""GET /v1/users/{user_id}/reviews: tasks due for review by a local date, most overdue
first (docs/topics.md)."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from gamification.api.http import UserIdPath, build_app, entrypoint, query_int, respond, responses, tenant_of
from gamification.api.models import DATE_PATTERN
from gamification.api.topic_read_models import ReviewsResponse
from gamification.runtime import engine
from gamification.usecases.topic_reads import MAX_REVIEWS_LIMIT, TopicReads, parse_due_by

app = build_app()


@app.get("/v1/users/<user_id>/reviews", summary="Tasks due for review", responses=responses(ReviewsResponse))
def get_reviews(
    user_id: UserIdPath,
    due_by: Annotated[str | None, Query(pattern=DATE_PATTERN, description="Local date YYYY-MM-DD (default: today in the user's zone)")] = None,
    limit: Annotated[query_int(1, MAX_REVIEWS_LIMIT), Query()] = 100,  # type: ignore[valid-type]
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
) -> Response[ReviewsResponse]:
    tenant = tenant_of(app)
    return respond(TopicReads(engine()).reviews(tenant, user_id, parse_due_by(due_by), limit, cursor))


lambda_handler = entrypoint(app)
