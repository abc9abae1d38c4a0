"""Shared fixtures.

Backend: Amazon DynamoDB Local, started for the session (tools/local/dynamodb_local.py), or
the DynamoDB endpoint in ``TEST_DYNAMODB_ENDPOINT`` (a URL such as a running DynamoDB Local,
or ``aws`` for the account of the current credentials). The table is created from template.yaml with a
unique name and, on an external endpoint, deleted afterwards.

Isolation: every test gets a fresh tenant (and API key), so tests share one table safely.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from hypothesis import settings

# Hypothesis' per-example deadline is a wall-clock assertion: on a loaded 2-core machine a
# pure property test then fails for being slow, not wrong. Correctness only.
settings.register_profile("no-deadline", deadline=None)
settings.load_profile("no-deadline")

from tools.local import apigw, backend, dynamodb_local, lambdas

lambdas.use_layer()

from gamification import runtime  # noqa: E402
from gamification.dal.store import Store, unmarshal  # noqa: E402
from gamification.domain.ledger import ledger_entries  # noqa: E402
from gamification.usecases import auth

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"


class PartitionIndex:
    """Every partition key the session table's stream has shown, by tenant: a full scan of a
    table that every test writes to costs seconds by the end of the session, one Query per
    partition of a tenant milliseconds.

    Complete for every write made before :meth:`of` is called: each write of an item is a
    record of the table's stream (whoever made it: a function, a CLI, a test), and
    :meth:`of` first waits until a reader of every shard has read to the end since it was
    called (tools/local/streams.py). Started on first use, from the oldest record. Only on a
    local endpoint, where a write's stream record is readable once the write has returned."""

    #: Above this many partitions :meth:`Backend.items` scans instead (a Query costs about
    #: 1/50 of a scan of the session's table on a loaded machine).
    MAX_QUERIES = 50

    def __init__(self, client: Any, table: str) -> None:
        self.client, self.table = client, table
        self._pks: dict[str, set[str]] = {}
        self._lock = threading.Lock()
        self._poller: Any = None

    def _record(self, function: str, event: dict[str, Any]) -> None:
        with self._lock:
            for record in event["Records"]:
                pk = record["dynamodb"]["Keys"]["pk"]["S"]
                if pk.startswith("T#"):
                    self._pks.setdefault(pk.split("#", 2)[1], set()).add(pk)

    def of(self, tenant: str) -> list[str]:
        """The partition keys of ``tenant`` written to so far, sorted."""
        from tools.local import streams as local_streams
        from tools.local.template import StreamSource

        with self._lock:
            if self._poller is None:
                source = StreamSource("partition-index", batch_size=1000, starting_position="TRIM_HORIZON")
                self._poller = local_streams.StreamPoller(self.client, self.table, [source], self._record).start()
        self._poller.wait_until_drained(timeout=300)
        with self._lock:
            return sorted(self._pks.get(tenant, ()))

    def stop(self) -> None:
        if self._poller is not None:
            self._poller.stop()


@dataclass
class Backend:
    endpoint: str | None
    table: str
    client: Any
    #: Waits until the session's stream poller (the ``streams`` fixture) has projected every
    #: write so far; None while no poller runs.
    settle: Any = None
    #: Where :meth:`items` finds a tenant's partitions (None: it scans the table).
    partitions: PartitionIndex | None = None

    def snapshot(self, tenant: str) -> list[dict[str, Any]]:
        """:meth:`items` once the stream's projections of earlier writes have landed, so
        that "this request wrote nothing" compares like with like."""
        if self.settle:
            self.settle()
        return self.items(tenant)

    def items(self, tenant: str) -> list[dict[str, Any]]:
        """Every item whose partition belongs to ``tenant`` (pk ``T#{tenant}#...``): one
        consistent Query per partition the table's stream has ever shown for the tenant
        (:class:`PartitionIndex`), on a local endpoint; a scan of the whole table elsewhere
        and for a tenant of many partitions (big boards), where a scan costs less."""
        pks = self.partitions.of(tenant) if self.partitions is not None else None
        if pks is None or len(pks) > PartitionIndex.MAX_QUERIES:
            return self.scan_items(tenant)
        out: list[dict[str, Any]] = []
        for pk in pks:
            kwargs: dict[str, Any] = {
                "TableName": self.table,
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": {":pk": {"S": pk}},
                "ConsistentRead": True,
            }
            while True:
                resp = self.client.query(**kwargs)
                out += [unmarshal(i) for i in resp["Items"]]
                if "LastEvaluatedKey" not in resp:
                    break
                kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        return out

    def scan_items(self, tenant: str) -> list[dict[str, Any]]:
        """:meth:`items` by a scan of the whole table (slow once the session's table is big)."""
        out: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "FilterExpression": "begins_with(pk, :p)",
            "ExpressionAttributeValues": {":p": {"S": f"T#{tenant}#"}},
            "ConsistentRead": True,
        }
        while True:
            resp = self.client.scan(**kwargs)
            out += [unmarshal(i) for i in resp["Items"]]
            if "LastEvaluatedKey" not in resp:
                return out
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    def ledger(self, tenant: str, kind: str = "XP") -> list[dict[str, Any]]:
        """Ledger entries (``XP`` or ``COIN``) of a tenant, oldest first, as every read sees
        them: those of the users' partitions and keyed entries (an award's entry stored as
        its Idempotency-Key's record, sk ``IDEM``, told by its GSI ``ledger`` sort key
        ``...#{kind}``), and the ``xp_bonus`` coins an XP entry carries as coin entries
        (``ledger_entries``). :meth:`items` shows what is stored."""

        def wanted(i: dict[str, Any]) -> bool:
            keyed = i["sk"] == "IDEM" and str(i.get("ledger_sk", "")).endswith(f"#{kind}")
            return keyed or i["sk"].startswith(f"{kind}#")

        def when(i: dict[str, Any]) -> str:
            return i["sk"][len(kind) + 1:] if i["sk"].startswith(f"{kind}#") else i["ledger_sk"]

        entries = (e for i in self.items(tenant) for e in ledger_entries(i))
        return sorted((e for e in entries if wanted(e)), key=when)


#: The retry policy of the engines the tests race (``Engine(..., **RACE_RETRY)``; the local
#: stack's functions get it through their settings). The production bounds (40 attempts,
#: 5 s) keep a request inside its Lambda timeout; on a CPU-starved machine 8-12 racers on one
#: user can exhaust them and get correct 503s. Racing tests check exactness, not latency.
RACE_RETRY = {"max_attempts": 400, "retry_budget_s": 60.0}


@pytest.fixture(scope="session")
def dynamo() -> Iterator[Backend]:
    target = os.environ.get("TEST_DYNAMODB_ENDPOINT", "").strip()
    server = None
    if not target:
        backend.use_local_credentials()
        try:
            server, endpoint = backend.start_dynamodb()
        except dynamodb_local.Unavailable as exc:
            pytest.exit(f"{exc} (or point TEST_DYNAMODB_ENDPOINT at a DynamoDB endpoint)", returncode=3)
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint
    elif target != "aws":
        backend.use_local_credentials()  # emulators accept any; real ones set are kept
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = target
    table = f"gamification-test-{uuid.uuid4().hex[:8]}"
    os.environ["TABLE_NAME"] = table
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    os.environ.setdefault("GAMIFICATION_MAX_WRITE_ATTEMPTS", str(RACE_RETRY["max_attempts"]))
    os.environ.setdefault("GAMIFICATION_RETRY_BUDGET_SECONDS", str(RACE_RETRY["retry_budget_s"]))
    client = boto3.client("dynamodb")
    backend.create_table(client, table, ttl=False)  # frozen clocks: CONTRIBUTING.md, "Frozen clocks and TTL"
    runtime.reset()
    partitions = PartitionIndex(client, table) if target != "aws" else None
    yield Backend(os.environ.get("AWS_ENDPOINT_URL_DYNAMODB"), table, client, partitions=partitions)
    if partitions:
        partitions.stop()
    if server:
        server.stop()
    else:
        client.delete_table(TableName=table)


@pytest.fixture(scope="session")
def local_api(dynamo: Backend, local_aws: Any) -> Iterator[apigw.LocalHttpApi]:
    """The template's HTTP API; each function's execution environments are processes
    (started after the bus, queues and key stand-ins, so they inherit their endpoints)."""
    api = apigw.LocalHttpApi(dynamo.table)
    yield api
    api.close()


# ---- domain events and webhooks: the bus, queues and key stand-ins, the queue poller ------


@pytest.fixture(scope="session")
def local_aws() -> Iterator[Any]:
    """moto's EventBridge, SQS and KMS with the template's bus, queues and key
    (tools/local/aws_services.py); webhook retries compressed to no wait."""
    from tools.local import aws_services

    os.environ["GAMIFICATION_WEBHOOK_BACKOFF_SCALE"] = "0"
    services = aws_services.provision(aws_services.start())
    yield services
    services.stop()


@pytest.fixture(scope="session")
def queues(local_aws: Any, local_api: apigw.LocalHttpApi) -> Iterator[Any]:
    """The local SQS event source mappings (webhook deliveries): ``queues.wait_until_idle(id)``."""
    from tools.local import aws_services

    poller = aws_services.QueuePoller(local_aws, local_api.invoke).start()
    yield poller
    poller.stop()


@pytest.fixture(scope="session")
def base_url(local_api: apigw.LocalHttpApi) -> Iterator[str]:
    server = apigw.make_server(local_api, port=0, quiet=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


# ---- stream poller: the template's stream event sources, through the API's environments ----


@pytest.fixture(scope="session")
def streams(dynamo: Backend, local_api: apigw.LocalHttpApi) -> Iterator[Any]:
    """The local event source mapping of the table's stream (tools/local/streams.py):
    ``streams.wait_until_drained()`` waits for projections; ``streams.dead_letters``."""
    from tools.local import streams as local_streams

    poller = local_streams.start(dynamo.client, dynamo.table, local_api.invoke)
    dynamo.settle = poller.wait_until_drained
    yield poller
    dynamo.settle = None
    poller.stop()


# ---- leaderboards: boards are a projection of the ledger's stream ----


def drain_before_board_reads(api: Any, streams: Any, monkeypatch: Any) -> None:
    """Make ``api.get`` of ``/v1/leaderboards/...`` and of dashboards (ranks) wait until the
    stream poller has fed every ledger entry written so far to the board projector (no
    sleeping)."""
    original = api.get

    def get(path: str, **params: Any) -> requests.Response:
        if path.startswith("/v1/leaderboards") or path.endswith("/dashboard"):
            streams.wait_until_drained()
        return original(path, **params)

    monkeypatch.setattr(api, "get", get)


@pytest.fixture
def boards_projected(api: Any, streams: Any, monkeypatch: Any) -> None:
    """:func:`drain_before_board_reads` for one test."""
    drain_before_board_reads(api, streams, monkeypatch)


@dataclass
class Tenant:
    id: str
    api_key: str


@pytest.fixture
def tenant(dynamo: Backend) -> Tenant:
    t = Tenant(f"t-{uuid.uuid4().hex[:12]}", auth.new_api_key())
    auth.register_api_key(Store(dynamo.client, dynamo.table), t.id, t.api_key)
    return t


class Api:
    """A small HTTP client for one tenant against the local API server."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self.base = base_url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {api_key}"

    def post(self, path: str, body: Any = None, key: str | None = None, raw: str | None = None) -> requests.Response:
        headers = {"Content-Type": "application/json"}
        if key:
            headers["Idempotency-Key"] = key
        data = raw if raw is not None else json.dumps(body)
        return self.session.post(self.base + path, data=data, headers=headers, timeout=30)

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.session.get(self.base + path, params=params or None, timeout=30)

    def xp(self, user: str, action: str, key: str | None = None, **extra: Any) -> requests.Response:
        return self.post(f"/v1/users/{user}/xp", {"action": action, **extra}, key=key)

    def coins(self, user: str, reason: str, key: str | None = None, **extra: Any) -> requests.Response:
        return self.post(f"/v1/users/{user}/coins", {"reason": reason, **extra}, key=key)


@pytest.fixture
def api(base_url: str, tenant: Tenant) -> Api:
    return Api(base_url, tenant.api_key)


@contextmanager
def fixed_clock(local_api: apigw.LocalHttpApi) -> Iterator[Any]:
    """Set the engine's "now" with ``.set(datetime)``, in this process's engine and in every
    execution environment of the local stack (a control message, tools/local/worker.py);
    the real clock again on exit."""
    engine = runtime.engine()
    original = engine.now

    class _Clock:
        def set(self, instant: datetime) -> None:
            engine.now = lambda: instant
            local_api.control("set_now", instant, sticky="now")

    try:
        yield _Clock()
    finally:
        engine.now = original
        local_api.control("set_now", None, sticky="now")


@pytest.fixture
def clock(dynamo: Backend, local_api: apigw.LocalHttpApi) -> Iterator[Any]:
    """:func:`fixed_clock` for one test."""
    with fixed_clock(local_api) as c:
        yield c


class Environments:
    """Run a helper inside the local stack's execution environments (they are processes of
    their own, so a monkeypatch in the test process does not reach them)."""

    def __init__(self, api: apigw.LocalHttpApi) -> None:
        self.api = api
        self._sticky: set[str] = set()

    def call(self, helper: str, *args: Any, functions: list[str] | None = None) -> list[Any]:
        """``helper`` ("module:function") with ``args`` in every environment of ``functions``,
        also in those started later (until :meth:`reset`). Returns each one's result."""
        key = f"call:{helper}"
        self._sticky.add(key)
        return self.api.control("call", helper, args, {}, functions=functions, sticky=key)

    def reset(self) -> None:
        """Every environment rebuilds its runtime (settings, rules, client, engine) from this
        process's variables, dropping whatever a helper patched."""
        for key in self._sticky:
            self.api.unstick(key)
        self._sticky.clear()
        self.api.control("reset_runtime", dict(os.environ))


@pytest.fixture
def environments(local_api: apigw.LocalHttpApi) -> Iterator[Environments]:
    envs = Environments(local_api)
    yield envs
    envs.reset()


def load_event(name: str, tenant: str | None = None) -> dict[str, Any]:
    """An event file from events/, with its authorizer context pointed at ``tenant``."""
    event = json.loads((EVENTS / name).read_text())
    if tenant is not None and "requestContext" in event and "authorizer" in event["requestContext"]:
        event["requestContext"]["authorizer"]["lambda"]["tenant_id"] = tenant
    return event


@pytest.fixture
def receiver():
    """``receiver(plan=(), tls=None, location=None)`` starts a real webhook receiver on
    loopback (:class:`tests.webhook_receiver.Receiver`); all are closed after the test."""
    from tests.webhook_receiver import Receiver

    made = []

    def make(plan=(), tls=None, location=None):
        made.append(Receiver(plan, tls, location))
        return made[-1]

    yield make
    for r in made:
        r.close()
