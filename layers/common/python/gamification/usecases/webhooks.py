"""Webhooks: endpoints a tenant registers for domain event types, and their deliveries,
signed per Standard Webhooks (the ``standardwebhooks`` package).

- Register: ``{url, events}`` -> ``{id, secret}``. The secret (``whsec_`` + base64 of 24
  random bytes) is shown once; the engine must sign with it, so it cannot be hashed: it is
  stored encrypted with KMS (encryption context: tenant and webhook id).
- Delivery: one SQS message per (endpoint, event). Headers ``webhook-id`` (the event id, the
  same on every retry), ``webhook-timestamp`` (epoch seconds of this attempt) and
  ``webhook-signature`` (``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``); a 2xx answer
  within 5 s is success. Otherwise (a 3xx too: redirects are not followed) the message is
  hidden for the next delay of :data:`gamification.domain.event_types.RETRY_DELAYS_S` (5 s
  first; 27.6 h in all) and after the last attempt SQS moves it to the dead-letter queue.
  Receivers deduplicate on ``webhook-id``.
- Every attempt updates the endpoint's delivery log (``GET /v1/webhooks/{id}/deliveries``),
  which also keeps the payload for the redeliver command (tools/ops/webhooks.py).
  ``attempts`` is SQS's receive count of the last request sent; ``next_attempt_at`` is set
  only while a retry is pending. A message for an endpoint deleted since is ``dropped``:
  nothing is sent, and neither ``attempts`` nor ``last_attempt_at`` move.
"""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from standardwebhooks.webhooks import Webhook

from gamification.dal import egress, items, keys, messaging
from gamification.dal.ledger_store import query_page, upsert
from gamification.dal.store import TTL_ATTRIBUTE, Store, epoch
from gamification.domain.errors import Contention, GamificationError, NotFound, TooManyWebhooks, ValidationFailed
from gamification.domain.event_types import EVENT_TYPES, MAX_ATTEMPTS, retry_delay
from gamification.usecases.outcome import Outcome
from gamification.usecases.retry import Retry
from gamification.settings import environment
from gamification.usecases.webhook_urls import check_webhook_url, webhook_target

# The API's models and the Idempotency-Key records are imported by the methods that answer a
# route: the stream consumer and the delivery function use this module without either.
if TYPE_CHECKING:
    from gamification.api.webhook_models import CreatedWebhook, CreateWebhookRequest, DeletedWebhook

DELIVERY_TIMEOUT_S = 5
#: Attributes of a delivery log entry only while a retry is pending: removed when its
#: delivery ends (delivered, dropped, refused, dead-lettered).
PENDING_ONLY = ("next_attempt_at",)
DELIVERY_LOG_TTL = timedelta(days=30)
MAX_WEBHOOKS = 20
#: Attempts and seconds of a registration or deletion refused by a racing one (same count item).
MAX_COMMIT_ATTEMPTS, COMMIT_BUDGET_S = 20, 3.0
#: Routes of the fingerprints of keyed registrations and deletions (usecases/idempotency.py).
CREATE_ROUTE, DELETE_ROUTE = "create_webhook", "delete_webhook"


def allow_loopback() -> bool:
    """Loopback receivers are allowed only where the local stack says so."""
    env = environment()
    return env.webhook_allow_loopback or env.allow_loopback_egress


def backoff_scale() -> float:
    """Factor on the retry schedule (1 in the cloud; the local stack may compress time)."""
    return environment().webhook_backoff_scale


class WebhookNotFound(NotFound):
    code = "webhook_not_found"


def _public(item: dict[str, Any]) -> dict[str, Any]:
    return {"id": item["id"], "url": item["url"], "events": list(item["events"]), "created_at": item["created_at"]}


class Webhooks:
    def __init__(self, store: Store, now: Any, retry: Retry | None = None) -> None:
        self.store = store
        self.now = now
        self.retry = retry or Retry(MAX_COMMIT_ATTEMPTS, COMMIT_BUDGET_S, lambda: Contention("Too many concurrent webhook changes; retry"))

    # ---- endpoints -------------------------------------------------------------------

    def register(
        self, tenant: str, req: CreateWebhookRequest, idempotency_key: str | None = None
    ) -> Outcome[CreatedWebhook]:
        """``POST /v1/webhooks``: a new endpoint for ``req.url`` and ``req.events``.

        Raises ValidationFailed (400 ``validation_error``: unknown event types),
        InvalidWebhookUrl (400 ``invalid_webhook_url``: the URL, its host or an address it
        resolves to; the same check as before each delivery), TooManyWebhooks (409),
        IdempotencyKeyReused (422), WebhookNotFound (404: a retry of a registration whose
        endpoint was deleted since), Contention (503). Nothing is written for any of them.
        The event types are checked first: no DNS lookup for a request refused anyway.

        With an Idempotency-Key (:mod:`gamification.usecases.idempotency`) the key's record
        is created in the endpoint's own transaction, so racing retries create one endpoint
        and the others replay its response; a retry after a crash past the commit replays it
        too. The record holds the response without the secret, which stays only on the
        endpoint, encrypted: a replay decrypts it again (KMS).
        """
        from gamification.api.webhook_models import CreatedWebhook
        from gamification.usecases.idempotency import Idempotency
        from gamification.usecases.optimistic import Read, Write, read_decide_commit

        def secret_of(body: dict[str, Any]) -> None:
            # A replay's secret, decrypted again from the endpoint (gone with it: 404).
            endpoint = self.store.get(keys.webhook_key(tenant, body["id"]))
            if not endpoint or endpoint.get("deleted_at") or not endpoint.get("secret"):
                raise WebhookNotFound("The webhook this Idempotency-Key registered has been deleted since",
                                      webhook_id=body["id"])  # fmt: skip
            body["secret"] = messaging.decrypt(bytes(endpoint["secret"]), {"tenant": tenant, "webhook": body["id"]})

        idem = Idempotency.of(tenant, CREATE_ROUTE, "", req, idempotency_key, CreatedWebhook, complete=secret_of)
        try:
            unknown = sorted(set(req.events) - set(EVENT_TYPES) - {"*"})
            if unknown or not req.events:
                raise ValidationFailed(
                    f"events: unknown event types {unknown}" if unknown else "events: name at least one event type",
                    field="events",
                )
            check_webhook_url(req.url, allow_loopback=allow_loopback())
        except GamificationError as exc:  # a retry of a registration that succeeded before
            return idem.replay_or_raise(self.store, exc)
        webhook_id = "wh_" + uuid.uuid4().hex
        secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
        ciphertext = messaging.encrypt(secret, {"tenant": tenant, "webhook": webhook_id})
        now = self.now()
        item = {"id": webhook_id, "url": req.url, "events": sorted(set(req.events)), "created_at": keys.stamp(now),
                "secret": ciphertext}  # fmt: skip
        outcome = Outcome(CreatedWebhook(**_public(item), secret=secret))
        k_endpoint, k_count = keys.webhook_key(tenant, webhook_id), keys.webhook_count_key(tenant)

        def decide(read: Read) -> Write:
            (count,) = read
            if int((count or {}).get("n", 0)) >= MAX_WEBHOOKS:
                raise TooManyWebhooks(f"at most {MAX_WEBHOOKS} webhooks per tenant: delete one first")
            # The cap is a condition on the tenant's count, written with the endpoint: racing
            # registrations never pass it (a refused one reads the count again).
            tx = self.store.transaction().update(items.counter_below(k_count, MAX_WEBHOOKS)).put_new(k_endpoint, item)
            return Write(outcome, tx, proof=k_endpoint, recorded={**outcome.body, "secret": None})

        return read_decide_commit(self.store, self.retry, idem, now, [k_count], decide)

    def endpoints(self, tenant: str) -> list[dict[str, Any]]:
        """The tenant's live endpoints (with their encrypted secrets), oldest first."""
        items, _ = query_page(self.store, keys.webhooks_pk(tenant), prefix="WH#", limit=100, start=None, newest_first=False)
        return [i for i in items if not i.get("deleted_at")]

    def list(self, tenant: str) -> Outcome:
        from gamification.api.webhook_models import WebhooksResponse

        return Outcome(WebhooksResponse(webhooks=[_public(i) for i in self.endpoints(tenant)]))

    def delete(self, tenant: str, webhook_id: str, idempotency_key: str | None = None) -> Outcome[DeletedWebhook]:
        """``DELETE /v1/webhooks/{id}``: stop deliveries to an endpoint (its log stays).
        Raises WebhookNotFound (404: no live endpoint of that id), IdempotencyKeyReused
        (422), Contention (503).

        A second deletion is 404, so with an Idempotency-Key the key's record is created in
        the deletion's transaction: a retry whose first attempt deleted the endpoint (its
        answer lost) replays that 200 instead of reporting 404."""
        from gamification.api.models import NoBody
        from gamification.api.webhook_models import DeletedWebhook
        from gamification.usecases.idempotency import Idempotency
        from gamification.usecases.optimistic import Read, Write, read_decide_commit

        idem = Idempotency.of(tenant, f"{DELETE_ROUTE}:{webhook_id}", "", NoBody(), idempotency_key, DeletedWebhook)
        now = self.now()
        k_endpoint = keys.webhook_key(tenant, webhook_id)

        def decide(read: Read) -> Write:
            (endpoint,) = read
            if not endpoint or endpoint.get("deleted_at"):
                raise WebhookNotFound("No such webhook", webhook_id=webhook_id)
            retire = items.Update(
                k_endpoint, "SET #d = :now REMOVE #s", {"#d": "deleted_at", "#s": "secret"},
                {":now": keys.stamp(now)}, condition="attribute_exists(pk) AND attribute_not_exists(#d)",
            )  # fmt: skip
            tx = self.store.transaction().update(retire).update(items.counter_add(keys.webhook_count_key(tenant), -1))
            return Write(Outcome(DeletedWebhook(id=webhook_id, deleted=True)), tx)

        return read_decide_commit(self.store, self.retry, idem, now, [k_endpoint], decide)

    def deliveries(self, tenant: str, webhook_id: str, limit: int = 50) -> Outcome:
        """The endpoint's delivery log, newest event first. Raises WebhookNotFound (404)."""
        if not self.store.get(keys.webhook_key(tenant, webhook_id)):
            raise WebhookNotFound("No such webhook", webhook_id=webhook_id)
        pk = keys.delivery_key(tenant, webhook_id, "", "")["pk"]
        items, _ = query_page(self.store, pk, prefix="D#", limit=limit, start=None)
        fields = ("event_id", "event_type", "status", "attempts", "last_status_code", "last_error",
                  "last_attempt_at", "delivered_at", "next_attempt_at")  # fmt: skip
        from gamification.api.webhook_models import DeliveriesResponse

        return Outcome(DeliveriesResponse(webhook_id=webhook_id, deliveries=[{f: i.get(f) for f in fields} for i in items]))

    # ---- fan-out and delivery ----------------------------------------------------------

    @staticmethod
    def messages_for(endpoints: list[dict[str, Any]], event: dict[str, Any]) -> list[dict[str, Any]]:
        """One queue message per endpoint subscribed to the event's type."""
        return [
            {"tenant": event["tenant"], "webhook_id": e["id"], "event": event}
            for e in endpoints
            if "*" in e["events"] or event["type"] in e["events"]
        ]

    def deliver(self, message: dict[str, Any], attempt: int, receipt_handle: str | None) -> bool:
        """Attempt one delivery (``attempt``: 1-based, SQS's receive count). True when done
        (delivered, or nothing to deliver to any more); False when it must be retried: then
        the message has been hidden until its next attempt (or is left for the DLQ)."""
        tenant, webhook_id, event = message["tenant"], message["webhook_id"], message["event"]
        now = self.now()
        k_log = keys.delivery_key(tenant, webhook_id, str(event.get("occurred_at") or ""), event["id"])
        entry = {"event_id": event["id"], "event_type": event["type"], "payload": json.dumps(event),
                 TTL_ATTRIBUTE: epoch(now + DELIVERY_LOG_TTL)}  # fmt: skip
        log = {**entry, "attempts": attempt, "last_attempt_at": keys.stamp(now)}
        endpoint = self.store.get(keys.webhook_key(tenant, webhook_id))
        if not endpoint or endpoint.get("deleted_at") or not endpoint.get("secret"):
            # Nothing sent: the attempts and last attempt stay those of the requests sent
            # before the deletion (none: 0), and no next attempt is pending.
            upsert(self.store, k_log, {**entry, "status": "dropped", "last_error": "webhook deleted"},
                   add={"attempts": 0}, remove=PENDING_ONLY)  # fmt: skip
            return True
        try:
            # Resolved again now, at delivery: refuses private, loopback and link-local
            # addresses (server-side request forgery), also when DNS changed since
            # registration. The delivery connects to these very addresses (rebinding).
            target = webhook_target(endpoint["url"], allow_loopback=allow_loopback())
        except GamificationError as exc:  # any 400 of the URL check: never delivered, logged
            upsert(self.store, k_log, {**log, "status": "refused", "last_error": str(exc)}, remove=PENDING_ONLY)
            return True
        secret = messaging.decrypt(bytes(endpoint["secret"]), {"tenant": tenant, "webhook": webhook_id})
        body = json.dumps(event, separators=(",", ":"), sort_keys=True)
        status, error = _post(target, Webhook(secret), event["id"], body)
        if status is not None and 200 <= status < 300:
            upsert(self.store, k_log, {**log, "status": "delivered", "last_status_code": status,
                                       "delivered_at": keys.stamp(now)}, remove=PENDING_ONLY)  # fmt: skip
            return True
        delay = retry_delay(attempt, backoff_scale())
        failed = {**log, "last_status_code": status, "last_error": error}
        if delay is None or attempt >= MAX_ATTEMPTS:
            upsert(self.store, k_log, {**failed, "status": "dead_lettered"}, remove=PENDING_ONLY)
            if receipt_handle:  # visible again at once: SQS then moves it to the DLQ (maxReceiveCount)
                messaging.retry_later(receipt_handle, 0)
            return False
        upsert(self.store, k_log, {**failed, "status": "retrying",
                                   "next_attempt_at": keys.stamp(now + timedelta(seconds=delay))})  # fmt: skip
        if receipt_handle:
            messaging.retry_later(receipt_handle, delay)
        return False

    def redeliver(self, tenant: str, webhook_id: str, event_id: str) -> bool:
        """Queue one logged delivery again (the same event id, a new attempt series)."""
        pk = keys.delivery_key(tenant, webhook_id, "", "")["pk"]
        start = None
        while True:
            items, start = query_page(self.store, pk, prefix="D#", limit=100, start=start)
            for item in items:
                if item.get("event_id") == event_id and item.get("payload"):
                    messaging.enqueue([{"tenant": tenant, "webhook_id": webhook_id, "event": json.loads(item["payload"])}])
                    return True
            if start is None:
                return False


def _post(target: egress.Target, signer: Webhook, msg_id: str, body: str) -> tuple[int | None, str | None]:
    """POST one signed delivery to the checked ``target`` (:func:`gamification.dal.egress.post`:
    its checked addresses only, no redirects, at most DELIVERY_TIMEOUT_S seconds to connect
    and per read); (HTTP status or None, error text or None).

    ``webhook-timestamp`` is the wall-clock instant of this attempt (UTC seconds), not the
    engine's business clock: receivers reject timestamps far from their own clock (the
    Standard Webhooks replay window), so a test's or replay's fixed "now" must not reach it."""
    now = datetime.now(timezone.utc)
    headers = {
        "content-type": "application/json",
        "user-agent": "gamification-webhooks/1",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signer.sign(msg_id, now, body),
    }
    return egress.post(target, body.encode(), headers, timeout_s=DELIVERY_TIMEOUT_S)
