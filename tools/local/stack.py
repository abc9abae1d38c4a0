"""Bring up what the functions need locally: a DynamoDB endpoint (Amazon DynamoDB Local,
started here, unless ``AWS_ENDPOINT_URL_DYNAMODB`` names another), the table from
template.yaml, and the local API key. Shared by ``make run`` and ``make invoke``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tools.local import backend, lambdas

DEFAULT_TABLE = "gamification-local"
DEFAULT_API_KEY = "local-dev-key"
DEFAULT_TENANT = "local"


def prepare(
    dynamodb_port: int = 0, in_process: bool = False, db_path: Path | None = None, stream: bool = True,
    indexes: bool = True,
) -> dict[str, Any]:
    """Start or reach the backend, create the table and register the API key.

    ``in_process``: serve DynamoDB inside this process without HTTP (moto's ``mock_aws`` with
    the patches of tools/local/backend.py; no engine to start, for batch tools such as
    replays that need no other client). Otherwise DynamoDB Local on ``dynamodb_port`` (data kept in
    ``db_path`` when given), or moto with a warning where Java is missing. Returns
    ``{"endpoint", "table", "api_key", "tenant", "server", "engine"}`` (server None when an
    external endpoint is used; endpoint None in process). ``stream=False`` / ``indexes=False``: a
    table without its stream / GSIs (see :func:`tools.local.backend.create_table`). Sets
    ``AWS_ENDPOINT_URL_DYNAMODB`` (not in process) and ``TABLE_NAME``.
    """
    lambdas.use_layer()
    import boto3
    from gamification.dal.store import Store
    from gamification.usecases import auth

    server = None
    endpoint = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB")
    engine = "the endpoint in AWS_ENDPOINT_URL_DYNAMODB" if endpoint else "moto (in process)"
    local = not endpoint or backend.is_local(endpoint)
    if endpoint and local:
        backend.use_local_credentials()  # a local emulator (e.g. the `make run` stack)
    if not local and "GAMIFICATION_API_KEY" not in os.environ:
        # The default key is public knowledge: never plant it in a real table.
        raise SystemExit("a non-local DynamoDB endpoint needs GAMIFICATION_API_KEY set explicitly")
    if not endpoint and in_process:
        server = backend.start_in_process()
    elif not endpoint:
        backend.use_local_credentials()
        server, endpoint = backend.start_dynamodb(port=dynamodb_port, db_path=db_path, fallback_to_moto=True)
        engine = server.engine + (f", data kept in {db_path}" if db_path else ", in memory")
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint
    table = os.environ.setdefault("TABLE_NAME", DEFAULT_TABLE)
    client = boto3.client("dynamodb")
    backend.create_table(client, table, stream=stream, indexes=indexes)
    api_key = os.environ.get("GAMIFICATION_API_KEY", DEFAULT_API_KEY)
    tenant = os.environ.get("GAMIFICATION_TENANT", DEFAULT_TENANT)
    auth.register_api_key(Store(client, table), tenant, api_key, name="local")
    from gamification.ops import migrations

    migrations.migrate(Store(client, table))  # a new table starts with every migration applied
    return {"endpoint": endpoint, "table": table, "api_key": api_key, "tenant": tenant, "server": server, "engine": engine}


def table_store(table: str | None) -> Any:
    """The :class:`gamification.dal.store.Store` of ``table`` (default ``$TABLE_NAME``) for the
    operator CLIs. Raises typer.BadParameter when neither names a table."""
    import typer

    lambdas.use_layer()
    from gamification.dal.store import Store, dynamodb_client

    name = table or os.environ.get("TABLE_NAME")
    if not name:
        raise typer.BadParameter("give --table or set TABLE_NAME (see the stack's TableName output)")
    return Store(dynamodb_client(), name)


def boto_client() -> Any:
    """A DynamoDB client of this process for the local stack's own use (the poller)."""
    import boto3

    return boto3.client("dynamodb")
