"""Manage API keys in a gamification table (local or deployed): ``python -m tools.ops.apikey``.

Keys are random, shown once, and stored only as SHA-256 hashes mapped to a tenant.
Uses ``TABLE_NAME`` and the usual AWS settings (``AWS_ENDPOINT_URL_DYNAMODB`` for local).
"""

from __future__ import annotations

import typer

from tools.local import lambdas, stack

lambdas.use_layer()

from gamification.dal import keys  # noqa: E402
from gamification.usecases import auth

cli = typer.Typer(add_completion=False, help=__doc__)


@cli.command()
def create(
    tenant: str = typer.Option(..., help="Tenant (game) id: lower-case letters, digits, _ and -"),
    name: str = typer.Option("default", help="A label for the key"),
    table: str = typer.Option(None, help="Table name (default: $TABLE_NAME)"),
) -> None:
    """Create a new key for TENANT and print it (it cannot be shown again)."""
    key = auth.new_api_key()
    try:
        auth.register_api_key(stack.table_store(table), tenant, key, name)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    typer.echo(key)


@cli.command()
def revoke(api_key: str, table: str = typer.Option(None, help="Table name (default: $TABLE_NAME)")) -> None:
    """Disable API_KEY (authorizer caches may honour it for up to 5 minutes)."""
    store = stack.table_store(table)
    k = keys.api_key_key(auth.hash_api_key(api_key))
    item = store.get(k)
    if not item:
        raise typer.BadParameter("no such key")
    store.put(k, {**{a: v for a, v in item.items() if a not in ("pk", "sk")}, "disabled": True})
    typer.echo("revoked")


if __name__ == "__main__":
    cli()
