"""Models of ``PUT /v1/users/{user_id}/timezone`` (docs/streaks.md), in their own module so
that a function creates only its route's models (cold start); :mod:`gamification.api.models`
re-exports them."""

from typing import Annotated

from pydantic import Field, StrictStr, StringConstraints

from gamification.api.models import _Model, _Request


class TimezoneRequest(_Request):
    """``PUT /v1/users/{user_id}/timezone``: an IANA zone name such as ``Europe/Berlin``."""

    timezone: Annotated[StrictStr, StringConstraints(min_length=1, max_length=64)] = Field(
        json_schema_extra={"x-rules": "timezones"}  # the document lists the IANA names
    )


class TimezoneResponse(_Model):
    user_id: str
    timezone: str
    today: str
