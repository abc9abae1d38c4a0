"""The AWS services of domain events and webhooks besides DynamoDB: the EventBridge bus,
the SQS delivery queue and the KMS key that encrypts webhook secrets (boto3, one client
each per process). Endpoints come from botocore's ``AWS_ENDPOINT_URL_EVENTBRIDGE`` / ``_SQS``
/ ``_KMS`` when set (the local stack points them at its stand-in)."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config

from gamification.settings import environment

#: EventBridge ``source`` of every domain event.
EVENT_SOURCE = "gamification"
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=5)


@lru_cache(maxsize=4)
def client(service: str) -> Any:
    return boto3.client(service, config=_CONFIG)


def _required(value: str | None, name: str) -> str:
    if not value:
        raise RuntimeError(f"{name} is not set (the stack sets it for the functions that need it)")
    return value


class PublishFailed(RuntimeError):
    """EventBridge refused some entries (the stream batch is retried; ids are stable)."""


def publish(events: list[dict[str, Any]], bus: str | None = None) -> None:
    """PutEvents, 10 per request: ``detail-type`` = the event type, ``detail`` = the event."""
    bus = bus or _required(environment().event_bus_name, "EVENT_BUS_NAME")
    for i in range(0, len(events), 10):
        entries = [
            {"Source": EVENT_SOURCE, "DetailType": e["type"], "Detail": json.dumps(e), "EventBusName": bus}
            for e in events[i : i + 10]
        ]
        resp = client("events").put_events(Entries=entries)
        if resp.get("FailedEntryCount"):
            raise PublishFailed(f"{resp['FailedEntryCount']} of {len(entries)} events refused")


def enqueue(messages: list[dict[str, Any]], queue_url: str | None = None) -> None:
    """SendMessageBatch of JSON ``messages``, 10 per request; raises if any is refused."""
    queue_url = queue_url or _required(environment().webhook_queue_url, "WEBHOOK_QUEUE_URL")
    for i in range(0, len(messages), 10):
        chunk = messages[i : i + 10]
        resp = client("sqs").send_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(n), "MessageBody": json.dumps(m)} for n, m in enumerate(chunk)],
        )
        if resp.get("Failed"):
            raise PublishFailed(f"{len(resp['Failed'])} of {len(chunk)} deliveries not queued")


def retry_later(receipt_handle: str, seconds: int, queue_url: str | None = None) -> None:
    """Hide a received message for ``seconds`` (its next attempt), via its visibility."""
    queue_url = queue_url or _required(environment().webhook_queue_url, "WEBHOOK_QUEUE_URL")
    client("sqs").change_message_visibility(
        QueueUrl=queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=min(max(seconds, 0), 43200)
    )


def move_dead_letters(dlq_url: str, queue_url: str, limit: int = 1000) -> int:
    """Move up to ``limit`` messages from the dead-letter queue back to the queue."""
    sqs = client("sqs")
    moved = 0
    while moved < limit:
        resp = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        msgs = resp.get("Messages", [])
        if not msgs:
            return moved
        for m in msgs:
            sqs.send_message(QueueUrl=queue_url, MessageBody=m["Body"])
            sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=m["ReceiptHandle"])
            moved += 1
    return moved


def encrypt(plaintext: str, context: dict[str, str], key_id: str | None = None) -> bytes:
    """KMS Encrypt under ``WEBHOOK_KEY_ID`` with an encryption context (tenant, webhook)."""
    key_id = key_id or _required(environment().webhook_key_id, "WEBHOOK_KEY_ID")
    return client("kms").encrypt(KeyId=key_id, Plaintext=plaintext.encode(), EncryptionContext=context)["CiphertextBlob"]


def decrypt(ciphertext: bytes, context: dict[str, str]) -> str:
    """KMS Decrypt (the key is named by the ciphertext; the context must match)."""
    return client("kms").decrypt(CiphertextBlob=ciphertext, EncryptionContext=context)["Plaintext"].decode()
