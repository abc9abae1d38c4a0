"""Bodies that are not UTF-8 text (found by schema-driven fuzzing: they were a 500)."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("path", ["/v1/users/zoe/xp", "/v1/users/zoe/coins"])
@pytest.mark.parametrize("raw", [b"\xe9", b"\xff\xfe\x00R\xd5\x94OYG", b'{"action": "forked\xff"}'])
def test_a_body_that_is_not_utf8_is_a_400_and_writes_nothing(local_api, tenant, dynamo, path, raw):
    headers = [("authorization", f"Bearer {tenant.api_key}"), ("content-type", "application/json")]
    status, _, body = local_api.handle("POST", path, headers, raw)
    assert status == 400, body
    assert b'"validation_error"' in body
    assert [i for i in dynamo.items(tenant.id) if "#U#" in i["pk"]] == []


def test_a_utf8_body_still_works(local_api, tenant):
    headers = [("authorization", f"Bearer {tenant.api_key}"), ("content-type", "application/json")]
    status, _, body = local_api.handle("POST", "/v1/users/zoe/xp", headers, '{"action": "forked", "metadata": {"n": "é"}}'.encode())
    assert status == 200, body
