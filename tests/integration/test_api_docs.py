"""API docs a newcomer can use: Swagger UI at /docs (offline assets), and the merged OpenAPI
document stating exactly what the engine accepts, proven by schemathesis with every check
against the local stack (positive cases accepted, negative ones refused, every response
documented)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timezone

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

from tools.local import lambdas, openapi, swagger

lambdas.use_layer()
from gamification.api.models import DATE_PATTERN, IDEMPOTENCY_KEY_PATTERN, RFC3339_PATTERN, Metadata  # noqa: E402
from pydantic import TypeAdapter, ValidationError  # noqa: E402


def test_docs_page_loads_its_assets_from_the_local_server_only(base_url):
    page = requests.get(base_url + "/docs", timeout=30)
    if not swagger.installed():
        assert page.status_code == 503 and "make swagger-ui" in page.text
        pytest.skip("swagger-ui-dist not installed (make swagger-ui needs npm)")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "http://" not in page.text and "https://" not in page.text  # no CDN
    assert '"/openapi.json"' in page.text
    for asset in swagger.ASSETS:
        assert f"/docs/{asset}" in page.text
        got = requests.get(f"{base_url}/docs/{asset}", timeout=30)
        assert got.status_code == 200 and got.content == (swagger.DIST / asset).read_bytes()
    # only the page's own assets are served from the package, nothing else of the disk
    assert requests.get(base_url + "/docs/package.json", timeout=30).status_code != 200


def test_the_served_document_is_the_one_for_the_loaded_rules(base_url):
    served = requests.get(base_url + "/openapi.json", timeout=30).json()
    assert served == openapi.merged_document()
    board = served["paths"]["/v1/leaderboards/{board}"]["get"]["parameters"][0]
    assert board["name"] == "board" and board["schema"]["enum"] == ["xp"]


# --- schemathesis, every check -------------------------------------------------------------
_DATE, _TIME, _KEY = (re.compile(p) for p in (DATE_PATTERN, RFC3339_PATTERN, IDEMPOTENCY_KEY_PATTERN))
#: Generated cases per operation and mode (positive, negative): bounded, a few hundred in all.
CASES = 6


def map_query(ctx, query):
    # The usage of a day is kept for max_event_age + 7 days: a window around today that no
    # static schema can state (docs/api.md). Cases for the limits read today.
    if query and _DATE.match(str(query.get("date"))) and ctx.operation.path.endswith("/limits"):
        query["date"] = datetime.now(timezone.utc).date().isoformat()
    # ``around`` needs ``user_id`` (documented on the parameter; OpenAPI cannot state a
    # dependency between two query parameters): a case with one and not the other names one.
    if query and query.get("around") is not None and not query.get("user_id"):
        query["user_id"] = "alice"
    return query


def map_headers(ctx, headers):
    # One Idempotency-Key per logical request: a generator that repeats a key with another
    # body gets 422 idempotency_key_reused, as documented. Each case gets its own.
    keys = [k for k, v in (headers or {}).items() if k.lower() == "idempotency-key" and _KEY.match(str(v))]
    if keys:
        headers = {k: v for k, v in headers.items() if k not in keys}
        headers["Idempotency-Key"] = uuid.uuid4().hex
    return headers


def map_body(ctx, body):
    # An event's occurred_at must lie within max_event_age of now (docs/api.md): relative
    # to the clock, so cases that send one send now.
    if isinstance(body, dict) and _TIME.match(str(body.get("occurred_at"))):
        body["occurred_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return body


# Positive cases only: what a schema-valid request cannot know.
def without_cursor(ctx, query):
    # A cursor is opaque: only a next_cursor the route returned is one (any other is 400,
    # as documented). A positive case cannot forge one, so it reads the first page.
    if query:
        query.pop("cursor", None)
    return map_query(ctx, query)


def within_metadata_totals(ctx, body):
    # metadata's two totals (2 KB, 64 keys in all) are described, not stated (no JSON Schema
    # keyword counts across levels): a case past them sends no metadata.
    body = map_body(ctx, body)
    # A webhook's host must resolve, to public addresses only (docs/security.md, "Webhook
    # egress"): DNS, not the schema, decides. A case registers a loopback receiver instead,
    # which the local stack allows.
    if isinstance(body, dict) and ctx.operation.path == "/v1/webhooks" and isinstance(body.get("url"), str):
        body["url"] = "http://127.0.0.1:9/hook"
    if isinstance(body, dict) and body.get("metadata") is not None:
        try:
            TypeAdapter(Metadata).validate_python(body["metadata"])
        except ValidationError:
            body["metadata"] = None
    return body


@pytest.fixture
def api_schema(request):
    positive = request.node.callspec.params["mode"] == "positive"
    schema = schemathesis.openapi.from_dict(openapi.merged_document())
    schema.hook("map_query")(without_cursor if positive else map_query)
    schema.hook("map_body")(within_metadata_totals if positive else map_body)
    schema.hook(map_headers)
    # A body over 16 KB is refused before it is read: 413 rejects a negative case too.
    rejection = schema.config.checks.negative_data_rejection
    rejection.expected_statuses = [*rejection.expected_statuses, "413"]
    return schema


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_schemathesis_every_check_passes_against_the_local_stack(api_schema, base_url, tenant, mode):
    """``schemathesis run --checks all`` in small: every built-in check (not a server error,
    status codes, content types, headers and bodies as documented, schema-valid requests
    accepted, invalid ones refused) on generated cases of every operation."""
    from schemathesis.generation import GenerationMode

    session = requests.Session()
    auth = {"Authorization": f"Bearer {tenant.api_key}"}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 6
    failures: list[str] = []
    ran = 0
    for op in operations:

        @settings(max_examples=CASES, deadline=None, database=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(case=op.as_strategy(generation_mode=GenerationMode(mode)))
        def one(case):
            nonlocal ran
            ran += 1
            try:
                case.call_and_validate(base_url=base_url, session=session, headers=auth, timeout=60)  # not the 10 s default: a cold environment on a loaded machine
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collected, reported together
                failures.append(f"{op.label}: {exc}"[:1500])

        one()
    assert ran >= len(operations)
    assert not failures, f"{len(failures)} of {ran} cases failed:\n" + "\n".join(failures[:5])


@pytest.mark.parametrize("method", ["TRACE", "PATCH", "DELETE", "PUT", "OPTIONS"])
def test_every_documented_path_answers_other_methods_405_in_the_envelope(base_url, tenant, method):
    """What schemathesis' coverage phase probes: a method the document does not list."""
    document = openapi.merged_document()
    for path, item in document["paths"].items():
        if method.lower() in item:
            continue
        concrete = path.replace("{user_id}", "alice").replace("{board}", "xp")
        got = requests.request(method, base_url + concrete, headers={"Authorization": f"Bearer {tenant.api_key}"}, timeout=30)
        assert got.status_code == 405, (method, path, got.status_code)
        assert got.json()["error"]["code"] == "method_not_allowed"
        assert set(got.headers["allow"].replace(" ", "").split(",")) == {m.upper() for m in item}
        assert "405" in next(iter(item.values()))["responses"]
