"""POST/GET /v1/webhooks, DELETE /v1/webhooks/{webhook_id}, GET .../deliveries: endpoints
for signed domain-event deliveries (Standard Webhooks) and their delivery log."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from gamification import clock
from gamification.api.http import IdempotencyKeyHeader, build_app, entrypoint, query_int, respond, responses, tenant_of
from gamification.api.webhook_models import (
    WEBHOOK_ID_PATTERN,
    CreateWebhookRequest,
    CreatedWebhook,
    DeletedWebhook,
    DeliveriesResponse,
    WebhooksResponse,
)
from gamification.runtime import store
from gamification.usecases.webhooks import Webhooks

app = build_app()
WebhookIdPath = Annotated[str, Path(pattern=WEBHOOK_ID_PATTERN)]


def _hooks() -> Webhooks:
    return Webhooks(store(), clock.now)


@app.post(
    "/v1/webhooks",
    summary="Register a webhook (the secret is shown once)",
    responses=responses(
        CreatedWebhook,
        _404="A retried registration whose webhook was deleted since (webhook_not_found)",
        _409="Most webhooks per tenant reached (too_many_webhooks)",
    ),
)
def create_webhook(body: CreateWebhookRequest, idempotency_key: IdempotencyKeyHeader = None) -> Response[CreatedWebhook]:
    return respond(_hooks().register(tenant_of(app), body, idempotency_key))


@app.get("/v1/webhooks", summary="List webhooks", responses=responses(WebhooksResponse))
def list_webhooks() -> Response[WebhooksResponse]:
    return respond(_hooks().list(tenant_of(app)))


@app.delete("/v1/webhooks/<webhook_id>", summary="Delete a webhook", responses=responses(DeletedWebhook, _404="No such live webhook (webhook_not_found)"))
def delete_webhook(webhook_id: WebhookIdPath, idempotency_key: IdempotencyKeyHeader = None) -> Response[DeletedWebhook]:
    return respond(_hooks().delete(tenant_of(app), webhook_id, idempotency_key))


@app.get("/v1/webhooks/<webhook_id>/deliveries", summary="Delivery log", responses=responses(DeliveriesResponse))
def list_deliveries(
    webhook_id: WebhookIdPath, limit: Annotated[query_int(1, 100), Query()] = 50  # type: ignore[valid-type]
) -> Response[DeliveriesResponse]:
    return respond(_hooks().deliveries(tenant_of(app), webhook_id, limit))


lambda_handler = entrypoint(app)
