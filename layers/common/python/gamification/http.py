"""HTTP glue shared by every API function: the Powertools resolver with request validation
and OpenAPI, error mapping to the v1 envelope (once, here), path/header parameter types, and
the Lambda entry point with logging, tracing and metrics."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Annotated, Any, Union

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query
from aws_lambda_powertools.logging import correlation_paths

from .errors import GamificationError, LimitReached, NotFound, Unauthenticated
from .models import DATE_PATTERN, ID_PATTERN, IDEMPOTENCY_KEY_PATTERN, ErrorResponse, GatewayError
from .observability import logger, metrics, tracer
from .service import Outcome

UserIdPath = Annotated[str, Path(pattern=ID_PATTERN, description="1-128 of A-Z a-z 0-9 _ . : @ -")]
IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="idempotency-key",
        pattern=IDEMPOTENCY_KEY_PATTERN,
        description="Retries with the same key have their effect once and replay the first response.",
    ),
]
DateQuery = Annotated[str | None, Query(alias="date", pattern=DATE_PATTERN, description="Local date YYYY-MM-DD (default: today in the rules' time zone)")]

#: Documented error responses for the OpenAPI document.
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"description": text, "content": {"application/json": {"model": ErrorResponse}}}
    for code, text in {
        400: "Bad input (validation_error, unknown_action, unknown_reward)",
        422: "Idempotency-Key reused for a different request",
        429: "Daily limit or cap reached",
        503: "Contention; retry with the same Idempotency-Key",
    }.items()
}
# Without an Authorization header the gateway itself answers 401 in its own shape; with an
# unknown key the function answers 401 in the API's envelope.
ERRORS[401] = {
    "description": "Invalid API key (error envelope), or no Authorization header (the gateway's own message)",
    "content": {"application/json": {"model": Union[ErrorResponse, GatewayError]}},  # noqa: UP007
}


def responses(model: type[Any], description: str = "Success") -> dict[int | str, dict[str, Any]]:
    """OpenAPI responses of a route: its 200 body ``model`` and the documented errors.

    Powertools documents the return annotation only when a route passes no ``responses``, so
    a route that lists its errors must list its 200 too, or the document has no success body.
    """
    return {200: {"description": description, "content": {"application/json": {"model": model}}}, **ERRORS}


def _error(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(status, content_types.APPLICATION_JSON, json.dumps(body), headers=headers)


def _malformed_body() -> dict[str, Any]:
    """The 400 for a body that is not UTF-8 text (a payload 2.0 result, before routing)."""
    problem = {"field": "body", "message": "Malformed JSON body (not UTF-8 text)", "type": "json_invalid"}
    body = {"error": {"code": "validation_error", "message": "body: Malformed JSON body (not UTF-8 text)", "errors": [problem]}}
    return {
        "statusCode": 400,
        "headers": {"Content-Type": content_types.APPLICATION_JSON},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


def build_app() -> APIGatewayHttpResolver:
    """A resolver that validates requests and maps every error to the v1 envelope."""
    app = APIGatewayHttpResolver(enable_validation=True)

    @app.exception_handler(GamificationError)
    def _domain(exc: GamificationError) -> Response:
        headers = {}
        if isinstance(exc, LimitReached):
            headers["Retry-After"] = str(exc.retry_after)
        if isinstance(exc, Unauthenticated):
            headers["WWW-Authenticate"] = "Bearer"
        if exc.status >= 500:
            logger.warning("request failed", extra={"code": exc.code})
        return _error(exc.status, exc.body(), headers)

    @app.exception_handler(RequestValidationError)
    def _invalid(exc: RequestValidationError) -> Response:
        problems = [
            {"field": "body", "message": "Malformed JSON body", "type": e["type"]}
            if e["type"] == "json_invalid"
            else {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"], "type": e["type"]}
            for e in exc.errors()
        ]
        first = problems[0] if problems else {"field": "request", "message": "invalid"}
        message = f"{first['field']}: {first['message']}"
        return _error(400, {"error": {"code": "validation_error", "message": message, "errors": problems}})

    @app.not_found
    def _missing(exc: Exception) -> Response:
        return _error(404, NotFound("No such route").body())

    return app


def tenant_of(app: APIGatewayHttpResolver) -> str:
    """The tenant the authorizer resolved for this request. Raises Unauthenticated (401)."""
    context = app.current_event.request_context.authorizer.get_lambda or {}
    tenant = context.get("tenant_id")
    if not tenant:
        raise Unauthenticated("Missing or invalid API key (Authorization: Bearer <key>)")
    return str(tenant)


def respond(outcome: Outcome) -> Response:
    """A 200 JSON response; replays carry ``Idempotent-Replayed: true``."""
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
    return Response(200, content_types.APPLICATION_JSON, outcome.body, headers=headers)


def entrypoint(app: APIGatewayHttpResolver) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The Lambda handler for ``app`` with structured logs, tracing and flushed metrics."""

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
    @tracer.capture_lambda_handler
    @metrics.log_metrics
    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        if event.get("body") and event.get("isBase64Encoded"):
            # The gateway base64-encodes a body that is not UTF-8 text; such a body cannot be
            # JSON, and Powertools would fail decoding it (a 500), so refuse it here.
            try:
                event["body"] = base64.b64decode(event["body"], validate=True).decode("utf-8")
                event["isBase64Encoded"] = False
            except (binascii.Error, UnicodeDecodeError):
                return _malformed_body()
        if event.get("body"):
            # API v1 takes JSON only; read the body as JSON whatever the client declared
            # (curl -d sends a form content type, which the resolver would parse as a form).
            event["headers"] = {**(event.get("headers") or {}), "content-type": "application/json"}
        return app.resolve(event, context)

    return lambda_handler
