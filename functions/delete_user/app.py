"""DELETE /v1/users/{user_id}: erase every item of the user (privacy requests), resumably;
afterwards the user reads as new and appears on no board."""

from aws_lambda_powertools.event_handler import Response
from gamification.api.erasure_models import DeleteUserResponse
from gamification.api.http import IdempotencyKeyAccepted, UserIdPath, build_app, entrypoint, respond, responses, tenant_of
from gamification.runtime import engine
from gamification.usecases.erasure import Erasure

app = build_app()


@app.delete("/v1/users/<user_id>", summary="Erase a user", responses=responses(DeleteUserResponse))
def delete_user(user_id: UserIdPath, idempotency_key: IdempotencyKeyAccepted = None) -> Response[DeleteUserResponse]:
    # The key is checked, not stored: a record naming the user would outlive the erasure,
    # and a repeat must run again to finish an interrupted one (docs/api.md).
    eng = engine()
    return respond(Erasure(eng.rules, eng.store).erase(tenant_of(app), user_id, eng.now()))


lambda_handler = entrypoint(app)
