"""The local DynamoDB: Amazon DynamoDB Local (tools/local/dynamodb_local.py) for the local
stack, the tests, the benchmarks; moto where it is the better tool.

moto stays for two uses, each with the two patches below:

- in process (``mock_aws``, no HTTP) for batch tools such as ``replay --local``: a replay
  of ten thousand events is quadratic on stock moto's transactions
  (:func:`fast_moto_transactions`), and ``--workers`` threads share the mock, which stock
  moto does not serialise (8 threads racing a capped ADD overshot in 10 of 10 trials;
  :func:`serialise_moto`);
- ``make run`` on a machine without Java: a moto server, with a warning (moto's stream
  also holds records of cancelled transactions and no-op updates, which DynamoDB's does not).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tools.local import dynamodb_local, template

_patch_lock = threading.Lock()


def serialise_moto() -> None:
    """Wrap moto's DynamoDB request handler in one process-wide RLock (idempotent)."""
    from moto.dynamodb.responses import DynamoHandler

    with _patch_lock:
        if getattr(DynamoHandler.call_action, "_serialised", False):
            return
        lock = threading.RLock()
        original = DynamoHandler.call_action

        def call_action(self: Any) -> Any:
            with lock:
                return original(self)

        call_action._serialised = True  # type: ignore[attr-defined]
        DynamoHandler.call_action = call_action


def fast_moto_transactions() -> None:
    """Make moto's ``TransactWriteItems`` cost O(items written), not O(table size) (idempotent).

    moto 5 backs up the whole table (``copy.deepcopy``) once per item of every transaction,
    to roll back a cancelled one: a replay of ten thousand events becomes quadratic (1.5
    events/s after a few thousand). This snapshots only the items the transaction names,
    turns the whole-table backup into a no-op for the call, and restores those items when
    the call fails. Relies on :func:`serialise_moto` (one request at a time).
    """
    import copy

    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    with _patch_lock:
        if getattr(DynamoDBBackend.transact_write_items, "_item_snapshots", False):
            return
        original = DynamoDBBackend.transact_write_items

        def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
            touched = []
            for entry in transact_items[:100]:
                try:
                    op_type, op = next(iter(entry.items()))
                    table = self.tables[op["TableName"]]
                    key = op["Item"] if op_type == "Put" else op["Key"]
                    hk = DynamoType(key[table.hash_key_attr])
                    rk = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
                except Exception:  # noqa: BLE001 - moto reports a malformed operation itself
                    continue
                current = table.items.get(hk)
                if rk is not None:
                    current = current.get(rk) if current else None
                touched.append((table, hk, rk, copy.deepcopy(current)))
            Table.__deepcopy__ = lambda table, memo: table  # type: ignore[attr-defined]
            try:
                original(self, transact_items)
            except Exception:
                for table, hk, rk, snapshot in reversed(touched):
                    if rk is None:
                        if snapshot is None:
                            table.items.pop(hk, None)
                        else:
                            table.items[hk] = snapshot
                    elif snapshot is None:
                        table.items.get(hk, {}).pop(rk, None)
                    else:
                        table.items[hk][rk] = snapshot
                raise
            finally:
                del Table.__deepcopy__

        transact_write_items._item_snapshots = True  # type: ignore[attr-defined]
        DynamoDBBackend.transact_write_items = transact_write_items


def use_local_credentials() -> None:
    """Dummy credentials and a region for the local backend (never overrides real ones), and
    a read timeout that allows for a local engine starved of CPU by a storm of racing tests."""
    os.environ.setdefault("GAMIFICATION_DYNAMODB_READ_TIMEOUT", "60")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("AWS_REGION", os.environ["AWS_DEFAULT_REGION"])


def start_dynamodb(port: int = 0, db_path: Path | None = None, fallback_to_moto: bool = False) -> tuple[Any, str]:
    """Start Amazon DynamoDB Local on ``port`` (0: a free one; data in memory, or kept in
    ``db_path``); returns (server, endpoint URL). The server has ``stop()`` and ``engine``
    (its name). Without Java: raises :class:`dynamodb_local.Unavailable`, or with
    ``fallback_to_moto`` warns on stderr and starts the moto server instead."""
    try:
        server = dynamodb_local.DynamoDBLocal(port, db_path).start()
    except dynamodb_local.Unavailable as exc:
        if not fallback_to_moto:
            raise
        print(f"warning: {exc}\nwarning: falling back to moto, an imitation of DynamoDB (not exact under "
              "concurrency for every case, and its stream holds records DynamoDB's would not)", file=sys.stderr)  # fmt: skip
        return start_moto(port)
    return server, server.endpoint


def start_moto(port: int = 0, host: str = "127.0.0.1") -> tuple[Any, str]:
    """Start the serialised moto server in this process; returns (server, endpoint URL)."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log line per DynamoDB call
    serialise_moto()
    fast_moto_transactions()
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    server.engine = "moto (serialised; no Java for DynamoDB Local)"
    bound_host, bound_port = server.get_host_and_port()
    return server, f"http://{bound_host}:{bound_port}"


class InProcess:
    """moto's ``mock_aws`` for this process, with the same patches as the server;
    ``stop()`` ends it (the same interface as the server's)."""

    def __init__(self) -> None:
        from moto import mock_aws

        use_local_credentials()
        serialise_moto()
        fast_moto_transactions()
        self._mock = mock_aws()
        self._mock.start()

    def stop(self) -> None:
        self._mock.stop()


def start_in_process() -> InProcess:
    """Serve DynamoDB inside this process (no HTTP) until ``stop()``."""
    return InProcess()


def is_local(endpoint: str) -> bool:
    """True when the DynamoDB endpoint URL ``endpoint`` is on this machine (DynamoDB Local,
    a moto server): it takes any credentials, and its TTL sweeps within seconds."""
    return urlsplit(endpoint).hostname in ("127.0.0.1", "localhost", "::1")


def create_table(client: Any, table_name: str, stream: bool = True, indexes: bool = True, ttl: bool = True) -> None:
    """Create ``table_name`` exactly as template.yaml defines the table (keys, GSIs, billing,
    stream, TTL), and wait until it is active. A table that exists already is left as it is.

    ``stream=False`` leaves the stream out, ``indexes=False`` the GSIs, for a scratch table
    whose stream and indexes nothing reads (a replay's: DynamoDB Local spends most of a write
    on its stream, and re-reads the table's schema, GSIs included, several times for every
    item it writes; docs/replay.md).

    ``ttl=False`` leaves TTL off, for the tables of tests that freeze the engine's clock:
    DynamoDB Local, like DynamoDB, deletes an item once its ``expires_at`` is before the
    machine's clock (within seconds), so an item retained a few days past a frozen "now" in
    the past would vanish while the test runs (CONTRIBUTING.md, "Frozen clocks and TTL")."""
    props = template.table_definition()
    args: dict[str, Any] = {
        "TableName": table_name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if props.get("GlobalSecondaryIndexes") and indexes:
        args["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    else:  # DynamoDB refuses attribute definitions no key uses
        keyed = {k["AttributeName"] for k in props["KeySchema"]}
        args["AttributeDefinitions"] = [d for d in props["AttributeDefinitions"] if d["AttributeName"] in keyed]
    if props.get("StreamSpecification") and stream:
        args["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    try:
        client.create_table(**args)
    except client.exceptions.ResourceInUseException:
        return
    client.get_waiter("table_exists").wait(TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    spec = props.get("TimeToLiveSpecification")
    if ttl and spec and spec.get("Enabled"):
        for attempt in range(10):  # a fresh table may refuse TTL for a moment on real DynamoDB
            try:
                client.update_time_to_live(TableName=table_name, TimeToLiveSpecification=spec)
                break
            except client.exceptions.ResourceInUseException:
                time.sleep(1 + attempt)
