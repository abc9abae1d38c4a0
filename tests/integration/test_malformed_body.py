"""Bodies that are not UTF-8 text (found by schema-driven fuzzing: they were a 500), or not
JSON: a 400 whose message says which."""

from __future__ import annotations

import json

import pytest


@pytest.mark.parametrize("path", ["/v1/users/zoe/xp", "/v1/users/zoe/coins"])
@pytest.mark.parametrize("raw", [b"\xe9", b"\xff\xfe\x00R\xd5\x94OYG", b'{"action": "forked\xff"}'])
def test_a_body_that_is_not_utf8_is_a_400_and_writes_nothing(local_api, tenant, dynamo, path, raw):
    headers = [("authorization", f"Bearer {tenant.api_key}"), ("content-type", "application/json")]
    status, _, body = local_api.handle("POST", path, headers, raw)
    assert status == 400, body
    error = json.loads(body)["error"]
    assert error["code"] == "validation_error" and error["message"] == "Malformed JSON body: not UTF-8", error
    assert [i for i in dynamo.items(tenant.id) if "#U#" in i["pk"]] == []


@pytest.mark.parametrize(
    "raw, where",
    [(b"{bad json", "line 1 column 2"), (b'{"action": "forked",}', "line 1 column 21"), (b"{", "line 1 column 2"),
     (b'{"action": "forked"} trailing', "line 1 column 22"), ("{\"action\": \"é\"".encode(), "line 1 column 15"),
     (b'{"a": ' + b"[" * 5000 + b"]" * 5000 + b"}", "nested too deeply"), (b'{"xp": ' + b"1" * 5000 + b"}", "too long")],
)  # fmt: skip
def test_a_body_that_is_not_json_says_so_and_writes_nothing(local_api, tenant, dynamo, raw, where):
    headers = [("authorization", f"Bearer {tenant.api_key}"), ("content-type", "application/json")]
    status, _, body = local_api.handle("POST", "/v1/users/zoe/xp", headers, raw)
    assert status == 400, body
    error = json.loads(body)["error"]
    assert error["code"] == "validation_error" and error["field"] == "body"
    assert error["message"].startswith("Malformed JSON body: not valid JSON (") and where in error["message"], error
    assert "UTF-8" not in error["message"]
    assert [i for i in dynamo.items(tenant.id) if "#U#" in i["pk"]] == []


def test_a_utf8_body_still_works(local_api, tenant):
    headers = [("authorization", f"Bearer {tenant.api_key}"), ("content-type", "application/json")]
    status, _, body = local_api.handle("POST", "/v1/users/zoe/xp", headers, '{"action": "forked", "metadata": {"n": "é"}}'.encode())
    assert status == 200, body
