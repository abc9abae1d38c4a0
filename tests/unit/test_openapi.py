"""The merged OpenAPI document (tools/local/openapi.py) describes every route of template.yaml,
including its success body: fuzzing and client generators rely on it."""

from __future__ import annotations

import pytest

from tools.local import openapi, template


@pytest.fixture(scope="module")
def document():
    return openapi.merged_document()


def test_every_http_route_of_the_template_is_documented(document):
    routes = {(r.method.lower(), r.path) for fn in template.functions("t").values() for r in fn.routes if not r.is_default}
    documented = {(m, p) for p, item in document["paths"].items() for m in item}
    assert routes == documented


def test_every_operation_documents_its_200_body_and_the_error_envelope(document):
    for path, item in document["paths"].items():
        for method, op in item.items():
            ok = op["responses"].get("200")
            assert ok, f"{method.upper()} {path} has no documented 200 response"
            assert ok["content"]["application/json"]["schema"]["$ref"].startswith("#/components/schemas/")
            for code in ("400", "429"):
                assert op["responses"][code]["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/ErrorResponse"
                }
            # 401 comes from the function (envelope) or, without Authorization, from the gateway
            unauthorized = op["responses"]["401"]["content"]["application/json"]["schema"]["anyOf"]
            assert {"$ref": "#/components/schemas/ErrorResponse"} in unauthorized
            assert {"$ref": "#/components/schemas/GatewayError"} in unauthorized


def test_the_gateway_answer_without_authorization_matches_the_documented_401(document, base_url):
    import jsonschema
    import requests

    body = requests.get(base_url + "/v1/levels", timeout=30).json()
    schema = {**document["paths"]["/v1/levels"]["get"]["responses"]["401"]["content"]["application/json"]["schema"],
              "components": document["components"]}
    jsonschema.validate(body, schema)
