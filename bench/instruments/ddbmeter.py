"""Meter DynamoDB traffic of a boto3 client with botocore event hooks: round trips, items read
and written (GSI writes included), and capacity units computed from real item sizes.

Sizes follow the DynamoDB developer guide ("Item sizes and formats", "Read/write capacity
unit consumption", "Transactions: capacity management"):

- item size = sum over attributes of UTF-8 name length + value size; S and B their bytes;
  N about 1 byte per 2 significant digits + 1; BOOL and NULL 1; L and M 3 bytes + 1 per
  element (+ key names for M); sets the sum of their elements;
- a write costs 1 WCU per started KB of the larger of the item before and after it (a
  missing item counts 1), twice that inside a transaction; each GSI whose projection
  changes costs one more write of the projected size (two when the index key changes);
- a read costs 1 RCU per started 4 KB strongly consistent, half eventually consistent,
  twice in a transaction; a key that matches no item still costs the minimum; Query and
  Scan round the sum of the evaluated items' sizes, not each item.

The item sizes before and after each write are read through a second, unmetered client, so
the figures do not depend on what the backend reports. When the backend reports
``ConsumedCapacity`` (real DynamoDB does when asked), it is recorded next to the computed
figure for comparison.

:class:`Recorder` also keeps each raw HTTP response, and :class:`Replayer` serves them back
through ``before-send`` so that a handler can be timed with DynamoDB I/O stubbed out while
botocore still serialises requests and parses responses as in Lambda.
"""

from __future__ import annotations

import copy
import math
import threading
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from botocore.awsrequest import AWSResponse

WRITE_UNIT = 1024
READ_UNIT = 4096


# ---- item sizes ----------------------------------------------------------------------


def number_size(text: str) -> int:
    """Bytes DynamoDB counts for a number: 1 per two significant digits, plus 1 (leading and
    trailing zeros are trimmed)."""
    mantissa = str(text).strip().lstrip("+-").lower().split("e")[0]
    digits = mantissa.replace(".", "").strip("0")
    return math.ceil(len(digits) / 2) + 1


def value_size(value: dict[str, Any]) -> int:
    """Bytes of one attribute value in DynamoDB's wire format (``{"S": "x"}``)."""
    (kind, raw), = value.items()
    if kind == "S":
        return len(raw.encode())
    if kind == "N":
        return number_size(raw)
    if kind == "B":
        return len(raw)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in raw)
    if kind == "NS":
        return sum(number_size(n) for n in raw)
    if kind == "BS":
        return sum(len(b) for b in raw)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in raw)
    if kind == "M":
        return 3 + sum(len(k.encode()) + 1 + value_size(v) for k, v in raw.items())
    raise ValueError(f"unknown DynamoDB type {kind}")


def item_size(item: dict[str, Any] | None) -> int:
    """Bytes of an item (attribute names + values); 0 for no item."""
    if not item:
        return 0
    return sum(len(name.encode()) + value_size(v) for name, v in item.items())


def write_units(size: int, transactional: bool = False) -> int:
    return max(1, math.ceil(size / WRITE_UNIT)) * (2 if transactional else 1)


def read_units(size: int, consistent: bool, transactional: bool = False) -> float:
    units = max(1, math.ceil(size / READ_UNIT))
    if transactional:
        return units * 2.0
    return float(units) if consistent else units / 2


# ---- the table's shape -----------------------------------------------------------------


@dataclass(frozen=True)
class Index:
    name: str
    keys: tuple[str, ...]
    projection: str  # ALL | KEYS_ONLY | INCLUDE
    include: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableShape:
    """Key attributes and GSIs of the table, from template.yaml."""

    keys: tuple[str, ...]
    indexes: tuple[Index, ...] = ()

    @classmethod
    def from_definition(cls, props: dict[str, Any]) -> TableShape:
        keys = tuple(k["AttributeName"] for k in props["KeySchema"])
        indexes = tuple(
            Index(
                gsi["IndexName"],
                tuple(k["AttributeName"] for k in gsi["KeySchema"]),
                gsi.get("Projection", {}).get("ProjectionType", "ALL"),
                tuple(gsi.get("Projection", {}).get("NonKeyAttributes", [])),
            )
            for gsi in props.get("GlobalSecondaryIndexes", []) or []
        )
        return cls(keys, indexes)

    def key_of(self, item: dict[str, Any]) -> dict[str, Any]:
        return {k: item[k] for k in self.keys}

    def projection(self, index: Index, item: dict[str, Any] | None) -> dict[str, Any] | None:
        """The item as the index stores it, or None when the item is not in the index."""
        if not item or any(k not in item for k in index.keys):
            return None
        if index.projection == "ALL":
            return dict(item)
        wanted = set(self.keys) | set(index.keys) | (set(index.include) if index.projection == "INCLUDE" else set())
        return {k: v for k, v in item.items() if k in wanted}

    def gsi_writes(self, before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[int]:
        """Sizes of the index writes one table write causes (a delete plus a put when the
        index key changes)."""
        sizes: list[int] = []
        for index in self.indexes:
            old, new = self.projection(index, before), self.projection(index, after)
            if old == new:
                continue
            if old is not None and new is not None and any(old[k] != new[k] for k in index.keys):
                sizes += [item_size(old), item_size(new)]
            else:
                sizes.append(item_size(new if new is not None else old))
        return sizes


# ---- the meter -------------------------------------------------------------------------


@dataclass
class Call:
    """One DynamoDB round trip and what it cost."""

    operation: str
    ok: bool = True
    items_read: int = 0
    items_written: int = 0
    gsi_writes: int = 0
    rcu: float = 0.0
    wcu: float = 0.0
    reported_capacity: float | None = None
    raw_response: tuple[int, dict[str, str], bytes] | None = None


@dataclass
class Totals:
    requests: int = 0
    items_read: int = 0
    items_written: int = 0
    rcu: float = 0.0
    wcu: float = 0.0
    reported_capacity: float | None = None
    operations: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out = {
            "requests": self.requests,
            "items_read": self.items_read,
            "items_written": self.items_written,
            "rcu": round(self.rcu, 3),
            "wcu": round(self.wcu, 3),
            "dynamodb_calls": dict(self.operations),
        }
        if self.reported_capacity is not None:
            out["reported_capacity_units"] = round(self.reported_capacity, 3)
        return out


_WRITE_OPS = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}
_REPORTING_OPS = {
    "GetItem", "BatchGetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan",
    "TransactWriteItems", "TransactGetItems", "BatchWriteItem",
}


class Recorder:
    """Meters every call of ``client`` (and keeps its raw response) while attached.

    ``shadow`` is a second client on the same endpoint, used to read items before and after
    writes; it is not metered. ``ask_capacity`` adds ``ReturnConsumedCapacity=TOTAL`` so a
    real DynamoDB reports its own figure too.
    """

    def __init__(self, client: Any, shadow: Any, table: str, shape: TableShape, ask_capacity: bool = True) -> None:
        self.client, self.shadow, self.table, self.shape = client, shadow, table, shape
        self.ask_capacity = ask_capacity
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._attached = False

    # hooks ---------------------------------------------------------------------------

    def attach(self) -> Recorder:
        events = self.client.meta.events
        events.register("before-parameter-build.dynamodb", self._before_params, unique_id="ddbmeter-params")
        events.register("before-call.dynamodb", self._before_call, unique_id="ddbmeter-before")
        events.register("after-call.dynamodb", self._after_call, unique_id="ddbmeter-after")
        self._attached = True
        return self

    def detach(self) -> None:
        events = self.client.meta.events
        events.unregister("before-parameter-build.dynamodb", unique_id="ddbmeter-params")
        events.unregister("before-call.dynamodb", unique_id="ddbmeter-before")
        events.unregister("after-call.dynamodb", unique_id="ddbmeter-after")
        self._attached = False

    def __enter__(self) -> Recorder:
        return self.attach()

    def __exit__(self, *exc: Any) -> None:
        self.detach()

    def reset(self) -> None:
        with self._lock:
            self.calls = []

    def _before_params(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if self.ask_capacity and model.name in _REPORTING_OPS:
            params.setdefault("ReturnConsumedCapacity", "TOTAL")
        context["ddbmeter_params"] = copy.deepcopy(params)

    def _write_keys(self, op: str, params: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
        """(key, item put) of every item a write request touches."""
        out: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
        if op == "PutItem":
            out.append((self.shape.key_of(params["Item"]), params["Item"]))
        elif op in ("UpdateItem", "DeleteItem"):
            out.append((params["Key"], None))
        elif op == "TransactWriteItems":
            for entry in params["TransactItems"]:
                if "Put" in entry:
                    out.append((self.shape.key_of(entry["Put"]["Item"]), entry["Put"]["Item"]))
                elif "Update" in entry:
                    out.append((entry["Update"]["Key"], None))
                elif "Delete" in entry:
                    out.append((entry["Delete"]["Key"], None))
        elif op == "BatchWriteItem":
            for reqs in params["RequestItems"].values():
                for r in reqs:
                    if "PutRequest" in r:
                        item = r["PutRequest"]["Item"]
                        out.append((self.shape.key_of(item), item))
                    else:
                        out.append((r["DeleteRequest"]["Key"], None))
        return out

    def _read_item(self, key: dict[str, Any]) -> dict[str, Any] | None:
        return self.shadow.get_item(TableName=self.table, Key=key, ConsistentRead=True).get("Item")

    def _before_call(self, model: Any, context: dict[str, Any], **_: Any) -> None:
        params = context.get("ddbmeter_params", {})
        if model.name in _WRITE_OPS:
            context["ddbmeter_before"] = [
                (key, self._read_item(key)) for key, _put in self._write_keys(model.name, params)
            ]

    def _after_call(self, http_response: Any, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        op = model.name
        params = context.get("ddbmeter_params", {})
        call = Call(op, ok=http_response.status_code < 300)
        call.raw_response = (http_response.status_code, dict(http_response.headers), http_response.content)
        if call.ok:
            self._cost(call, op, params, parsed, context)
        reported = parsed.get("ConsumedCapacity")
        if reported:
            entries = reported if isinstance(reported, list) else [reported]
            call.reported_capacity = sum(float(e.get("CapacityUnits", 0)) for e in entries)
        with self._lock:
            self.calls.append(call)

    def _cost(self, call: Call, op: str, params: dict[str, Any], parsed: dict[str, Any], context: dict[str, Any]) -> None:
        if op in _WRITE_OPS:
            transactional = op == "TransactWriteItems"
            for key, before in context.get("ddbmeter_before", []):
                after = self._read_item(key)
                call.items_written += 1
                call.wcu += write_units(max(item_size(before), item_size(after)), transactional)
                for size in self.shape.gsi_writes(before, after):
                    call.gsi_writes += 1
                    call.items_written += 1
                    call.wcu += write_units(size)
        elif op == "GetItem":
            call.items_read = 1
            call.rcu = read_units(item_size(parsed.get("Item")), bool(params.get("ConsistentRead")))
        elif op == "BatchGetItem":
            for table, spec in params["RequestItems"].items():
                found = {
                    tuple(sorted((k, str(v)) for k, v in self.shape.key_of(i).items())): i
                    for i in parsed.get("Responses", {}).get(table, [])
                }
                unprocessed = parsed.get("UnprocessedKeys", {}).get(table, {}).get("Keys", [])
                for key in spec["Keys"]:
                    if key in unprocessed:
                        continue
                    item = found.get(tuple(sorted((k, str(v)) for k, v in key.items())))
                    call.items_read += 1
                    call.rcu += read_units(item_size(item), bool(spec.get("ConsistentRead")))
        elif op == "TransactGetItems":
            for entry in parsed.get("Responses", []):
                call.items_read += 1
                call.rcu += read_units(item_size(entry.get("Item")), True, transactional=True)
        elif op in ("Query", "Scan"):
            items = parsed.get("Items", [])
            call.items_read = int(parsed.get("ScannedCount", len(items)))
            call.rcu = read_units(sum(item_size(i) for i in items), bool(params.get("ConsistentRead")))

    # results -------------------------------------------------------------------------

    def totals(self) -> Totals:
        t = Totals()
        with self._lock:
            calls = list(self.calls)
        for c in calls:
            t.requests += 1
            t.items_read += c.items_read
            t.items_written += c.items_written
            t.rcu += c.rcu
            t.wcu += c.wcu
            t.operations[c.operation] = t.operations.get(c.operation, 0) + 1
            if c.reported_capacity is not None:
                t.reported_capacity = (t.reported_capacity or 0.0) + c.reported_capacity
        return t

    def script(self) -> list[tuple[str, int, dict[str, str], bytes]]:
        """The raw responses in order, for :class:`Replayer`."""
        with self._lock:
            return [(c.operation, *c.raw_response) for c in self.calls if c.raw_response]


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: Any):
        yield self.data


class Replayer:
    """Answers ``client``'s DynamoDB calls from recorded responses, in order and cyclically,
    without any network I/O (``before-send`` short-circuits the HTTP request)."""

    def __init__(self, client: Any, script: list[tuple[str, int, dict[str, str], bytes]]) -> None:
        if not script:
            raise ValueError("nothing to replay")
        self.client = client
        self.script = script
        self._queue: deque = deque(script)

    def _send(self, request: Any, **_: Any) -> AWSResponse:
        if not self._queue:
            self._queue.extend(self.script)
        op, status, headers, body = self._queue.popleft()
        target = request.headers.get("X-Amz-Target", b"")
        target = target.decode() if isinstance(target, bytes) else target
        if not target.endswith("." + op):
            raise AssertionError(f"replay out of step: expected {op}, got {target}")
        return AWSResponse(request.url, status, headers, _Body(body))

    def rewind(self) -> None:
        self._queue = deque(self.script)

    def __enter__(self) -> Replayer:
        self.client.meta.events.register_first("before-send.dynamodb", self._send, unique_id="ddbmeter-replay")
        return self

    def __exit__(self, *exc: Any) -> None:
        self.client.meta.events.unregister("before-send.dynamodb", unique_id="ddbmeter-replay")


def plain_decimal(value: Any) -> Any:
    """JSON-friendly copy of a structure holding Decimals."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: plain_decimal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain_decimal(v) for v in value]
    return value
