"""HTTP glue shared by every API function: the Powertools resolver with request validation
and OpenAPI, error mapping to the v1 envelope (once, here), path/header parameter types, and
the Lambda entry point with logging, tracing and metrics."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Union
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from pydantic import BeforeValidator, Field

from gamification.api.models import DATE_PATTERN, ID_PATTERN, IDEMPOTENCY_KEY_PATTERN, ErrorResponse, GatewayError
from gamification.domain.errors import (
    Contention,
    GamificationError,
    LimitReached,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    Unauthenticated,
    ValidationFailed,
)
from gamification.observability import logger, metrics, tracer
from gamification.usecases.outcome import Outcome

UserIdPath = Annotated[str, Path(pattern=ID_PATTERN, description="1-128 of A-Z a-z 0-9 _ . : @ -")]
IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="idempotency-key",
        pattern=IDEMPOTENCY_KEY_PATTERN,
        description="Retries with the same key have their effect once and replay the first response.",
    ),
]
#: The header on a write that every call must run in full (``DELETE /v1/users/{id}``: an
#: erasure is finished by calling again): validated as on every write, never replayed.
IdempotencyKeyAccepted = Annotated[
    str | None,
    Header(
        alias="idempotency-key",
        pattern=IDEMPOTENCY_KEY_PATTERN,
        description="Validated like every write's key, but not replayed: each call runs (or finishes) the erasure.",
    ),
]
DateQuery = Annotated[str | None, Query(alias="date", pattern=DATE_PATTERN, description="Local date YYYY-MM-DD, years 2000-2999 (default: today in the rules' time zone)", examples=["2026-11-21"])]


def _decimal(value: Any) -> Any:
    # int() takes "5_0", " 5" and "+5"; a query's number is decimal digits only.
    if isinstance(value, str) and not _DIGITS.fullmatch(value):
        raise ValueError("must be a whole number written in decimal digits")
    return value


def _true_or_false(value: Any) -> Any:
    # pydantic takes "yes", "on", "1", "t" for true; a query's flag is true or false.
    if isinstance(value, str) and value not in ("true", "false"):
        raise ValueError("must be true or false")
    return value


_DIGITS = re.compile(r"-?[0-9]+")


def query_int(ge: int, le: int) -> Any:
    """The type of a query number in ``ge``..``le`` (``Annotated[query_int(1, 100), Query()]``):
    decimal digits only (``?limit=50``; not ``5_0``, ``+5`` or ``5.0``, which ``int()`` or
    pydantic would take). The bounds sit on the type, not on ``Query``, so the OpenAPI
    document states them as ``minimum``/``maximum``."""
    return Annotated[int, Field(ge=ge, le=le), BeforeValidator(_decimal)]


#: The type of a query flag: ``true`` or ``false`` only (pydantic would take ``yes``, ``1``...).
QueryFlag = Annotated[bool, BeforeValidator(_true_or_false)]


def query_date(value: str | None) -> date | None:
    """The ``date`` query parameter (already shaped ``YYYY-MM-DD`` by :data:`DateQuery`) as a
    local date; None when absent. Raises ValidationFailed (400) for a day that does not exist
    (``2026-02-30``)."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(f"query.date: not a calendar date: {value}", field="date") from None

#: Documented error responses for the OpenAPI document.
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"description": text, "content": {"application/json": {"model": ErrorResponse}}}
    for code, text in {
        400: "Bad input (validation_error, unknown_action, unknown_reward)",
        413: "Request body over 16 KB (payload_too_large)",
        422: "Idempotency-Key reused for a different request",
        429: "Daily limit or cap reached, or the tenant's request limit (rate_limited; Retry-After)",
        503: "Contention; retry with the same Idempotency-Key",
    }.items()
}
# Without an Authorization header the gateway itself answers 401 in its own shape; with an
# unknown key the function answers 401 in the API's envelope.
ERRORS[401] = {
    "description": "Invalid API key (error envelope), or no Authorization header (the gateway's own message)",
    "content": {"application/json": {"model": Union[ErrorResponse, GatewayError]}},  # noqa: UP007
}


def responses(model: type[Any], description: str = "Success", **own: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI responses of a route: its 200 body ``model``, the shared errors and the
    route's own error statuses (``_409="why"``), each in the error envelope.

    Powertools documents the return annotation only when a route passes no ``responses``, so
    a route that lists its errors must list its 200 too, or the document has no success body.
    """
    out = {200: {"description": description, "content": {"application/json": {"model": model}}}, **ERRORS}
    for status, text in own.items():
        out[int(status.lstrip("_"))] = {"description": text, "content": {"application/json": {"model": ErrorResponse}}}
    return out


def _error(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(status, content_types.APPLICATION_JSON, json.dumps(body), headers=headers)


def build_app() -> APIGatewayHttpResolver:
    """A resolver that validates requests and maps every error to the v1 envelope."""
    app = APIGatewayHttpResolver(enable_validation=True)

    @app.exception_handler(GamificationError)
    def _domain(exc: GamificationError) -> Response:
        headers = {}
        if isinstance(exc, (LimitReached, Contention)) and exc.retry_after:
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
            else {"field": ".".join(str(p) for p in e["loc"]), "message": _problem_message(e), "type": e["type"]}
            for e in exc.errors()
        ]
        first = problems[0] if problems else {"field": "request", "message": "invalid"}
        message = f"{first['field']}: {first['message']}"
        return _error(400, {"error": {"code": "validation_error", "message": message, "errors": problems}})

    app.use(middlewares=[_known_query_parameters])

    @app.not_found
    def _missing(exc: Exception) -> Response:
        return _error(404, NotFound("No such route").body())

    return app


#: The shape a pattern stands for, said in words in error messages instead of the regex
#: (the date's is some 300 characters; the OpenAPI document keeps the patterns themselves).
PATTERN_SHAPES = {DATE_PATTERN: "a calendar date YYYY-MM-DD of the years 2000-2999"}


def _problem_message(error: Any) -> str:
    """The message of one validation problem: pydantic's, except for a pattern of
    :data:`PATTERN_SHAPES` (``must be a calendar date YYYY-MM-DD ...``)."""
    if error.get("type") == "string_pattern_mismatch":
        shape = PATTERN_SHAPES.get((error.get("ctx") or {}).get("pattern"))
        if shape:
            return f"must be {shape}"
    return str(error.get("msg"))


def _known_query_parameters(app: APIGatewayHttpResolver, next_middleware: Callable[..., Response]) -> Response:
    """400 ``validation_error`` for a query parameter the route does not declare (a typo
    such as ``?perod=daily`` must not be ignored silently)."""
    route = app.context.get("_route")
    given = (app.current_event.query_string_parameters or {}).keys()
    if route is not None and given:
        known = {param.alias for param in route.dependant.query_params}
        unknown = sorted(set(given) - known)
        if unknown:
            allowed = ", ".join(sorted(known)) or "none"
            raise ValidationFailed(f"query.{unknown[0]}: unknown query parameter (allowed: {allowed})", field=f"query.{unknown[0]}")
    return next_middleware(app)


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


_ID = re.compile(ID_PATTERN)

#: Largest request body accepted (bytes). Award bodies are tiny; metadata is at most 2 KB.
MAX_BODY_BYTES = 16 * 1024


def _proxy_error(error: GamificationError) -> dict[str, Any]:
    """An API Gateway proxy response for an error raised before routing."""
    headers = {"Content-Type": "application/json"}
    if isinstance(error, Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(error, LimitReached) and error.retry_after:
        headers["Retry-After"] = str(error.retry_after)
    return {"statusCode": error.status, "headers": headers, "body": json.dumps(error.body())}


def _decoded_path(raw_path: str) -> str:
    """Percent-decode path segments that decode to a valid id (``al%40ice`` -> ``al@ice``),
    so ids validate the same however a client encodes them; any other segment stays as
    sent and fails validation (400) rather than changing the route. One trailing slash goes:
    API Gateway routes ``/v1/levels/`` to ``GET /v1/levels`` with the slash in ``rawPath``,
    and the resolver would not match it."""
    if len(raw_path) > 1 and raw_path.endswith("/") and not raw_path.endswith("//"):
        raw_path = raw_path[:-1]
    return "/".join(
        decoded if "%" in part and _ID.match(decoded := unquote(part)) else part for part in raw_path.split("/")
    )


def _json_kind(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(type(value), "a number")


def _malformed(why: str) -> dict[str, Any]:
    """400 ``validation_error`` (field ``body``): ``Malformed JSON body: <why>``."""
    return _proxy_error(ValidationFailed(f"Malformed JSON body: {why}", field="body"))


def guard(event: dict[str, Any]) -> dict[str, Any] | None:
    """Checks every API request passes before routing; returns an error response or None.

    - no tenant from the authorizer -> 401 (before validation, so unauthenticated callers
      learn nothing about the schema);
    - a body over :data:`MAX_BODY_BYTES` -> 413 ``payload_too_large``;
    - a body that is not UTF-8 (message ``... not UTF-8``), not valid JSON (``... not valid
      JSON (<what> at line L column C)``; also nesting too deep to parse), or JSON that is
      not an object (an array, a string...) -> 400 ``validation_error``;
    - a DELETE with a body other than ``{}`` -> 400 ``validation_error`` (DELETE takes no
      body; fields it would ignore are refused, as unknown fields are on every route).

    Normalises the event in place: the body is read as JSON whatever content type the
    client declared (curl -d sends a form type), and path segments are percent-decoded.
    """
    context = ((event.get("requestContext") or {}).get("authorizer") or {}).get("lambda") or {}
    if not context.get("tenant_id"):
        return _proxy_error(Unauthenticated("Missing or invalid API key (Authorization: Bearer <key>)"))
    if event.get("rawPath"):
        event["rawPath"] = _decoded_path(event["rawPath"])
    body = event.get("body")
    if not body:
        return None
    try:
        raw = base64.b64decode(body, validate=True) if event.get("isBase64Encoded") else body.encode("utf-8")
    except (ValueError, UnicodeError):  # API Gateway's base64, or text with lone surrogates
        return _malformed("not valid base64" if event.get("isBase64Encoded") else "not UTF-8")
    if len(raw) > MAX_BODY_BYTES:
        return _proxy_error(PayloadTooLarge(f"Request body over {MAX_BODY_BYTES} bytes"))
    try:
        text = raw.decode("utf-8")
    except UnicodeError:
        return _malformed("not UTF-8")
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        return _malformed(f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})")
    except (ValueError, RecursionError):  # nesting past the parser; numbers past int's digit limit
        return _malformed("not valid JSON (nested too deeply or a number too long to parse)")
    if not isinstance(parsed, dict):
        return _proxy_error(ValidationFailed(f"body: must be a JSON object, not {_json_kind(parsed)}", field="body"))
    method = str(((event.get("requestContext") or {}).get("http") or {}).get("method", "")).upper()
    if parsed and method == "DELETE":
        return _proxy_error(ValidationFailed("body: DELETE takes no body (send none, or {})", field="body"))
    event["body"], event["isBase64Encoded"] = text, False
    event["headers"] = {**(event.get("headers") or {}), "content-type": "application/json"}
    return None


def unrouted(event: dict[str, Any]) -> dict[str, Any]:
    """The answer of the ``$default`` route (a request no route serves): 405
    ``method_not_allowed`` with ``Allow`` when the path is a route for other methods, else
    404 ``not_found``; both in the error envelope (:mod:`gamification.api.routes`)."""
    from gamification.api.routes import allowed_methods

    method = str((event.get("requestContext") or {}).get("http", {}).get("method", "")).upper()
    path = event.get("rawPath") or "/"
    allowed = allowed_methods(path)
    if not allowed:
        return _proxy_error(NotFound(f"No route for {method} {path}", method=method, path=path))
    response = _proxy_error(
        MethodNotAllowed(f"{method} is not allowed on {path}; use {', '.join(allowed)}", method=method, allow=allowed)
    )
    response["headers"]["Allow"] = ", ".join(allowed)
    return response


def entrypoint(app: APIGatewayHttpResolver) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The Lambda handler for ``app``: :func:`guard`, then the resolver, with structured
    logs, tracing and flushed metrics."""

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
    @tracer.capture_lambda_handler
    @metrics.log_metrics
    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return guard(event) or rate_guard(event) or app.resolve(event, context)

    return lambda_handler


# ---- security posture: per-tenant request limits -----------------------------------------


def rate_guard(event: dict[str, Any]) -> dict[str, Any] | None:
    """Count the request against its tenant's limit (one conditional ``UpdateItem``, see
    :mod:`gamification.usecases.throttle`); a 429 ``rate_limited`` response with
    ``Retry-After`` when the tenant's window is full, else None. Runs after :func:`guard`, so
    requests refused without any I/O (401, 413, malformed JSON) are not counted.

    The store is built here from the process's cached client (not :mod:`gamification.runtime`,
    which sits beside the HTTP glue in the import layers and may not be imported by it)."""
    from gamification.dal.store import Store, dynamodb_client
    from gamification.settings import get_settings
    from gamification.usecases.throttle import tenant_limit, throttle

    context = event["requestContext"]["authorizer"]["lambda"]
    settings = get_settings()
    limit, window = tenant_limit(context, settings.rate_limit, settings.rate_window_seconds)
    try:
        throttle(Store(dynamodb_client(), settings.table_name), str(context["tenant_id"]), limit, window)
    except GamificationError as exc:
        return _proxy_error(exc)
    return None
