"""GET /v1/users/{user_id}/notifications and POST .../notifications/read: a user's inbox
(level ups, unlocks, streak milestones, prizes), expiring after 30 days."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from gamification import clock
from gamification.api.http import IdempotencyKeyHeader, QueryFlag, UserIdPath, build_app, entrypoint, respond, responses, tenant_of
from gamification.api.notification_models import MarkReadRequest, MarkReadResponse, NotificationsResponse
from gamification.runtime import store
from gamification.usecases.notifications import Notifications

app = build_app()


def _inbox() -> Notifications:
    # The inbox is the table's and the clock's alone: no engine, so no rules file is read.
    return Notifications(store(), clock.now)


@app.get("/v1/users/<user_id>/notifications", summary="Notification inbox", responses=responses(NotificationsResponse))
def list_notifications(
    user_id: UserIdPath, unread: Annotated[QueryFlag, Query()] = False
) -> Response[NotificationsResponse]:
    return respond(_inbox().list(tenant_of(app), user_id, unread_only=unread))


@app.post("/v1/users/<user_id>/notifications/read", summary="Mark notifications read", responses=responses(MarkReadResponse))
def mark_read(
    user_id: UserIdPath, body: MarkReadRequest, idempotency_key: IdempotencyKeyHeader = None
) -> Response[MarkReadResponse]:
    return respond(_inbox().mark_read(tenant_of(app), user_id, body, idempotency_key))


lambda_handler = entrypoint(app)
