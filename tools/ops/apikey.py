"""Manage API keys in a gamification table (local or deployed): ``python -m tools.ops.apikey``.

Keys are random, shown once, and stored only as SHA-256 hashes mapped to a tenant; each has
a public 12-hex-digit id to list, rotate and revoke it by. Uses ``TABLE_NAME`` (or
``--table``) and the usual AWS settings; locally, the `make run` stack's DynamoDB, e.g.::

    AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000 TABLE_NAME=gamification-local \\
        python -m tools.ops.apikey list

A revoked key is refused at once by the local stack and within 60 seconds in the cloud (the
HTTP API's authorizer cache; docs/security.md).
"""

from __future__ import annotations

import json
import os

import typer

from tools.local import backend, lambdas, stack

lambdas.use_layer()

from gamification.usecases import apikeys  # noqa: E402

cli = typer.Typer(add_completion=False, help=__doc__, no_args_is_help=True)
TABLE = typer.Option(None, "--table", help="Table name (default: $TABLE_NAME)")


def _store(table: str | None):  # noqa: ANN202 - Store
    endpoint = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB")
    if endpoint and backend.is_local(endpoint):
        backend.use_local_credentials()  # a local emulator needs no AWS setup
    return stack.table_store(table)


def _fail(exc: Exception) -> typer.BadParameter:
    return typer.BadParameter(str(exc).strip("'\""))


@cli.command()
def create(
    tenant: str = typer.Option(..., help="Tenant (game) id: lower-case letters, digits, _ and -"),
    name: str = typer.Option("default", help="A label for the key"),
    table: str = TABLE,
) -> None:
    """Create a new key for TENANT and print it (it cannot be shown again); its id goes to stderr."""
    try:
        key, key_id = apikeys.create(_store(table), tenant, name)
    except ValueError as exc:
        raise _fail(exc) from None
    typer.echo(key)
    typer.echo(f"key id {key_id} (tenant {tenant})", err=True)


@cli.command("list")
def list_(
    tenant: str = typer.Option(None, help="Only this tenant's keys"),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line"),
    table: str = TABLE,
) -> None:
    """List keys: id, tenant, name, created, state. Never a key or its hash."""
    for entry in apikeys.list_keys(_store(table), tenant):
        if as_json:
            typer.echo(json.dumps(entry, sort_keys=True))
            continue
        if entry.get("disabled"):
            state = f"revoked {entry.get('revoked_at', '')}".strip()
        elif entry.get("not_after"):
            state = f"expires {entry['not_after']}"
        else:
            state = "active"
        typer.echo(f"{entry['key_id']}  {entry['tenant_id']}  {entry.get('name', '')}  {entry.get('created_at', '')}  {state}")


@cli.command()
def revoke(key: str = typer.Argument(..., help="The key id (12 hex digits) or the key itself"), table: str = TABLE) -> None:
    """Disable a key at once (the cloud's authorizer cache may honour it for up to 60 s)."""
    try:
        entry = apikeys.revoke(_store(table), key)
    except apikeys.KeyNotFound as exc:
        raise _fail(exc) from None
    typer.echo(f"revoked {entry['key_id']} (tenant {entry['tenant_id']})")


@cli.command()
def rotate(
    key: str = typer.Argument(..., help="The key id (12 hex digits) or the key itself"),
    grace: int = typer.Option(0, help="Seconds the old key keeps working (0: revoked at once; at most 7 days)"),
    table: str = TABLE,
) -> None:
    """Create a replacement key (same tenant and name), print it, and retire the old one."""
    try:
        new_key, new_id = apikeys.rotate(_store(table), key, grace)
    except (apikeys.KeyNotFound, ValueError) as exc:
        raise _fail(exc) from None
    typer.echo(new_key)
    typer.echo(f"new key id {new_id}; old key {'retires in %d s' % grace if grace else 'revoked'}", err=True)


@cli.command()
def limit(
    tenant: str = typer.Option(..., help="Tenant id"),
    requests: int = typer.Option(None, help="Requests per window (0: unlimited); omit with --clear"),
    window: int = typer.Option(1, help="Window length in seconds (1 to 3600)"),
    clear: bool = typer.Option(False, "--clear", help="Drop the tenant's own limit (use the default)"),
    table: str = TABLE,
) -> None:
    """Set a tenant's own request limit (429 rate_limited past it); effective within 60 s."""
    if clear == (requests is not None):
        raise typer.BadParameter("give --requests N or --clear")
    try:
        item = apikeys.set_limit(_store(table), tenant, None if clear else requests, None if clear else window)
    except (apikeys.KeyNotFound, ValueError) as exc:
        raise _fail(exc) from None
    if clear:
        typer.echo(f"{tenant}: default limit")
    else:
        typer.echo(f"{tenant}: {item['rate_limit']} requests per {item['rate_window_seconds']} s")


if __name__ == "__main__":
    cli()
