"""Data migrations of the gamification table: ``python -m tools.ops.migrate up|status``.

Uses ``TABLE_NAME`` and the usual AWS settings (``AWS_ENDPOINT_URL_DYNAMODB`` for a local
endpoint). ``up`` applies pending migrations in order (safe to re-run, resumes a crashed
one); ``status`` lists them. See gamification/migrations/__init__.py.
"""

from __future__ import annotations

import typer

from tools.local import lambdas, stack

lambdas.use_layer()

from gamification.ops import migrations  # noqa: E402

cli = typer.Typer(add_completion=False, help=__doc__, rich_markup_mode=None)


@cli.command()
def up(
    table: str = typer.Option(None, help="Table name (default: $TABLE_NAME)"),
    to: int = typer.Option(None, help="Stop after this migration number"),
) -> None:
    """Apply pending migrations in number order."""
    try:
        done = migrations.migrate(stack.table_store(table), to=to, log=typer.echo)
    except migrations.Locked as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"applied {len(done)} migration(s)" if done else "nothing to apply")


@cli.command()
def status(table: str = typer.Option(None, help="Table name (default: $TABLE_NAME)")) -> None:
    """List migrations: number, name, status, when applied, items changed."""
    for row in migrations.status(stack.table_store(table)):
        typer.echo(
            f"{row['number']:03d} {row['name']:24s} {row['status']:8s} {row['applied_at'] or '-':28s} "
            f"{row['changed']:>7} changed  {row['description']}"
        )


if __name__ == "__main__":
    cli()
