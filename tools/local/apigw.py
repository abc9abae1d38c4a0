"""A local API Gateway HTTP API (payload 2.0) in front of the template's functions.

It does what the managed service does for this template: matches a route, runs the
default Lambda authorizer (REQUEST, simple responses) unless the Authorization header is
missing (401), builds the v2 event with ``requestContext.authorizer.lambda``, invokes the
function in one of its execution environments (a process each, tools/local/lambdas.py), and turns its result into the HTTP response. Errors the gateway itself
produces keep the service's bare shape (``{"message": "Not Found"}``).
"""

from __future__ import annotations

import base64
import json
import os
import sys
import time
import traceback
import uuid
from collections.abc import Mapping
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tools.local import lambdas, swagger, template

MAX_BODY = 6 * 1024 * 1024  # Lambda's synchronous payload limit
API_ID = "local"
#: Where the local server serves the merged OpenAPI document (no authorizer).
OPENAPI_PATH = "/openapi.json"
ACCOUNT = "000000000000"


def _headers(raw: Mapping[str, str] | list[tuple[str, str]]) -> dict[str, str]:
    items = raw.items() if isinstance(raw, Mapping) else raw
    out: dict[str, str] = {}
    for k, v in items:
        k = k.lower()
        out[k] = f"{out[k]},{v}" if k in out else v
    return out


def request_context(method: str, raw_path: str, route_key: str, headers: dict[str, str], source_ip: str) -> dict:
    now = datetime.now(timezone.utc)
    return {
        "accountId": ACCOUNT,
        "apiId": API_ID,
        "domainName": headers.get("host", "localhost"),
        "domainPrefix": "localhost",
        "http": {
            "method": method,
            "path": raw_path,
            "protocol": "HTTP/1.1",
            "sourceIp": source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": uuid.uuid4().hex[:16],
        "routeKey": route_key,
        "stage": "$default",
        "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(now.timestamp() * 1000),
    }


def http_event(
    method: str,
    target: str,
    headers: Mapping[str, str] | list[tuple[str, str]],
    body: bytes | str | None,
    route: template.Route,
    path_parameters: dict[str, str],
    authorizer_context: dict[str, Any] | None = None,
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """An API Gateway HTTP API payload 2.0 event, as the service sends it to a function."""
    url = urlsplit(target)
    hdrs = _headers(headers)
    query: dict[str, str] = {}
    for k, v in parse_qsl(url.query, keep_blank_values=True):
        query[k] = f"{query[k]},{v}" if k in query else v
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": url.path,
        "rawQueryString": url.query,
        "headers": hdrs,
        "requestContext": request_context(method, url.path, route.route_key, hdrs, source_ip),
        "isBase64Encoded": False,
    }
    if "cookie" in hdrs:
        event["cookies"] = [c.strip() for c in hdrs["cookie"].split(";")]
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = path_parameters
    if body:
        if isinstance(body, bytes):
            try:
                event["body"] = body.decode("utf-8")
            except UnicodeDecodeError:
                event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
        else:
            event["body"] = body
    if authorizer_context is not None:
        event["requestContext"]["authorizer"] = {"lambda": authorizer_context}
    return event


def authorizer_event(event: dict[str, Any], identity: list[str]) -> dict[str, Any]:
    """The REQUEST authorizer event (payload 2.0) for an incoming request event."""
    ctx = event["requestContext"]
    method, path = ctx["http"]["method"], ctx["http"]["path"]
    return {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": f"arn:aws:execute-api:us-east-1:{ACCOUNT}:{API_ID}/$default/{method}{path}",
        "identitySource": identity,
        "routeKey": event["routeKey"],
        "rawPath": event["rawPath"],
        "rawQueryString": event["rawQueryString"],
        "headers": event["headers"],
        "queryStringParameters": event.get("queryStringParameters", {}),
        "pathParameters": event.get("pathParameters", {}),
        "requestContext": ctx,
    }


class LocalHttpApi:
    """The template's HTTP API, in-process: ``handle()`` takes a request, returns
    ``(status, headers, body)``."""

    def __init__(self, table_name: str, isolation: str = "process") -> None:
        os.environ.setdefault("GAMIFICATION_ALLOW_LOOPBACK_EGRESS", "true")  # local webhook receivers
        self.functions = template.functions(table_name)
        for fn in self.functions.values():
            template.apply_environment(fn.environment)
        # One pool of execution environments per function, each environment a process of its
        # own ("process"): no two requests ever share module or class state, as in Lambda.
        # "in-process" keeps them in this process (benchmark meters only; see lambdas.py).
        self.isolation = isolation
        pool = lambdas.Containers if isolation == "process" else lambdas.InProcessContainers
        self.containers = {lid: pool(fn) for lid, fn in self.functions.items()}
        self.authorizer = template.authorizer_function()
        self._openapi_body: bytes | None = None

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        """Run one function of the template with ``event`` (as Lambda would, see Containers).
        Raises :class:`lambdas.FunctionError` when the function does."""
        return self.containers[logical_id].invoke(event)

    def control(self, op: str, *args: Any, functions: list[str] | None = None, sticky: str | None = None) -> list[Any]:
        """Send a control message (tools/local/worker.py) to every environment of
        ``functions`` (default: all); returns each environment's answer."""
        if self.isolation != "process":
            from tools.local import worker

            return [worker.apply_control(op, args)]
        # Every idle environment of every function gets the message first, then the answers
        # are collected: one round trip in all rather than one per environment.
        pools = [p for lid, p in self.containers.items() if functions is None or lid in functions]
        pending = [pool.begin_control(op, *args, sticky=sticky) for pool in pools]
        out: list[Any] = []
        errors: list[Exception] = []
        for pool, sent in zip(pools, pending):
            try:
                out += pool.finish_control(sent)
            except lambdas.FunctionError as exc:
                errors.append(exc)
        if errors:
            raise errors[0]
        return out

    def unstick(self, key: str) -> None:
        """Environments started from now on no longer receive the sticky control ``key``."""
        for pool in self.containers.values():
            pool.unstick(key)

    def close(self) -> None:
        """Stop every environment."""
        for pool in self.containers.values():
            pool.close()

    def _openapi(self) -> tuple[int, dict[str, str], bytes]:
        """The merged OpenAPI document of the API (local convenience; not a deployed route)."""
        from tools.local import openapi

        if self._openapi_body is None:
            self._openapi_body = json.dumps(openapi.merged_document()).encode()
        return 200, {"content-type": "application/json"}, self._openapi_body

    def route(self, method: str, path: str) -> tuple[str, template.Route, dict[str, str]] | None:
        """The function, route and path parameters serving ``method path``: an explicit
        route first, else the ``$default`` route, else None (the gateway's own 404)."""
        candidates = [(lid, r) for lid, fn in self.functions.items() for r in fn.routes]
        for lid, route in sorted(candidates, key=lambda c: c[1].is_default):
            params = route.match(method, path)
            if params is not None:
                return lid, route, params
        return None

    def handle(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes, source_ip: str = "127.0.0.1"
    ) -> tuple[int, dict[str, str], bytes]:
        """``(status, headers, body)`` of one request, as the HTTP API answers it. Whatever
        fails behind the gateway (the authorizer, the function, the local OpenAPI document)
        is API Gateway's own 500 ``{"message": "Internal Server Error"}``."""
        try:
            return self._handle(method, target, headers, body, source_ip)
        except Exception:  # noqa: BLE001 - the integration failed; the service answers 500
            traceback.print_exc()
            return _gateway(500, "Internal Server Error")

    def _handle(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes, source_ip: str
    ) -> tuple[int, dict[str, str], bytes]:
        path = urlsplit(target).path
        if method == "GET" and path == OPENAPI_PATH:
            return self._openapi()
        if method == "GET" and (page := swagger.serve(path)) is not None:  # Swagger UI at /docs
            return page
        found = self.route(method, path)
        if found is None:
            return _gateway(404, "Not Found")
        logical_id, route, params = found
        event = http_event(method, target, headers, body, route, params, source_ip=source_ip)
        if self.authorizer:
            identity = event["headers"].get("authorization")
            if not identity:
                return _gateway(401, "Unauthorized")
            decision = self.invoke(self.authorizer, authorizer_event(event, [identity]))
            if not decision.get("isAuthorized"):
                return _gateway(403, "Forbidden")
            event["requestContext"]["authorizer"] = {"lambda": decision.get("context", {})}
        return _to_http(self.invoke(logical_id, event))


def _gateway(status: int, message: str) -> tuple[int, dict[str, str], bytes]:
    return status, {"content-type": "application/json"}, json.dumps({"message": message}).encode()


def _to_http(result: Any) -> tuple[int, dict[str, str], bytes]:
    """Map a function result to HTTP as payload 2.0 does (a dict without ``statusCode`` is a
    200 JSON body)."""
    if not isinstance(result, dict) or "statusCode" not in result:
        return 200, {"content-type": "application/json"}, json.dumps(result).encode()
    headers = {k.lower(): str(v) for k, v in (result.get("headers") or {}).items()}
    for k, values in (result.get("multiValueHeaders") or {}).items():
        headers[k.lower()] = ",".join(map(str, values))
    body = result.get("body") or ""
    raw = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    return int(result["statusCode"]), headers, raw


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    api: LocalHttpApi
    quiet = False

    def _serve(self) -> None:
        started = time.perf_counter()
        try:
            length = int(self.headers.get("content-length") or 0)
        except ValueError:
            length = -1
        if self.headers.get("transfer-encoding") or length < 0:
            # like the managed service: a body needs a valid Content-Length here
            status, headers, body = _gateway(400, "Bad Request")
            self.close_connection = True
        elif length > MAX_BODY:
            status, headers, body = _gateway(413, "Request Entity Too Large")
            self.close_connection = True
        else:
            raw = self.rfile.read(length) if length else b""
            status, headers, body = self.api.handle(
                self.command, self.path, list(self.headers.items()), raw, self.client_address[0]
            )
        self.send_response(status)
        for k, v in headers.items():
            if k not in ("content-length", "connection"):
                self.send_header(k, v)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        if not self.quiet:
            ms = (time.perf_counter() - started) * 1000
            sys.stderr.write(f"{self.command} {self.path} -> {status} ({ms:.1f} ms)\n")

    # Every method reaches the API (the $default route answers the ones no route serves),
    # not the stdlib's 501 HTML page.
    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_TRACE = do_CONNECT = _serve

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass


def make_server(api: LocalHttpApi, host: str = "127.0.0.1", port: int = 3000, quiet: bool = False) -> ThreadingHTTPServer:
    """A threaded HTTP server for ``api`` (port 0 picks a free port)."""
    handler = type("Handler", (_RequestHandler,), {"api": api, "quiet": quiet})
    # A listen backlog like a real front end's: socketserver's default of 5 resets
    # connections when a burst of concurrent requests (the race tests) meets a busy CPU.
    server_class = type("Server", (ThreadingHTTPServer,), {"request_queue_size": 128})
    server = server_class((host, port), handler)
    server.daemon_threads = True
    return server
