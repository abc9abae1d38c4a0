"""Inject DynamoDB faults into a boto3 client at the botocore layer (event hooks), to show
that retries with the same Idempotency-Key neither lose nor double an award.

- :class:`Throttle`: answers a share of requests with ``ThrottlingException`` or
  ``ProvisionedThroughputExceededException`` (HTTP 400) before they reach DynamoDB;
  botocore retries them, and when its attempts run out the request fails (HTTP 500).
- :class:`ResetAfterCommit`: sends a write to DynamoDB, lets it commit, then drops the
  connection before the answer arrives (``ConnectionClosedError``); botocore retries a
  write that already happened.
- :class:`CrashAfterCommit`: the invocation dies right after a write committed (a Lambda
  timeout or crash before the response): the client sees a 5xx and retries.

Each is a context manager; ``injected`` counts the faults it caused. Choices are random with a
fixed seed so a run can be repeated.
"""

from __future__ import annotations

import json
import random
import threading
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ConnectionClosedError
from botocore.httpsession import URLLib3Session


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: Any):
        yield self.data


#: The writes the engine sends (a transaction, or a single conditional put).
WRITES = ("TransactWriteItems", "PutItem")


class InvocationCrashed(RuntimeError):
    """Stands for a Lambda invocation that timed out or crashed mid-request."""


class _Fault:
    event = ""
    uid = ""

    def __init__(self, client: Any, probability: float, operations: tuple[str, ...] = WRITES, seed: int = 5) -> None:
        self.client = client
        self.probability = probability
        self.operations = operations
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.injected = 0

    def _hit(self, operation: str) -> bool:
        if self.operations and operation not in self.operations:
            return False
        with self.lock:
            if self.rng.random() < self.probability:
                self.injected += 1
                return True
        return False

    def __enter__(self) -> _Fault:
        self.client.meta.events.register_first(self.event, self._handler, unique_id=self.uid)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.client.meta.events.unregister(self.event, unique_id=self.uid)

    def _handler(self, **kwargs: Any) -> Any:
        raise NotImplementedError


def _operation(request: Any) -> str:
    target = request.headers.get("X-Amz-Target", b"")
    target = target.decode() if isinstance(target, bytes) else target
    return target.rsplit(".", 1)[-1]


class Throttle(_Fault):
    """Refuse a share of requests as DynamoDB does when a partition or the account is over
    its throughput (alternating the two error codes).

    ``probability``: each attempt alone; ``burst``: a call whose every attempt is refused
    (the next ``burst_length`` attempts on the thread), so botocore gives up and the
    request fails as a whole.
    """

    event, uid = "before-send.dynamodb", "fault-throttle"
    CODES = (
        "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
        "com.amazon.coral.availability#ThrottlingException",
    )

    def __init__(self, client: Any, probability: float, operations: tuple[str, ...] = (), seed: int = 5,
                 burst: float = 0.0, burst_length: int = 5) -> None:
        super().__init__(client, probability, operations, seed)
        self.burst, self.burst_length = burst, burst_length
        self._pending = threading.local()
        self.bursts = 0

    def _throttled(self, operation: str) -> bool:
        left = getattr(self._pending, "left", 0)
        if left:
            self._pending.left = left - 1
            with self.lock:
                self.injected += 1
            return True
        if self.burst:
            with self.lock:
                start = self.rng.random() < self.burst
                if start:
                    self.bursts += 1
                    self.injected += 1
            if start:
                self._pending.left = self.burst_length - 1
                return True
        return self._hit(operation)

    def _handler(self, request: Any, **_: Any) -> AWSResponse | None:
        if not self._throttled(_operation(request)):
            return None
        code = self.CODES[self.injected % 2]
        body = json.dumps({"__type": code, "message": "Rate of requests exceeds the allowed throughput."}).encode()
        headers = {"content-type": "application/x-amz-json-1.0", "x-amzn-requestid": f"fault-{self.injected}"}
        return AWSResponse(request.url, 400, headers, _Body(body))


class ResetAfterCommit(_Fault):
    """Deliver a write, then lose the connection before its response is read."""

    event, uid = "before-send.dynamodb", "fault-reset"

    def __init__(
        self, client: Any, probability: float, operations: tuple[str, ...] = WRITES, seed: int = 5
    ) -> None:
        super().__init__(client, probability, operations, seed)
        self._session = URLLib3Session()

    def _handler(self, request: Any, **_: Any) -> None:
        if not self._hit(_operation(request)):
            return None
        response = self._session.send(request)  # the write reaches DynamoDB and is applied
        response.content  # noqa: B018 - read it fully, then pretend it never arrived
        raise ConnectionClosedError(endpoint_url=request.url)


class CrashAfterCommit(_Fault):
    """Kill the invocation right after a write succeeded (timeout or crash before answering)."""

    event, uid = "after-call.dynamodb", "fault-crash"

    def _handler(self, http_response: Any, model: Any, **_: Any) -> None:
        if http_response.status_code < 300 and self._hit(model.name):
            raise InvocationCrashed(f"invocation timed out after {model.name} committed")


# ---- in the local stack's execution environments ------------------------------------------
# Each environment is a process of its own (tools/local/lambdas.py): a fault is installed on
# the DynamoDB client of every one of them by a control message, not on this process's.

_installed: dict[str, _Fault] = {}


def install(kind: str, *args: Any, **kwargs: Any) -> None:
    """Install fault ``kind`` (a class of this module) on the functions' DynamoDB client of
    this process. Runs inside an execution environment; each draws from a random sequence
    of its own (seeded with its process id): with one seed for all, environments that see
    only a few requests each would all draw the same first few numbers."""
    import os

    from gamification.dal.store import dynamodb_client

    kwargs.setdefault("seed", os.getpid())
    fault = globals()[kind](dynamodb_client(), *args, **kwargs)
    fault.__enter__()
    _installed[kind] = fault


def remove(kind: str) -> int:
    """Remove fault ``kind``; returns how many faults it injected here."""
    fault = _installed.pop(kind, None)
    if fault is None:
        return 0
    fault.__exit__(None, None, None)
    return fault.injected


class InEnvironments:
    """``with InEnvironments(api, "Throttle", 0.2, burst=0.03) as f:`` installs a fault in
    every execution environment of the local API ``api`` (those started meanwhile too);
    afterwards ``f.injected`` sums what they all injected."""

    def __init__(self, api: Any, kind: str, *args: Any, **kwargs: Any) -> None:
        self.api, self.kind, self.args, self.kwargs = api, kind, args, kwargs
        self.key = f"fault:{kind}"
        self.injected = 0

    def __enter__(self) -> InEnvironments:
        self.api.control("call", f"{__name__}:install", (self.kind, *self.args), self.kwargs, sticky=self.key)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.api.unstick(self.key)
        self.injected = sum(self.api.control("call", f"{__name__}:remove", (self.kind,), {}))
