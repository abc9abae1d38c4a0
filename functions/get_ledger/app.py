"""GET /v1/users/{user_id}/ledger: the user's XP and coin entries, newest first, paged
(the exam-prep app's ``coin_log``, Progressive Flow's XP transactions)."""

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from gamification.api.http import UserIdPath, build_app, entrypoint, query_int, respond, responses, tenant_of
from gamification.api.ledger_models import LedgerResponse
from gamification.runtime import engine
from gamification.usecases.ledger_reads import LedgerReads

app = build_app()


@app.get("/v1/users/<user_id>/ledger", summary="Ledger history, newest first", responses=responses(LedgerResponse))
def get_ledger(
    user_id: UserIdPath,
    type_: Annotated[Literal["xp", "coins"] | None, Query(alias="type")] = None,
    limit: Annotated[query_int(1, 100), Query()] = 20,  # type: ignore[valid-type]
    cursor: Annotated[str | None, Query(min_length=1, max_length=1024)] = None,
) -> Response[LedgerResponse]:
    tenant = tenant_of(app)
    return respond(LedgerReads(engine()).history(tenant, user_id, type_filter=type_, limit=limit, cursor=cursor))


lambda_handler = entrypoint(app)
