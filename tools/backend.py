"""The embedded DynamoDB-compatible backend: moto's server, serialised with one lock.

engineering.md: stock moto does not serialise concurrent DynamoDB requests (8 threads racing
a capped ADD overshot in 10 of 10 trials); one RLock around ``DynamoHandler.call_action``
made it exact. Every request to this backend therefore runs alone, like on one DynamoDB item.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from . import template

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
        _copy_tables_once_per_transaction()


def _copy_tables_once_per_transaction() -> None:
    """moto backs up a table for rollback by deep-copying it once per *item* of a
    TransactWriteItems: O(items x table size) per transaction, which made 20-item award
    transactions on a test table of a few thousand items take seconds (and time out under
    the serialising lock). Copy each table once per transaction instead; the result is the
    same backup. Safe because requests are serialised (the module's ``copy`` is swapped
    only while one transaction runs)."""
    import moto.dynamodb.models as models
    from moto.dynamodb.models.table import Table

    original = models.DynamoDBBackend.transact_write_items
    if getattr(original, "_copy_once", False):
        return
    real_copy = models.copy

    def transact_write_items(self: Any, transact_items: Any) -> Any:
        backups: dict[int, tuple[Any, Any]] = {}

        class _OnePerTable:
            @staticmethod
            def deepcopy(obj: Any, memo: Any = None) -> Any:
                if not isinstance(obj, Table):
                    return real_copy.deepcopy(obj, memo)
                if id(obj) not in backups:
                    backups[id(obj)] = (obj, real_copy.deepcopy(obj))
                return backups[id(obj)][1]

        models.copy = _OnePerTable  # type: ignore[assignment]
        try:
            return original(self, transact_items)
        finally:
            models.copy = real_copy

    transact_write_items._copy_once = True  # type: ignore[attr-defined]
    models.DynamoDBBackend.transact_write_items = transact_write_items


def use_local_credentials() -> None:
    """Dummy credentials and a region for the local backend (never overrides real ones)."""
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("AWS_REGION", os.environ["AWS_DEFAULT_REGION"])


def start_dynamodb(port: int = 0, host: str = "127.0.0.1") -> tuple[Any, str]:
    """Start the serialised moto server in this process; returns (server, endpoint URL)."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log line per DynamoDB call
    serialise_moto()
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    bound_host, bound_port = server.get_host_and_port()
    return server, f"http://{bound_host}:{bound_port}"


def create_table(client: Any, table_name: str) -> None:
    """Create ``table_name`` exactly as template.yaml defines the table (keys, GSIs, billing,
    TTL), and wait until it is active. A table that exists already is left as it is."""
    props = template.table_definition()
    args: dict[str, Any] = {
        "TableName": table_name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if props.get("GlobalSecondaryIndexes"):
        args["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    try:
        client.create_table(**args)
    except client.exceptions.ResourceInUseException:
        return
    client.get_waiter("table_exists").wait(TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        for attempt in range(10):  # a fresh table may refuse TTL for a moment on real DynamoDB
            try:
                client.update_time_to_live(TableName=table_name, TimeToLiveSpecification=ttl)
                break
            except client.exceptions.ResourceInUseException:
                time.sleep(1 + attempt)
