"""Models of the webhook routes (field names fixed by the API contract, README "Notifications
and webhooks"), apart from the inbox's: neither function creates the other's models."""

from typing import Annotated

from pydantic import Field, StrictStr, StringConstraints

from gamification.api.models import _Model, _Request

WEBHOOK_ID_PATTERN = r"^wh_[0-9a-f]{32}$"
EventType = Annotated[StrictStr, StringConstraints(min_length=1, max_length=64)]
#: What the document states of a webhook URL: https to a DNS name (the engine also takes
#: any other absolute https URL, and http to loopback locally; usecases/webhook_urls.py).
WEBHOOK_URL_PATTERN = (
    r"^https://(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}(?::[1-9][0-9]{0,3})?(?:/[!$&-;=?-~]*)?$"
)


class CreateWebhookRequest(_Request):
    """``url`` (https; http to loopback only locally) and the event types (or ``["*"]``)."""

    url: Annotated[StrictStr, StringConstraints(min_length=1, max_length=2048)] = Field(
        json_schema_extra={"pattern": WEBHOOK_URL_PATTERN}
    )
    events: list[Annotated[EventType, Field(json_schema_extra={"x-rules": "event_types"})]] = Field(
        min_length=1, max_length=20
    )


class Webhook(_Model):
    id: str
    url: str
    events: list[str]
    created_at: str


class CreatedWebhook(Webhook):
    """``secret`` (``whsec_...``) is shown only in this response."""

    secret: str


class WebhooksResponse(_Model):
    webhooks: list[Webhook]


class DeletedWebhook(_Model):
    id: str
    deleted: bool


class Delivery(_Model):
    """One event's delivery to the endpoint: ``status`` ``delivered``, ``retrying``,
    ``dead_lettered``, ``dropped`` (endpoint deleted: nothing sent; ``attempts`` and
    ``last_attempt_at`` those of the requests sent before) or ``refused`` (URL no longer
    allowed). ``next_attempt_at`` only while ``retrying`` (docs/api.md)."""

    event_id: str
    event_type: str | None
    status: str | None
    attempts: int | None
    last_status_code: int | None
    last_error: str | None
    last_attempt_at: str | None
    delivered_at: str | None
    next_attempt_at: str | None


class DeliveriesResponse(_Model):
    webhook_id: str
    deliveries: list[Delivery]
