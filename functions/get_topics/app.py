"""GET /v1/users/{user_id}/topics: a user's progress in every topic, locks and missing
prerequisites (docs/topics.md)."""

from aws_lambda_powertools.event_handler import Response
from gamification.api.http import UserIdPath, build_app, entrypoint, respond, responses, tenant_of
from gamification.api.topic_read_models import TopicsResponse
from gamification.runtime import engine
from gamification.usecases.topic_reads import TopicReads

app = build_app()


@app.get("/v1/users/<user_id>/topics", summary="Topic progress and locks", responses=responses(TopicsResponse))
def get_topics(user_id: UserIdPath) -> Response[TopicsResponse]:
    return respond(TopicReads(engine()).topics(tenant_of(app), user_id))


lambda_handler = entrypoint(app)
