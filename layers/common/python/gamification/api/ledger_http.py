"""HTTP pieces shared by the ledger routes: the entry id path parameter."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from gamification.api.reversal_models import ENTRY_ID_PATTERN

EntryIdPath = Annotated[str, Path(pattern=ENTRY_ID_PATTERN, description="A ledger entry_id as listed by the ledger")]
