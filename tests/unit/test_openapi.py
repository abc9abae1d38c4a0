"""The merged OpenAPI document (tools/openapi.py) describes every route of template.yaml,
including its success body: fuzzing and client generators rely on it."""

from __future__ import annotations

import pytest

from tools import openapi, template


@pytest.fixture(scope="module")
def document():
    return openapi.merged_document()


def test_every_http_route_of_the_template_is_documented(document):
    routes = {(r.method.lower(), r.path) for fn in template.functions("t").values() for r in fn.routes}
    documented = {(m, p) for p, item in document["paths"].items() for m in item}
    assert routes == documented


def test_every_operation_documents_its_200_body_and_the_error_envelope(document):
    for path, item in document["paths"].items():
        for method, op in item.items():
            ok = op["responses"].get("200")
            assert ok, f"{method.upper()} {path} has no documented 200 response"
            assert ok["content"]["application/json"]["schema"]["$ref"].startswith("#/components/schemas/")
            for code in ("400", "401"):
                assert op["responses"][code]["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/ErrorResponse"
                }
