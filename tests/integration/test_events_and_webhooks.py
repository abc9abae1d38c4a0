"""Domain events from the table's stream, the notification inbox, and signed webhook
deliveries to a real HTTP receiver on loopback (verified with ``standardwebhooks``)."""

from __future__ import annotations

import copy
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
from standardwebhooks.webhooks import Webhook

from gamification import runtime
from gamification.dal import keys
from gamification.usecases.webhooks import Webhooks
from tests.conftest import load_event
from tests.tls_certs import TestCA

NOON = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def tls_ca(tmp_path):
    """A certificate authority of this test (tests/tls_certs.py)."""
    return TestCA(tmp_path)


def settle(streams, queues):
    # Generous: the stream replays every item earlier tests of the session wrote.
    streams.wait_until_drained(timeout=300)
    queues.wait_until_idle("WebhookQueue", timeout=120)


@pytest.fixture
def bus(streams, queues, local_aws):
    """The local buses, tapped from the start of the test on (earlier tests' events drained
    first): ``bus.published()`` is what this test's awards published."""
    settle(streams, queues)
    local_aws.listen()
    yield local_aws
    local_aws.stop_listening()


def test_a_level_up_reaches_the_bus_the_inbox_and_the_receiver_signed_failing_first(
    api, clock, tenant, streams, queues, bus, receiver
):
    hook = receiver(plan=[500])
    created = api.post("/v1/webhooks", {"url": hook.url, "events": ["level.up", "coins.spent"]})
    assert created.status_code == 200, created.text
    secret, webhook_id = created.json()["secret"], created.json()["id"]
    assert secret.startswith("whsec_")
    assert "secret" not in json.dumps(api.get("/v1/webhooks").json())
    clock.set(NOON)
    api.xp("eve", "paid_char_sold")
    assert api.xp("eve", "paid_char_sold").json()["leveled_up"]
    settle(streams, queues)
    # The receiver failed the first attempt; the retry carries the same webhook-id, signed.
    assert len(hook.calls) == 2, hook.calls
    first, second = hook.calls
    assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"]
    payload = Webhook(secret).verify(second["body"], second["headers"])
    assert payload["type"] == "level.up" and payload["user_id"] == "eve" and payload["tenant"] == tenant.id
    assert payload["id"] == second["headers"]["webhook-id"] and payload["data"]["level"] == 2
    assert second["headers"]["webhook-signature"].startswith("v1,")
    with pytest.raises(Exception):
        Webhook("whsec_" + "A" * 32).verify(second["body"], second["headers"])
    log = api.get(f"/v1/webhooks/{webhook_id}/deliveries").json()["deliveries"]
    assert [(d["event_type"], d["status"], d["attempts"]) for d in log] == [("level.up", "delivered", 2)]
    # The bus got every event of the awards (xp.awarded twice, coins.awarded, level.up).
    mine = [e["detail"] for e in bus.published() if e["detail"].get("tenant") == tenant.id]
    assert sorted(e["type"] for e in mine).count("xp.awarded") == 2 and "level.up" in {e["type"] for e in mine}
    assert all(e["source"] == "gamification" for e in bus.published())
    # The inbox has the level up, unread; marking it read works by id and for all.
    notes = api.get("/v1/users/eve/notifications").json()["notifications"]
    assert [(n["type"], n["title"], n["read"]) for n in notes] == [("level.up", "Level up: Creator", False)]
    assert notes[0]["id"] == payload["id"]
    assert api.get("/v1/users/eve/notifications", unread="true").json()["notifications"] == notes
    marked = api.post("/v1/users/eve/notifications/read", {"ids": [notes[0]["id"]]}).json()
    assert marked == {"user_id": "eve", "marked": 1, "unread": 0}
    assert api.get("/v1/users/eve/notifications", unread="true").json()["notifications"] == []
    assert api.post("/v1/users/eve/notifications/read", {"all": True}).json()["marked"] == 0


def test_the_award_after_missed_dates_publishes_the_lost_streak(api, clock, tenant, streams, queues, bus):
    # Active on the 21st and 22nd (no freezes yet in the bundled rules), back on the 25th.
    for day in (0, 1, 4):
        clock.set(NOON + timedelta(days=day))
        assert api.xp("sam", "paid_char_sold").status_code == 200
    settle(streams, queues)
    mine = [e["detail"] for e in bus.published()
            if e["detail"].get("tenant") == tenant.id and e["detail"].get("user_id") == "sam"]  # fmt: skip
    lost = [e for e in mine if e["type"] == "streak.lost"]
    assert [e["data"] for e in lost] == [{"date": "2026-11-23", "length": 2}], mine
    assert lost[0]["occurred_at"].startswith("2026-11-25") and "streak.freeze_used" not in {e["type"] for e in mine}
    assert api.get("/v1/users/sam/streak").json()["current"] == 1


def test_a_duplicate_stream_delivery_gives_one_webhook_id_and_one_notification(
    api, clock, tenant, streams, queues, local_api, receiver, dynamo
):
    hook = receiver()
    secret = api.post("/v1/webhooks", {"url": hook.url, "events": ["*"]}).json()["secret"]
    clock.set(NOON)
    api.xp("dup", "paid_char_sold")
    api.xp("dup", "paid_char_sold")  # level up
    settle(streams, queues)
    delivered = len(hook.calls)
    # Feed the level-up entry's stream record again, twice, as a retried batch would.
    entry = next(i for i in dynamo.ledger(tenant.id) if i["total_xp"] == 100)
    event = load_event("stream_ledger_insert.json")
    record = event["Records"][0]
    from gamification.dal.store import marshal

    record["dynamodb"]["Keys"] = marshal({"pk": entry["pk"], "sk": entry["sk"]})
    record["dynamodb"]["NewImage"] = marshal({k: v for k, v in entry.items()})
    event["Records"] = [record, copy.deepcopy(record)]
    assert local_api.invoke("DomainEventsFunction", event) == {"batchItemFailures": []}
    queues.wait_until_idle("WebhookQueue", timeout=120)
    again = hook.calls[delivered:]
    assert len(again) == 2 * 2  # xp.awarded and level.up, each delivered twice
    ids = {c["headers"]["webhook-id"] for c in again}
    assert len(ids) == 2 and ids <= {c["headers"]["webhook-id"] for c in hook.calls[:delivered]}
    for call in again:
        Webhook(secret).verify(call["body"], call["headers"])
    assert len(api.get("/v1/users/dup/notifications").json()["notifications"]) == 1


def test_a_receiver_that_always_fails_ends_in_the_dead_letter_queue_and_can_be_redelivered(
    api, clock, tenant, streams, queues, local_aws, receiver
):
    from gamification.dal import messaging

    # The queues live for the session: start from empty ones, so the count below sees this
    # test's message, not deliveries earlier tests' failing receivers left (in flight or dead).
    for queue in ("WebhookQueue", "WebhookDeadLetters"):
        messaging.client("sqs").purge_queue(QueueUrl=local_aws.queues[queue])
    hook = receiver(plan=[503] * 8)
    webhook_id = api.post("/v1/webhooks", {"url": hook.url, "events": ["coins.spent"]}).json()["id"]
    clock.set(NOON)
    api.coins("dl", "daily_login")
    api.post("/v1/users/dl/coins/spend", {"amount": 5, "reason": "shop"})
    settle(streams, queues)
    assert len(hook.calls) == 8 and len({c["headers"]["webhook-id"] for c in hook.calls}) == 1
    log = api.get(f"/v1/webhooks/{webhook_id}/deliveries").json()["deliveries"]
    assert [(d["status"], d["attempts"], d["last_status_code"]) for d in log] == [("dead_lettered", 8, 503)]
    moved = 0
    for _ in range(20):  # moto moves the message on the receive after the last attempt
        moved += messaging.move_dead_letters(local_aws.queues["WebhookDeadLetters"], local_aws.queues["WebhookQueue"])
        if moved:
            break
        import time

        time.sleep(0.1)
    assert moved == 1
    queues.wait_until_idle("WebhookQueue", timeout=120)
    assert len(hook.calls) == 9  # redelivered, now answered 200
    assert api.get(f"/v1/webhooks/{webhook_id}/deliveries").json()["deliveries"][0]["status"] == "delivered"
    # The redeliver command queues a logged delivery again by event id.
    event_id = hook.calls[0]["headers"]["webhook-id"]
    assert Webhooks(runtime.store(), lambda: NOON).redeliver(tenant.id, webhook_id, event_id)
    queues.wait_until_idle("WebhookQueue", timeout=120)
    assert len(hook.calls) == 10 and hook.calls[-1]["headers"]["webhook-id"] == event_id


@pytest.mark.parametrize(
    "body",
    [{"url": "https://example.com/x", "events": ["nope"]}, {"url": "https://example.com/x", "events": []},
     {"url": "https://example.com/x"}, {"url": 5, "events": ["level.up"]}, {"url": "https://e.com", "events": ["*"], "x": 1},
     {"url": "", "events": ["level.up"]}, {"url": "https://e.com/" + "x" * 2048, "events": ["level.up"]}],
)  # fmt: skip
def test_bad_webhooks_are_400_and_write_nothing(api, tenant, dynamo, body):
    resp = api.post("/v1/webhooks", body)
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "validation_error", resp.text
    assert dynamo.items(tenant.id) == []


@pytest.fixture
def dns(environments):
    """``dns({"name": ["address", ...]})`` makes names resolve so in the webhook functions'
    environments (no network); the real resolver again after the test."""
    functions = ["WebhooksFunction", "DeliverWebhooksFunction"]
    yield lambda names: environments.call("tests.environment_hooks:resolve_names", names, functions=functions)
    environments.call("tests.environment_hooks:resolve_names", None, functions=functions)


# Passed at registration before it applied the delivery's address check (docs/security.md,
# "Webhook egress"), although the local stack allows loopback receivers.
REFUSED_URLS = [
    "https://169.254.169.254/", "https://169.254.169.254/latest/meta-data/", "https://10.0.0.1/h",
    "https://192.168.1.1/", "https://[::ffff:10.0.0.1]/", "https://0.0.0.0/", "https://[::]/h",
    "https://nonexistent.invalid/h", "https://internal.example.com/h", "https://rebind.example.com/h",
    "http://example.com/x", "ftp://127.0.0.1/x", "https://user:pw@hooks.example.com/", "https://exa mple.com/",
]  # fmt: skip


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_refused_webhook_urls_are_400_invalid_webhook_url_and_write_nothing(api, tenant, dynamo, dns, url):
    dns({"internal.example.com": ["10.1.2.3"], "rebind.example.com": ["93.184.215.14", "169.254.169.254"],
         "hooks.example.com": ["93.184.215.14"]})  # fmt: skip
    resp = api.post("/v1/webhooks", {"url": url, "events": ["level.up"]})
    assert resp.status_code == 400, resp.text
    error = resp.json()["error"]
    assert error["code"] == "invalid_webhook_url" and error["field"] == "url" and error["message"].startswith("url: ")
    assert dynamo.items(tenant.id) == []
    assert api.get("/v1/webhooks").json()["webhooks"] == []


def test_a_host_resolving_to_public_addresses_is_registered(api, tenant, dns):
    dns({"hooks.example.com": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]})
    resp = api.post("/v1/webhooks", {"url": "https://hooks.example.com/in", "events": ["level.up"]})
    assert resp.status_code == 200, resp.text
    assert [w["url"] for w in api.get("/v1/webhooks").json()["webhooks"]] == ["https://hooks.example.com/in"]


def test_webhooks_list_and_delete(api, tenant, receiver):
    hook = receiver()
    a = api.post("/v1/webhooks", {"url": hook.url, "events": ["level.up"]}).json()
    assert [w["id"] for w in api.get("/v1/webhooks").json()["webhooks"]] == [a["id"]]
    assert api.session.delete(f"{api.base}/v1/webhooks/{a['id']}").json() == {"id": a["id"], "deleted": True}
    assert api.get("/v1/webhooks").json()["webhooks"] == []
    assert api.session.delete(f"{api.base}/v1/webhooks/{a['id']}").status_code == 404
    assert api.get(f"/v1/webhooks/wh_{'0' * 32}/deliveries").status_code == 404
    assert api.session.delete(f"{api.base}/v1/webhooks/nope").status_code == 400


@pytest.mark.parametrize("body", [{}, {"ids": []}, {"ids": ["x"]}, {"all": False}, {"all": True, "ids": [f"evt_{'0' * 32}"]}, [1]])
def test_bad_mark_read_bodies_are_400(api, body):
    assert api.post("/v1/users/u1/notifications/read", body).status_code == 400


@pytest.mark.race
def test_racing_registrations_never_pass_the_cap_and_a_deletion_frees_a_place(api, dynamo, tenant, dns):
    """The per-tenant cap is a condition on the tenant's endpoint count, written with each
    endpoint: 30 registrations at once leave exactly MAX_WEBHOOKS endpoints."""
    from gamification.usecases.webhooks import MAX_WEBHOOKS

    dns({f"hooks{i}.example.com": ["93.184.215.14"] for i in (*range(MAX_WEBHOOKS + 10), 99, 100, 101)})

    def register(i):
        return api.post("/v1/webhooks", {"url": f"https://hooks{i}.example.com/h", "events": ["level.up"]})

    with ThreadPoolExecutor(10) as pool:
        codes = sorted(r.status_code for r in pool.map(register, range(MAX_WEBHOOKS + 10)))
    assert codes == [200] * MAX_WEBHOOKS + [409] * 10, codes
    live = api.get("/v1/webhooks").json()["webhooks"]
    assert len(live) == MAX_WEBHOOKS
    refused = register(99)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "too_many_webhooks"
    # Racing deletions of one endpoint count it once; its place is free again.
    with ThreadPoolExecutor(5) as pool:
        deleted = sorted(r.status_code for r in pool.map(lambda _: api.session.delete(f"{api.base}/v1/webhooks/{live[0]['id']}"), range(5)))
    assert deleted == [200] + [404] * 4
    assert register(100).status_code == 200 and register(101).status_code == 409


# ---- delivery egress: no redirects, the checked address only, TLS names (docs/security.md) ----

WEBHOOK_FUNCTIONS = ["WebhooksFunction", "DeliverWebhooksFunction"]


def spend_coins(api, clock, user):
    """Award and spend coins: one ``coins.spent`` event."""
    clock.set(NOON)
    assert api.coins(user, "daily_login").status_code == 200
    assert api.post(f"/v1/users/{user}/coins/spend", {"amount": 5, "reason": "shop"}).status_code == 200


def deliveries(api, webhook_id):
    return [(d["status"], d["attempts"], d["last_status_code"], d["last_error"])
            for d in api.get(f"/v1/webhooks/{webhook_id}/deliveries").json()["deliveries"]]  # fmt: skip


@pytest.mark.parametrize("status", [302, 307])
def test_a_redirect_is_a_failed_attempt_and_its_location_gets_nothing(api, clock, tenant, streams, queues, receiver, status):
    """A public receiver could answer ``302 Location: http://169.254.169.254/...``: the
    delivery never follows it (here to a second loopback receiver); a 3xx is not 2xx, so it
    is retried like any failure and ends dead-lettered."""
    elsewhere = receiver()
    hook = receiver(plan=[status] * 8, location=elsewhere.url)
    webhook_id = api.post("/v1/webhooks", {"url": hook.url, "events": ["coins.spent"]}).json()["id"]
    spend_coins(api, clock, "redirected")
    settle(streams, queues)
    assert [(c["method"], c["path"]) for c in elsewhere.calls] == [] and elsewhere.connections == 0
    assert [c["method"] for c in hook.calls] == ["POST"] * 8
    [(state, attempts, code, error)] = deliveries(api, webhook_id)
    assert (state, attempts, code) == ("dead_lettered", 8, status) and "redirect" in error


def test_delivery_connects_to_the_address_it_checked_not_to_a_second_answer(
    api, clock, tenant, streams, queues, receiver, dns, environments, tls_ca
):
    """DNS rebinding: the name answers a public address to the check and loopback to the
    next lookup. A delivery that let its HTTP client resolve the name again reached the
    loopback receiver (and delivered the signed POST: its certificate is valid for the name).
    The delivery connects to the checked address instead (fake, refused at once here: no
    packet leaves the machine), and the later lookup's loopback answer is refused by the
    check, as in the cloud: this test turns the local stack's loopback allowance off."""
    inside = receiver(tls=tls_ca.issue("rebind.example.com"))
    environments.call(
        "tests.environment_hooks:set_variables",
        {"SSL_CERT_FILE": str(tls_ca.pem), "GAMIFICATION_WEBHOOK_ALLOW_LOOPBACK": "false",
         "GAMIFICATION_ALLOW_LOOPBACK_EGRESS": "false"},
        functions=WEBHOOK_FUNCTIONS,
    )  # fmt: skip
    dns({"rebind.example.com": [["93.184.215.14"], ["127.0.0.1"]]})
    url = f"https://rebind.example.com:{inside.port}/hook"
    created = api.post("/v1/webhooks", {"url": url, "events": ["coins.spent"]})
    assert created.status_code == 200, created.text
    spend_coins(api, clock, "rebound")
    settle(streams, queues)
    assert [(c["method"], c["headers"]["host"]) for c in inside.calls] == [] and inside.connections == 0
    [(state, attempts, code, error)] = deliveries(api, created.json()["id"])
    assert state in ("refused", "dead_lettered") and code is None, (state, attempts, error)


def test_https_delivery_sends_the_url_host_and_verifies_the_certificate_against_it(
    api, clock, tenant, streams, queues, receiver, dns, environments, tls_ca
):
    """The delivery connects to the checked IP, yet TLS names the URL's host (SNI) and the
    certificate must be valid for it; the Host header is the URL's too. A receiver whose
    certificate names another host gets no request: every attempt fails, dead-lettered."""
    good = receiver(tls=tls_ca.issue("hooks.example.com"))
    wrong = receiver(tls=tls_ca.issue("other.example.com"))
    environments.call("tests.environment_hooks:set_variables", {"SSL_CERT_FILE": str(tls_ca.pem)},
                      functions=WEBHOOK_FUNCTIONS)  # fmt: skip
    dns({"hooks.example.com": ["127.0.0.1"]})  # loopback: allowed in the local stack
    ids = {}
    for name, hook in (("good", good), ("wrong", wrong)):
        created = api.post("/v1/webhooks", {"url": f"https://hooks.example.com:{hook.port}/in?x=1", "events": ["coins.spent"]})
        assert created.status_code == 200, created.text
        ids[name] = created.json()
    spend_coins(api, clock, "tls")
    settle(streams, queues)
    [call] = good.calls
    assert call["method"] == "POST" and call["path"] == "/in?x=1"
    assert call["headers"]["host"] == f"hooks.example.com:{good.port}" and set(good.sni) == {"hooks.example.com"}
    assert Webhook(ids["good"]["secret"]).verify(call["body"], call["headers"])["type"] == "coins.spent"
    assert deliveries(api, ids["good"]["id"])[0][:3] == ("delivered", 1, 200)
    assert wrong.calls == [] and wrong.connections == 8 and set(wrong.sni) == {"hooks.example.com"}
    [(state, attempts, code, error)] = deliveries(api, ids["wrong"]["id"])
    assert (state, attempts, code) == ("dead_lettered", 8, None) and error.startswith("TLS with 127.0.0.1: "), error
    assert "'hooks.example.com' doesn't match 'other.example.com'" in error


def test_a_delivery_for_a_deleted_webhook_ends_dropped_without_counting_an_attempt(api, tenant, local_api, receiver):
    """The log of a delivery whose endpoint was deleted between two attempts says
    ``dropped`` and keeps what the requests sent said: no attempt counted, no request sent,
    no next attempt pending. A delivery that ends otherwise (delivered after a retry) has
    no next attempt either."""
    hook = receiver(plan=[500, 500])
    webhook_id = api.post("/v1/webhooks", {"url": hook.url, "events": ["*"]}).json()["id"]
    hooks = Webhooks(runtime.store(), lambda: NOON)

    def message(n):
        event = {"id": f"evt_{n:032x}", "type": "level.up", "tenant": tenant.id, "user_id": "u1",
                 "occurred_at": "2026-11-21T11:00:00.000000Z", "data": {"level": 2}}  # fmt: skip
        return {"tenant": tenant.id, "webhook_id": webhook_id, "event": event}

    def log():
        return {d["event_id"]: d for d in api.get(f"/v1/webhooks/{webhook_id}/deliveries").json()["deliveries"]}

    assert hooks.deliver(message(1), 1, None) is False  # 500: a retry is due
    assert hooks.deliver(message(2), 1, None) is False
    assert hooks.deliver(message(2), 2, None) is True  # 200 on its second attempt
    retrying, delivered = log()[f"evt_{1:032x}"], log()[f"evt_{2:032x}"]
    assert (retrying["status"], retrying["attempts"], retrying["last_status_code"]) == ("retrying", 1, 500)
    assert retrying["next_attempt_at"] is not None
    assert (delivered["status"], delivered["attempts"], delivered["next_attempt_at"]) == ("delivered", 2, None)

    assert api.session.delete(f"{api.base}/v1/webhooks/{webhook_id}").status_code == 200
    assert hooks.deliver(message(1), 2, None) is True  # done: nothing to deliver to
    assert hooks.deliver(message(3), 1, None) is True  # a first attempt after the deletion
    assert len(hook.calls) == 3  # nothing sent after the deletion
    dropped, never = log()[f"evt_{1:032x}"], log()[f"evt_{3:032x}"]
    assert {k: dropped[k] for k in ("status", "attempts", "last_status_code", "last_attempt_at", "next_attempt_at")} == {
        "status": "dropped", "attempts": 1, "last_status_code": 500, "last_attempt_at": retrying["last_attempt_at"],
        "next_attempt_at": None}  # fmt: skip
    assert dropped["last_error"] == "webhook deleted"
    assert (never["status"], never["attempts"], never["last_attempt_at"], never["next_attempt_at"]) == ("dropped", 0, None, None)
