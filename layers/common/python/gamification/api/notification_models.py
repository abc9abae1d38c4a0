"""Models of the notification inbox and webhook routes (field names fixed by the API
contract, README "Notifications and webhooks")."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, StrictBool, StrictStr, StringConstraints, model_validator

from gamification.api.models import _Request

NOTIFICATION_ID_PATTERN = r"^evt_[0-9a-f]{32}$"
WEBHOOK_ID_PATTERN = r"^wh_[0-9a-f]{32}$"
EventType = Annotated[StrictStr, StringConstraints(min_length=1, max_length=64)]


class Notification(BaseModel):
    """One inbox entry; ``id`` is the domain event's id, ``created_at`` its time."""

    id: str
    type: str
    title: str
    created_at: str
    read: bool
    data: dict[str, Any] = {}


class NotificationsResponse(BaseModel):
    user_id: str
    notifications: list[Notification]


class MarkReadRequest(_Request):
    """Either ``ids`` (1..100 notification ids) or ``all: true``."""

    ids: list[Annotated[StrictStr, StringConstraints(pattern=NOTIFICATION_ID_PATTERN)]] | None = Field(
        default=None, min_length=1, max_length=100
    )
    all: StrictBool | None = None

    @model_validator(mode="after")
    def _one(self) -> MarkReadRequest:
        if (self.ids is None) == (self.all is not True):
            raise ValueError('give either "ids" or "all": true')
        return self


class MarkReadResponse(BaseModel):
    user_id: str
    marked: int
    unread: int


class CreateWebhookRequest(_Request):
    """``url`` (https; http to loopback only locally) and the event types (or ``["*"]``)."""

    url: Annotated[StrictStr, StringConstraints(min_length=1, max_length=2048)]
    events: list[EventType] = Field(min_length=1, max_length=20)


class Webhook(BaseModel):
    id: str
    url: str
    events: list[str]
    created_at: str


class CreatedWebhook(Webhook):
    """``secret`` (``whsec_...``) is shown only in this response."""

    secret: str


class WebhooksResponse(BaseModel):
    webhooks: list[Webhook]


class DeletedWebhook(BaseModel):
    id: str
    deleted: bool


class Delivery(BaseModel):
    """One event's delivery to the endpoint: ``status`` ``delivered``, ``retrying``,
    ``dead_lettered``, ``dropped`` (endpoint deleted) or ``refused`` (URL no longer allowed)."""

    event_id: str
    event_type: str | None
    status: str | None
    attempts: int | None
    last_status_code: int | None
    last_error: str | None
    last_attempt_at: str | None
    delivered_at: str | None
    next_attempt_at: str | None


class DeliveriesResponse(BaseModel):
    webhook_id: str
    deliveries: list[Delivery]
