"""The DynamoDB a benchmark or reliability run talks to, chosen like the test suite does:
``TEST_DYNAMODB_ENDPOINT`` unset: Amazon DynamoDB Local, started for the run; a URL: that endpoint
(DynamoDB Local, another emulator); ``aws``: the account of the current credentials.

A fresh table built from template.yaml is created with a unique name and, on an external
endpoint, deleted afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tools.local import backend, lambdas

ENV = "TEST_DYNAMODB_ENDPOINT"


@dataclass
class Target:
    kind: str  # "Amazon DynamoDB Local 3.3.1" | "endpoint <url>" | "aws <region>"
    endpoint: str | None
    table: str
    client: Any  # a client of its own, never metered or faulted
    server: Any = None

    @property
    def embedded(self) -> bool:
        return self.server is not None

    def new_client(self) -> Any:
        import boto3

        return boto3.client("dynamodb")


@contextmanager
def dynamodb(prefix: str = "gamification-bench") -> Iterator[Target]:
    """Bring up (or reach) the backend, create a table, set ``AWS_ENDPOINT_URL_DYNAMODB`` and
    ``TABLE_NAME`` for the functions, and clean up afterwards."""
    lambdas.use_layer()
    import boto3

    wanted = os.environ.get(ENV, "").strip()
    server = None
    if not wanted:
        backend.use_local_credentials()
        server, endpoint = backend.start_dynamodb()
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint
        kind = server.engine
    elif wanted == "aws":
        os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
        endpoint = None
        kind = f"aws {boto3.session.Session().region_name}"
    else:
        backend.use_local_credentials()  # a local endpoint (DynamoDB Local): any region, dummy keys
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = wanted
        endpoint = wanted
        kind = f"endpoint {wanted}"
    table = f"{prefix}-{uuid.uuid4().hex[:8]}"
    os.environ["TABLE_NAME"] = table
    client = boto3.client("dynamodb")
    backend.create_table(client, table)
    try:
        yield Target(kind, endpoint, table, client, server)
    finally:
        if server:
            server.stop()
        else:
            try:
                client.delete_table(TableName=table)
            except Exception as exc:  # noqa: BLE001 - report, do not mask the run's result
                print(f"warning: could not delete table {table}: {exc}")
