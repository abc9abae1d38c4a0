"""Models of the notification inbox and webhook routes (field names fixed by the API
contract, README "Notifications and webhooks")."""

from typing import Annotated, Any

from pydantic import ConfigDict, Field, StrictBool, StrictStr, StringConstraints, model_validator

from gamification.api.models import _Model, _Request

NOTIFICATION_ID_PATTERN = r"^evt_[0-9a-f]{32}$"
WEBHOOK_ID_PATTERN = r"^wh_[0-9a-f]{32}$"
EventType = Annotated[StrictStr, StringConstraints(min_length=1, max_length=64)]
#: What the document states of a webhook URL: https to a DNS name (the engine also takes
#: any other absolute https URL, and http to loopback locally; usecases/webhook_urls.py).
WEBHOOK_URL_PATTERN = (
    r"^https://(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}(?::[1-9][0-9]{0,3})?(?:/[!$&-;=?-~]*)?$"
)


class Notification(_Model):
    """One inbox entry; ``id`` is the domain event's id, ``created_at`` its time."""

    id: str
    type: str
    title: str
    created_at: str
    read: bool
    data: dict[str, Any] = {}


class NotificationsResponse(_Model):
    user_id: str
    notifications: list[Notification]


class MarkReadRequest(_Request):
    """Either ``ids`` (1..100 notification ids) or ``all: true``."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["ids"], "properties": {"ids": {"type": "array"}, "all": {"not": {"const": True}}}},
                {"required": ["all"], "properties": {"all": {"const": True}, "ids": {"type": "null"}}},
            ]
        }
    )

    ids: list[Annotated[StrictStr, StringConstraints(pattern=NOTIFICATION_ID_PATTERN)]] | None = Field(
        default=None, min_length=1, max_length=100
    )
    all: StrictBool | None = None

    @model_validator(mode="after")
    def _one(self) -> "MarkReadRequest":
        if (self.ids is None) == (self.all is not True):
            raise ValueError('give either "ids" or "all": true')
        return self


class MarkReadResponse(_Model):
    user_id: str
    marked: int
    unread: int


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
