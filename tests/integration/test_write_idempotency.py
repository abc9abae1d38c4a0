"""Idempotency-Key on the writes besides the awards (docs/api.md, "Idempotency-Key on the
other writes"): webhook registration and deletion, time zone, active badge, marking
notifications read, user erasure. The same header validation as the award routes on every
one; where a retry would otherwise report another result than the first, the first
response is replayed (``Idempotent-Replayed: true``), also after a crash past the commit
and under racing retries."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest

from gamification import runtime
from gamification.api.notification_models import CreateWebhookRequest
from gamification.usecases.webhooks import Webhooks
from tests.integration.test_award_xp import land_next_commit_then_raise

NOON = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)
#: The bad keys of the award routes' test (tests/integration/test_bad_input.py).
BAD_KEYS = ["", "has space", "x" * 256, "tab\tkey", "é-unicode"]


def send(api, method: str, path: str, body=None, key: str | bytes | None = None):
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Idempotency-Key"] = key.encode("utf-8") if isinstance(key, str) else key
    data = json.dumps(body) if body is not None else None
    return api.session.request(method, api.base + path, data=data, headers=headers, timeout=60)


def webhook_items(dynamo, tenant):
    """The tenant's endpoint items and its live-endpoint count."""
    items = dynamo.items(tenant.id)
    endpoints = [i for i in items if i["sk"].startswith("WH#")]
    count = next((int(i["n"]) for i in items if i["pk"].endswith("#WEBHOOKS") and i["sk"] == "COUNT"), 0)
    return endpoints, count


# ---- POST /v1/webhooks ---------------------------------------------------------------------


def test_three_retries_of_a_keyed_registration_create_one_endpoint_and_replay_its_secret(api, dynamo, tenant, receiver):
    body = {"url": receiver().url, "events": ["level.up"]}
    first, *retries = [api.post("/v1/webhooks", body, key="hook-1") for _ in range(3)]
    assert first.status_code == 200, first.text
    assert "Idempotent-Replayed" not in first.headers
    for r in retries:
        assert r.status_code == 200 and r.headers["Idempotent-Replayed"] == "true", r.text
        assert r.json() == first.json()  # the secret too: a client that lost the first answer needs it
    assert [w["id"] for w in api.get("/v1/webhooks").json()["webhooks"]] == [first.json()["id"]]
    endpoints, count = webhook_items(dynamo, tenant)
    assert len(endpoints) == 1 and count == 1
    # The record keeps the response without the secret (it stays on the endpoint, encrypted).
    assert first.json()["secret"] not in json.dumps([i for i in dynamo.items(tenant.id) if i["sk"] == "IDEM"], default=str)


def test_the_same_key_for_another_registration_is_422_and_writes_nothing(api, dynamo, tenant, receiver):
    url = receiver().url
    assert api.post("/v1/webhooks", {"url": url, "events": ["level.up"]}, key="hook-2").status_code == 200
    before = dynamo.items(tenant.id)
    for other in ({"url": url, "events": ["coins.spent"]}, {"url": url + "x", "events": ["level.up"]}):
        r = api.post("/v1/webhooks", other, key="hook-2")
        assert r.status_code == 422 and r.json()["error"]["code"] == "idempotency_key_reused", r.text
    # One key is one request across routes: an award with it is refused too.
    r = api.xp("u1", "forked", key="hook-2")
    assert r.status_code == 422 and r.json()["error"]["code"] == "idempotency_key_reused", r.text
    assert dynamo.items(tenant.id) == before


@pytest.mark.parametrize("key", BAD_KEYS)
def test_bad_idempotency_keys_on_a_registration_are_400_and_write_nothing(api, dynamo, tenant, receiver, key):
    r = send(api, "POST", "/v1/webhooks", {"url": receiver().url, "events": ["level.up"]}, key=key)
    assert r.status_code == 400 and r.json()["error"]["code"] == "validation_error", (key, r.text)
    assert dynamo.items(tenant.id) == []


@pytest.mark.parametrize("fault", ["timeout", "conflict"])
def test_a_registration_that_crashed_after_its_commit_is_replayed_once(
    api, dynamo, tenant, receiver, environments, tmp_path, fault
):
    """``timeout``: the function died after DynamoDB committed (500); the retry replays.
    ``conflict``: the commit landed but its answer was a refusal (an SDK re-send); the same
    request notices its own endpoint instead of answering 409 ``too_many_webhooks``."""
    body = {"url": receiver().url, "events": ["level.up"]}
    land_next_commit_then_raise(environments, tmp_path, fault)
    crashed = api.post("/v1/webhooks", body, key=f"hook-{fault}")
    if fault == "timeout":
        assert crashed.status_code == 500
        retried = api.post("/v1/webhooks", body, key=f"hook-{fault}")
        assert retried.status_code == 200 and retried.headers["Idempotent-Replayed"] == "true", retried.text
        assert retried.json()["secret"].startswith("whsec_")
    else:
        assert crashed.status_code == 200 and "Idempotent-Replayed" not in crashed.headers, crashed.text
    endpoints, count = webhook_items(dynamo, tenant)
    assert len(endpoints) == 1 and count == 1


def test_a_retried_registration_after_its_webhook_was_deleted_is_404_and_creates_nothing(api, dynamo, tenant, receiver):
    body = {"url": receiver().url, "events": ["level.up"]}
    created = api.post("/v1/webhooks", body, key="hook-gone").json()
    assert send(api, "DELETE", f"/v1/webhooks/{created['id']}").status_code == 200
    again = api.post("/v1/webhooks", body, key="hook-gone")
    assert again.status_code == 404, again.text
    assert again.json()["error"] == {"code": "webhook_not_found", "webhook_id": created["id"],
                                     "message": "The webhook this Idempotency-Key registered has been deleted since"}
    assert api.get("/v1/webhooks").json()["webhooks"] == []
    endpoints, count = webhook_items(dynamo, tenant)
    assert len(endpoints) == 1 and count == 0


@pytest.mark.race
def test_racing_retries_of_a_keyed_registration_create_exactly_one_endpoint(api, dynamo, tenant, receiver):
    body = {"url": receiver().url, "events": ["level.up", "coins.spent"]}
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: api.post("/v1/webhooks", body, key="hook-race"), range(8)))
    assert [r.status_code for r in answers] == [200] * 8, [r.text for r in answers]
    assert len({json.dumps(r.json(), sort_keys=True) for r in answers}) == 1
    assert sum("Idempotent-Replayed" not in r.headers for r in answers) == 1
    endpoints, count = webhook_items(dynamo, tenant)
    assert len(endpoints) == 1 and count == 1


class CommitTogether:
    """A store whose first commit in each thread waits until ``n`` threads are there, then
    all go at once: every racer has read "no record" and decided before any of them writes,
    so only the conditions of the transaction can keep them to one endpoint."""

    def __init__(self, store, n: int) -> None:
        self._store, self._barrier, self._local = store, threading.Barrier(n, timeout=120), threading.local()

    def __getattr__(self, name):
        return getattr(self._store, name)

    def commit(self, tx):
        if not getattr(self._local, "waited", False):
            self._local.waited = True
            self._barrier.wait()
        return self._store.commit(tx)


@pytest.mark.race
def test_registrations_past_the_record_read_at_once_are_decided_by_the_record_condition(local_api, dynamo, tenant, receiver):
    """Racers that all found no record commit together: the record's condition in the
    endpoint's transaction lets one create its endpoint; the others replay its response."""
    n = 4
    store = CommitTogether(runtime.store(), n)
    hooks = Webhooks(store, lambda: NOON)
    req = CreateWebhookRequest(url=receiver().url, events=["level.up"])
    outcomes: list = [None] * n

    def register(i: int) -> None:
        outcomes[i] = hooks.register(tenant.id, req, "hook-together")

    threads = [threading.Thread(target=register, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(outcomes), "a racer failed (see its traceback above)"
    assert len({o.body["id"] for o in outcomes}) == 1 and len({o.body["secret"] for o in outcomes}) == 1
    assert sorted(o.replayed for o in outcomes) == [False] + [True] * (n - 1)
    endpoints, count = webhook_items(dynamo, tenant)
    assert len(endpoints) == 1 and count == 1
