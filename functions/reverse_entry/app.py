"""POST /v1/users/{user_id}/ledger/{entry_id}/reversal: the compensating entry of one XP or
coin entry (balance, the day's usage and the boards move back), once."""

from aws_lambda_powertools.event_handler import Response
from gamification.api.http import IdempotencyKeyHeader, UserIdPath, build_app, entrypoint, respond, responses, tenant_of
from gamification.api.ledger_http import EntryIdPath
from gamification.api.reversal_models import ReversalRequest, ReversalResponse
from gamification.runtime import engine
from gamification.usecases.reversals import Reversals

app = build_app()


@app.post(
    "/v1/users/<user_id>/ledger/<entry_id>/reversal",
    summary="Reverse a ledger entry",
    responses=responses(
        ReversalResponse,
        _404="No such entry (entry_not_found)",
        _409="Reversed already (already_reversed) or not reversible (not_reversible)",
    ),
)
def reverse_entry(
    user_id: UserIdPath, entry_id: EntryIdPath, body: ReversalRequest, idempotency_key: IdempotencyKeyHeader = None
) -> Response[ReversalResponse]:
    return respond(Reversals(engine()).reverse(tenant_of(app), user_id, entry_id, body, idempotency_key))


lambda_handler = entrypoint(app)
