"""Import balances and ledgers from CSV exports of SQL tables: ``python -m tools.ops.importer``.

``python -m tools.ops.importer KIND FILE --tenant T`` with KIND one of ``coin_log`` (the exam-prep coin system),
``xp_transactions`` (Progressive Flow), ``users`` (Mikoshi: ``id, exp``), ``user_gamification``
(the KPI tracker: ``user_id, total_xp``); the expected columns are in
:mod:`gamification.ops.imports` and docs/replay.md. Writes to ``TABLE_NAME`` (usual AWS
settings). Safe to re-run: rows already imported are skipped.
"""

from __future__ import annotations

import csv
from datetime import datetime, timedelta, timezone
from pathlib import Path

import typer

from tools.local import lambdas

lambdas.use_layer()

from gamification import clock  # noqa: E402
from gamification.dal.store import Store, dynamodb_client  # noqa: E402
from gamification.domain.rules import load_rules  # noqa: E402
from gamification.ops.imports import (  # noqa: E402
    KINDS,
    ImportRowError,
    apply,
    apply_day_usage,
    parse_day_usage,
    parse_rows,
)
from gamification.settings import environment  # noqa: E402

cli = typer.Typer(add_completion=False, help=__doc__, rich_markup_mode=None)


@cli.command()
def main(
    kind: str = typer.Argument(..., help=f"Table kind: {', '.join(KINDS)}"),
    csv_file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV export with a header row"),
    tenant: str = typer.Option(..., help="Tenant (game) id to write under"),
    table: str = typer.Option(None, help="Table name (default: $TABLE_NAME)"),
    as_of: str = typer.Option(None, help="Time of balance snapshots (users, user_gamification); default now"),
    rules_file: Path = typer.Option(None, "--rules", help="Rules file, for the starting XP of new profiles"),
) -> None:
    """Import FILE (an export of table KIND) into the engine's ledgers and balances."""
    name = table or environment().table_name
    if not name:
        raise typer.BadParameter("give --table or set TABLE_NAME")
    now = clock.now()
    when = datetime.fromisoformat(as_of.replace("Z", "+00:00")) if as_of else now
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    rules = load_rules(rules_file or environment().rules_file or None)
    try:
        with csv_file.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        entries = parse_rows(kind, rows, when)
        usage = parse_day_usage(rows) if kind == "users" else []
    except ImportRowError as exc:
        raise typer.BadParameter(f"{csv_file.name}: {exc}; nothing was written") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise typer.BadParameter(f"{csv_file.name}: not a UTF-8 CSV file ({exc}); nothing was written") from None
    store = Store(dynamodb_client(), name)
    summary = apply(store, tenant, kind, entries, now, rules.xp.start)
    if usage:
        made = apply_day_usage(store, tenant, usage, now, rules.max_event_age + timedelta(days=7))
        typer.echo(f"day usage: {made} of {len(usage)} users' daily counters created (existing ones kept)")
    typer.echo(
        f"{kind}: {len(entries)} rows, {summary.written} entries written, {summary.skipped} already imported, "
        f"{summary.unchanged} balances unchanged, {len(summary.users)} users"
    )


if __name__ == "__main__":
    cli()
