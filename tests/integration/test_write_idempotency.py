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
from gamification.api.webhook_models import CreateWebhookRequest
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


# ---- DELETE /v1/webhooks/{id} --------------------------------------------------------------


def test_a_retried_keyed_deletion_replays_its_200_instead_of_404(api, dynamo, tenant, receiver):
    hook = api.post("/v1/webhooks", {"url": receiver().url, "events": ["level.up"]}).json()
    path = f"/v1/webhooks/{hook['id']}"
    first = send(api, "DELETE", path, key="del-1")
    again = send(api, "DELETE", path, key="del-1")
    assert first.status_code == 200 and first.json() == {"id": hook["id"], "deleted": True}
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert send(api, "DELETE", path).status_code == 404  # without the key: a second deletion
    assert send(api, "DELETE", path, key="del-2").status_code == 404  # another request
    other = api.post("/v1/webhooks", {"url": receiver().url, "events": ["level.up"]}).json()
    reused = send(api, "DELETE", f"/v1/webhooks/{other['id']}", key="del-1")  # the key names another id
    assert reused.status_code == 422 and reused.json()["error"]["code"] == "idempotency_key_reused"
    assert [w["id"] for w in api.get("/v1/webhooks").json()["webhooks"]] == [other["id"]]
    assert webhook_items(dynamo, tenant)[1] == 1


def test_a_keyed_deletion_that_crashed_after_its_commit_is_replayed(api, dynamo, tenant, receiver, environments, tmp_path):
    hook = api.post("/v1/webhooks", {"url": receiver().url, "events": ["level.up"]}).json()
    land_next_commit_then_raise(environments, tmp_path, "timeout")
    assert send(api, "DELETE", f"/v1/webhooks/{hook['id']}", key="del-crash").status_code == 500
    retried = send(api, "DELETE", f"/v1/webhooks/{hook['id']}", key="del-crash")
    assert retried.status_code == 200 and retried.headers["Idempotent-Replayed"] == "true", retried.text
    assert webhook_items(dynamo, tenant)[1] == 0


# ---- every other write: the award routes' header validation --------------------------------

OTHER_WRITES = [
    ("PUT", "/v1/users/u1/timezone", {"timezone": "Europe/Berlin"}),
    ("PUT", "/v1/users/u1/active-badge", {"badge": None}),
    ("POST", "/v1/users/u1/notifications/read", {"all": True}),
    ("DELETE", "/v1/users/u1", None),
    ("DELETE", f"/v1/webhooks/wh_{'0' * 32}", None),
]


@pytest.mark.parametrize("key", BAD_KEYS)
@pytest.mark.parametrize("method, path, body", OTHER_WRITES)
def test_bad_idempotency_keys_on_every_other_write_are_400_and_write_nothing(api, dynamo, tenant, method, path, body, key):
    r = send(api, method, path, body, key=key)
    assert r.status_code == 400, (method, path, key, r.text)
    error = r.json()["error"]
    assert error["code"] == "validation_error" and error["errors"][0]["field"] == "header.idempotency-key", error
    assert dynamo.items(tenant.id) == []


# ---- PUT /v1/users/{id}/timezone and /active-badge: a late retry never sets back a change ---


def test_a_late_retry_of_a_keyed_time_zone_replays_and_leaves_the_later_change(api, clock, dynamo, tenant):
    clock.set(NOON)
    first = send(api, "PUT", "/v1/users/tzu/timezone", {"timezone": "Europe/Berlin"}, key="tz-1")
    assert first.status_code == 200 and first.json()["today"] == "2026-11-21", first.text
    clock.set(datetime(2026, 11, 22, 23, 30, tzinfo=timezone.utc))
    assert send(api, "PUT", "/v1/users/tzu/timezone", {"timezone": "Asia/Tokyo"}).status_code == 200
    late = send(api, "PUT", "/v1/users/tzu/timezone", {"timezone": "Europe/Berlin"}, key="tz-1")
    assert late.status_code == 200 and late.headers["Idempotent-Replayed"] == "true", late.text
    assert late.json() == first.json()  # "today" as the first answer said, not recomputed
    assert api.get("/v1/users/tzu").json()["timezone"] == "Asia/Tokyo"
    reused = send(api, "PUT", "/v1/users/tzu/timezone", {"timezone": "UTC"}, key="tz-1")
    assert reused.status_code == 422 and reused.json()["error"]["code"] == "idempotency_key_reused"
    elsewhere = send(api, "PUT", "/v1/users/other/timezone", {"timezone": "Europe/Berlin"}, key="tz-1")
    assert elsewhere.status_code == 422  # one key is one request: another user is another request


def test_a_keyed_time_zone_that_crashed_after_its_commit_is_replayed(api, clock, environments, tmp_path):
    clock.set(NOON)
    land_next_commit_then_raise(environments, tmp_path, "timeout")
    assert send(api, "PUT", "/v1/users/tzc/timezone", {"timezone": "Europe/Berlin"}, key="tz-crash").status_code == 500
    retried = send(api, "PUT", "/v1/users/tzc/timezone", {"timezone": "Europe/Berlin"}, key="tz-crash")
    assert retried.status_code == 200 and retried.headers["Idempotent-Replayed"] == "true", retried.text


def test_a_late_retry_of_a_keyed_badge_replays_and_leaves_the_later_change(api, clock):
    for n in range(7):  # a 7-day streak unlocks the streak_7 badge
        clock.set(datetime(2026, 11, 1 + n, 12, tzinfo=timezone.utc))
        assert api.xp("bdg", "daily_chat").status_code == 200
    first = send(api, "PUT", "/v1/users/bdg/active-badge", {"badge": "streak_7"}, key="badge-1")
    assert first.status_code == 200 and first.json()["active_badge"] == "streak_7", first.text
    assert send(api, "PUT", "/v1/users/bdg/active-badge", {"badge": None}).status_code == 200
    late = send(api, "PUT", "/v1/users/bdg/active-badge", {"badge": "streak_7"}, key="badge-1")
    assert late.status_code == 200 and late.headers["Idempotent-Replayed"] == "true" and late.json() == first.json()
    assert api.get("/v1/users/bdg").json()["active_badge"] is None
    refused = send(api, "PUT", "/v1/users/bdg/active-badge", {"badge": "streak_30"}, key="badge-2")
    assert refused.status_code == 409  # a refusal writes no record: the same key decides again later
    assert send(api, "PUT", "/v1/users/bdg/active-badge", {"badge": "streak_30"}, key="badge-2").status_code == 409


# ---- POST /v1/users/{id}/notifications/read: the retry reports what the first marked ------


def add_notes(tenant, user, n):
    from gamification.usecases.notifications import Notifications

    inbox = Notifications(runtime.store(), lambda: NOON)
    for i in range(n):
        note = {"id": f"evt_{i:032x}", "type": "level.up", "title": f"Level {i}", "created_at": keys_stamp(i)}
        assert inbox.add(tenant.id, user, note, NOON)
    return [f"evt_{i:032x}" for i in range(n)]


def keys_stamp(i: int) -> str:
    from datetime import timedelta

    return (NOON - timedelta(minutes=i)).isoformat().replace("+00:00", "Z")


def test_a_retried_keyed_mark_read_replays_its_count_instead_of_zero(api, clock, dynamo, tenant):
    clock.set(NOON)
    ids = add_notes(tenant, "inb", 3)
    path = "/v1/users/inb/notifications/read"
    first = api.post(path, {"ids": ids[:2]}, key="read-1")
    assert first.status_code == 200 and first.json() == {"user_id": "inb", "marked": 2, "unread": 1}, first.text
    again = api.post(path, {"ids": ids[:2]}, key="read-1")
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert api.post(path, {"ids": ids[:2]}).json()["marked"] == 0  # without a key: what this call marked
    reused = api.post(path, {"all": True}, key="read-1")
    assert reused.status_code == 422 and reused.json()["error"]["code"] == "idempotency_key_reused"
    unread = api.get("/v1/users/inb/notifications", unread="true").json()["notifications"]
    assert [n["id"] for n in unread] == [ids[2]]


def test_a_keyed_mark_read_that_crashed_after_its_commit_is_replayed(api, clock, tenant, environments, tmp_path):
    clock.set(NOON)
    add_notes(tenant, "inc", 2)
    land_next_commit_then_raise(environments, tmp_path, "timeout")
    path = "/v1/users/inc/notifications/read"
    assert api.post(path, {"all": True}, key="read-crash").status_code == 500
    retried = api.post(path, {"all": True}, key="read-crash")
    assert retried.status_code == 200 and retried.headers["Idempotent-Replayed"] == "true", retried.text
    assert retried.json() == {"user_id": "inc", "marked": 2, "unread": 0}


def test_a_full_inbox_marked_with_a_key_counts_the_marks_of_a_run_cut_between_its_transactions(
    api, clock, tenant, environments, tmp_path
):
    """100 unread and a key: 100 marks, the record and the user's request item take two
    transactions; a crash after the first leaves its marks, which the retry still counts."""
    clock.set(NOON)
    add_notes(tenant, "full", 100)
    path = "/v1/users/full/notifications/read"
    land_next_commit_then_raise(environments, tmp_path, "timeout")
    assert api.post(path, {"all": True}, key="read-full").status_code == 500
    assert len(api.get("/v1/users/full/notifications", unread="true").json()["notifications"]) == 98
    retried = api.post(path, {"all": True}, key="read-full")
    assert retried.status_code == 200 and "Idempotent-Replayed" not in retried.headers, retried.text
    assert retried.json() == {"user_id": "full", "marked": 100, "unread": 0}
    again = api.post(path, {"all": True}, key="read-full")
    assert again.headers["Idempotent-Replayed"] == "true" and again.json() == retried.json()


@pytest.mark.race
def test_racing_mark_reads_count_each_notification_once(api, clock, tenant):
    clock.set(NOON)
    ids = add_notes(tenant, "inr", 12)
    path = "/v1/users/inr/notifications/read"
    with ThreadPoolExecutor(6) as pool:
        plain = list(pool.map(lambda i: api.post(path, {"ids": ids[i : i + 6]}), range(6)))  # overlapping
        keyed = list(pool.map(lambda _: api.post(path, {"ids": ids[6:]}, key="read-race"), range(6)))
    assert all(r.status_code == 200 for r in plain + keyed), [r.text for r in plain + keyed]
    assert sum(r.json()["marked"] for r in plain) == 11  # ids[0..10], each counted by one request
    assert len({json.dumps(r.json()) for r in keyed}) == 1 and keyed[0].json()["marked"] == 1
    assert api.get("/v1/users/inr/notifications", unread="true").json()["notifications"] == []


# ---- DELETE /v1/users/{id}: the key is validated, every call erases -------------------------


def test_a_keyed_erasure_runs_on_every_call_and_takes_the_keyed_records_of_the_user_along(
    api, clock, dynamo, tenant, streams
):
    from tests.integration.test_user_deletion import traces

    clock.set(NOON)
    add_notes(tenant, "leaver", 2)
    assert api.xp("leaver", "forked", key="leaver-xp").status_code == 200
    assert send(api, "PUT", "/v1/users/leaver/timezone", {"timezone": "Europe/Berlin"}, key="leaver-tz").status_code == 200
    assert api.post("/v1/users/leaver/notifications/read", {"all": True}, key="leaver-read").status_code == 200
    # The award's board score lands through the stream: erase once it has (an erasure racing
    # the projector is another matter, see docs/ledger-and-events.md).
    streams.wait_until_drained()
    first = send(api, "DELETE", "/v1/users/leaver", key="erase-1")
    assert first.status_code == 200 and first.json()["items_deleted"] > 0, first.text
    assert traces(dynamo, tenant.id, "leaver") == []  # the records of the time zone and the marks too
    again = send(api, "DELETE", "/v1/users/leaver", key="erase-1")
    assert again.status_code == 200 and "Idempotent-Replayed" not in again.headers
    assert again.json() == {"user_id": "leaver", "deleted": True, "items_deleted": 0, "boards_left": 0}
    assert traces(dynamo, tenant.id, "leaver") == []
