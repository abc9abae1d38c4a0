"""Models of the notification inbox routes (field names fixed by the API contract, README
"Notifications and webhooks"); the webhook routes' are :mod:`gamification.api.webhook_models`."""

from typing import Annotated, Any

from pydantic import ConfigDict, Field, StrictBool, StrictStr, StringConstraints, model_validator

from gamification.api.models import _Model, _Request

NOTIFICATION_ID_PATTERN = r"^evt_[0-9a-f]{32}$"


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
