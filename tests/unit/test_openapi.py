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


def test_every_write_documents_the_idempotency_key_header_as_the_award_routes_do(document):
    """docs/api.md: every write accepts an Idempotency-Key of 1 to 255 visible ASCII
    characters; the document states it with the award routes' pattern on each."""
    award = next(p for p in document["paths"]["/v1/users/{user_id}/xp"]["post"]["parameters"] if p["in"] == "header")
    for path, item in document["paths"].items():
        for method, op in item.items():
            if method not in ("post", "put", "delete", "patch"):
                continue
            headers = [p for p in op.get("parameters", []) if p["in"] == "header"]
            assert [h["name"] for h in headers] == ["idempotency-key"], f"{method.upper()} {path}"
            assert headers[0]["schema"]["anyOf"] == award["schema"]["anyOf"] and headers[0]["description"], f"{method.upper()} {path}"


def test_the_gateway_answer_without_authorization_matches_the_documented_401(document, base_url):
    import jsonschema
    import requests

    body = requests.get(base_url + "/v1/levels", timeout=30).json()
    schema = {**document["paths"]["/v1/levels"]["get"]["responses"]["401"]["content"]["application/json"]["schema"],
              "components": document["components"]}
    jsonschema.validate(body, schema)


# --- API docs: the committed document, rules-derived enums, errors per route ---------------


def test_the_committed_openapi_json_is_in_step_with_the_code():
    """docs/openapi.json is the document for the bundled rules; `make openapi` rewrites it."""
    from gamification.domain.rules import load_rules

    fresh = openapi.render(openapi.merged_document(rules=load_rules(None)))
    assert openapi.COMMITTED.read_text() == fresh, "docs/openapi.json is stale: run `make openapi`"


def test_names_come_from_the_rules_and_bodies_follow_each_name(document):
    from gamification.domain.rules import load_rules, parse_rules

    from tests.signed_rules import SIGNED_RULES  # a rules file with variable (min/max) actions

    signed = parse_rules(SIGNED_RULES)

    rules = load_rules(None)
    xp = document["components"]["schemas"]["AwardXpRequest"]
    assert xp["properties"]["action"]["enum"] == sorted(rules.actions)
    assert "amount" not in xp["properties"]  # every bundled action is fixed: amount is refused
    coins = {b["properties"]["reason"]["const"]: b for b in document["components"]["schemas"]["AwardCoinsRequest"]["oneOf"]}
    assert set(coins) == set(rules.coins.rewards)
    assert coins["daily_goal"]["required"] == ["reason", "tier"] and "scope" not in coins["daily_goal"]["properties"]
    assert coins["variant_clear"]["required"] == ["reason", "scope"] and "tier" not in coins["variant_clear"]["properties"]

    other = openapi.merged_document(rules=signed)
    branches = other["components"]["schemas"]["AwardXpRequest"]["oneOf"]
    variable = {b["properties"]["action"]["const"]: b for b in branches if "const" in b["properties"]["action"]}
    assert variable, "a variable action gets its own branch"
    for name, branch in variable.items():
        action = signed.actions[name]
        assert branch["required"] == ["action", "amount"]
        assert (branch["properties"]["amount"]["minimum"], branch["properties"]["amount"]["maximum"]) == (action.min, action.max)


def test_every_operation_has_a_description_and_the_shared_errors(document):
    for path, item in document["paths"].items():
        for method, op in item.items():
            assert op.get("description"), f"{method.upper()} {path} has no description"
            for code in ("400", "401", "404", "405", "503"):
                assert code in op["responses"], f"{method.upper()} {path} does not document {code}"
            if "requestBody" in op:
                assert {"413", "422"} <= set(op["responses"])
