"""Local stand-ins for the template's EventBridge bus, SQS queues and KMS key, and a local
SQS event source mapping (the ``Events`` of ``Type: SQS``), as Lambda's poller runs it.

- :func:`start` runs moto's server for ``events``, ``sqs`` and ``kms`` in this process and
  points botocore at it (``AWS_ENDPOINT_URL_EVENTBRIDGE`` / ``_SQS`` / ``_KMS``).
- :func:`provision` creates every ``AWS::SQS::Queue`` (with its ``RedrivePolicy``: SQS itself
  dead-letters after ``maxReceiveCount``), ``AWS::Events::EventBus`` and ``AWS::KMS::Key``
  of template.yaml, and sets each function environment variable that is a ``!Ref`` to one
  of them to its physical id (queue URL, bus name, key id), as CloudFormation would.
  :meth:`Services.listen` adds a tap queue with a rule on each bus that keeps what is
  published from then on, for inspection (:meth:`Services.published`).
- :class:`QueuePoller` receives from each mapped queue (batches of ``BatchSize``), invokes
  the function with Lambda's SQS event, deletes the messages that succeeded (all, or all
  but the ``batchItemFailures``) and leaves the others to reappear when their visibility
  timeout ends (the function sets it per retry).
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import boto3

from tools.local import template

REGION = "us-east-1"
#: botocore's service-specific endpoint variables (``AWS_ENDPOINT_URL_<service id>``).
ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL_EVENTBRIDGE", "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_KMS")


@dataclass
class Services:
    endpoint: str
    server: Any = None
    queues: dict[str, str] = field(default_factory=dict)  # logical id -> URL
    queue_arns: dict[str, str] = field(default_factory=dict)
    buses: dict[str, str] = field(default_factory=dict)  # logical id -> name
    keys: dict[str, str] = field(default_factory=dict)  # logical id -> key id
    taps: dict[str, str] = field(default_factory=dict)  # bus logical id -> tap queue URL
    _seen: list[dict[str, Any]] = field(default_factory=list)

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION)

    def published(self) -> list[dict[str, Any]]:
        """Every event published to the template's buses since :meth:`listen` (EventBridge
        envelopes)."""
        sqs = self.client("sqs")
        for url in self.taps.values():
            while True:
                msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
                if not msgs:
                    break
                for m in msgs:
                    self._seen.append(json.loads(m["Body"]))
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return list(self._seen)

    def listen(self) -> None:
        """Keep what the buses publish from now on (:meth:`published`): a tap queue and a
        rule matching every event on each bus. Opt-in and short-lived: each of moto's queue
        writes and reads costs O(queued messages), so a tap left on for a session (or a
        ``make run``) would slow every publish down."""
        sqs, events = self.client("sqs"), self.client("events")
        for lid, bus in self.buses.items():
            name = f"{bus}-tap-{uuid.uuid4().hex[:6]}"
            url = sqs.create_queue(QueueName=name)["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps({"source": [{"prefix": ""}]}))
            events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "tap", "Arn": arn}])
            self.taps[lid] = url

    def stop_listening(self) -> None:
        """Remove the taps of :meth:`listen` and forget what they kept."""
        sqs, events = self.client("sqs"), self.client("events")
        for lid, url in self.taps.items():
            name = url.rsplit("/", 1)[-1]
            events.remove_targets(Rule=name, EventBusName=self.buses[lid], Ids=["tap"])
            events.delete_rule(Name=name, EventBusName=self.buses[lid])
            sqs.delete_queue(QueueUrl=url)
        self.taps.clear()
        self._seen.clear()

    def stop(self) -> None:
        if self.server:
            self.server.stop()


def start(endpoint: str | None = None) -> Services:
    """Start moto's server for the bus, queues and key (or use ``endpoint``)."""
    server = None
    if endpoint is None:
        import logging

        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log line per poll

        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
    for variable in ENDPOINT_VARIABLES:
        os.environ[variable] = endpoint
    return Services(endpoint, server)


def provision(services: Services, prefix: str | None = None) -> Services:
    """Create the template's queues, buses and keys; set the functions' ``!Ref`` variables."""
    doc = template.load()
    prefix = prefix or f"local-{uuid.uuid4().hex[:6]}"
    resources = doc["Resources"]
    sqs, events, kms = services.client("sqs"), services.client("events"), services.client("kms")
    queues = {lid: r for lid, r in resources.items() if r["Type"] == "AWS::SQS::Queue"}
    # Dead-letter queues first: a queue's RedrivePolicy names its DLQ's ARN.
    for lid in sorted(queues, key=lambda q: "RedrivePolicy" in queues[q].get("Properties", {})):
        props = queues[lid].get("Properties", {})
        attrs = {"VisibilityTimeout": str(props.get("VisibilityTimeout", 30)),
                 "MessageRetentionPeriod": str(props.get("MessageRetentionPeriod", 345600))}  # fmt: skip
        redrive = props.get("RedrivePolicy")
        if redrive:
            dlq = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
            attrs["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": services.queue_arns[dlq], "maxReceiveCount": int(redrive["maxReceiveCount"])}
            )
        url = sqs.create_queue(QueueName=f"{prefix}-{lid}", Attributes=attrs)["QueueUrl"]
        services.queues[lid] = url
        services.queue_arns[lid] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    for lid, res in resources.items():
        if res["Type"] == "AWS::Events::EventBus":
            name = f"{prefix}-{lid}"
            events.create_event_bus(Name=name)
            services.buses[lid] = name
        elif res["Type"] == "AWS::KMS::Key":
            services.keys[lid] = kms.create_key(Description=f"{prefix} {lid}")["KeyMetadata"]["KeyId"]
    physical = {**services.queues, **services.buses, **services.keys}
    for res in resources.values():
        if res["Type"] != "AWS::Serverless::Function":
            continue
        for var, value in res["Properties"].get("Environment", {}).get("Variables", {}).items():
            if isinstance(value, dict) and value.get("Ref") in physical:
                os.environ[var] = physical[value["Ref"]]
    # Locally, webhooks may go to loopback receivers (tests, a developer's listener).
    os.environ["GAMIFICATION_WEBHOOK_ALLOW_LOOPBACK"] = "true"
    return services


@dataclass(frozen=True)
class QueueSource:
    function: str
    queue: str  # logical id
    batch_size: int = 10
    report_batch_item_failures: bool = False


def queue_sources(doc: dict[str, Any] | None = None) -> list[QueueSource]:
    """Every function event of ``Type: SQS`` in the template."""
    doc = doc or template.load()
    out = []
    for lid, res in doc["Resources"].items():
        if res["Type"] != "AWS::Serverless::Function":
            continue
        for ev in res["Properties"].get("Events", {}).values():
            if ev["Type"] == "SQS":
                p = ev["Properties"]
                out.append(QueueSource(lid, p["Queue"]["Fn::GetAtt"][0], int(p.get("BatchSize", 10)),
                                       "ReportBatchItemFailures" in p.get("FunctionResponseTypes", [])))  # fmt: skip
    return out


class QueuePoller:
    """Feeds each mapped queue to its function through ``invoke(logical_id, event)``."""

    def __init__(self, services: Services, invoke: Any, sources: list[QueueSource] | None = None) -> None:
        self.services = services
        self.invoke = invoke
        self.sources = sources if sources is not None else queue_sources()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(s,), daemon=True) for s in self.sources]
        self.errors: list[str] = []
        self.busy = 0
        self._lock = threading.Lock()

    def start(self) -> QueuePoller:
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=5)

    def _run(self, source: QueueSource) -> None:
        sqs = self.services.client("sqs")
        url = self.services.queues[source.queue]
        arn = self.services.queue_arns[source.queue]
        while not self._stop.is_set():
            try:
                msgs = sqs.receive_message(
                    QueueUrl=url, MaxNumberOfMessages=min(source.batch_size, 10), WaitTimeSeconds=0,
                    AttributeNames=["All"], MessageAttributeNames=["All"],
                ).get("Messages", [])  # fmt: skip
            except Exception as exc:  # noqa: BLE001 - the stand-in keeps polling, like Lambda
                self.errors.append(repr(exc))
                time.sleep(0.2)
                continue
            if not msgs:
                time.sleep(0.05)
                continue
            with self._lock:
                self.busy += 1
            try:
                self._deliver(sqs, source, url, arn, msgs)
            finally:
                with self._lock:
                    self.busy -= 1

    def _deliver(self, sqs: Any, source: QueueSource, url: str, arn: str, msgs: list[dict[str, Any]]) -> None:
        event = {"Records": [_lambda_record(m, arn) for m in msgs]}
        try:
            result = self.invoke(source.function, event)
        except Exception as exc:  # noqa: BLE001 - a function error: every message is retried
            self.errors.append(repr(exc))
            return
        failed = set()
        if source.report_batch_item_failures and isinstance(result, dict):
            failed = {f.get("itemIdentifier") for f in result.get("batchItemFailures") or []}
        for m in msgs:
            if m["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])

    def wait_until_idle(self, queue: str, timeout: float = 30.0, settle: float = 0.3) -> None:
        """Return once ``queue`` (logical id) has no message visible, hidden or delayed, and no
        batch is being handled, for ``settle`` seconds. Raises TimeoutError."""
        sqs = self.services.client("sqs")
        url = self.services.queues[queue]
        deadline = time.monotonic() + timeout
        quiet_since = None
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"]
        while time.monotonic() < deadline:
            attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
            idle = not self.busy and all(int(attrs.get(n, 0)) == 0 for n in names)
            if idle:
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since >= settle:
                    return
            else:
                quiet_since = None
            time.sleep(0.05)
        raise TimeoutError(f"queue {queue} still busy after {timeout}s")


def _lambda_record(m: dict[str, Any], arn: str) -> dict[str, Any]:
    """An SQS message as Lambda's SQS event delivers it."""
    return {
        "messageId": m["MessageId"],
        "receiptHandle": m["ReceiptHandle"],
        "body": m["Body"],
        "attributes": m.get("Attributes", {}),
        "messageAttributes": m.get("MessageAttributes", {}),
        "md5OfBody": m.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": arn,
        "awsRegion": REGION,
    }
