"""HTTP pieces shared by the ledger routes: the entry id path parameter and the 404/409
responses they document."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Path

from gamification.api.http import responses
from gamification.api.ledger_models import ENTRY_ID_PATTERN
from gamification.api.models import ErrorResponse

EntryIdPath = Annotated[str, Path(pattern=ENTRY_ID_PATTERN, description="A ledger entry_id as listed by the ledger")]


def ledger_responses(model: type[Any], **extra: str) -> dict[int | str, dict[str, Any]]:
    """:func:`responses` plus the route's own error statuses (``{"409": "why"}``)."""
    out = responses(model)
    for status, text in extra.items():
        out[int(status.lstrip("_"))] = {"description": text, "content": {"application/json": {"model": ErrorResponse}}}
    return out
