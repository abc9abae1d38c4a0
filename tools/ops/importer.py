"""Import balances and ledgers from CSV exports of SQL tables: ``python -m tools.ops.importer``.

``python -m tools.ops.importer KIND FILE --tenant T`` with KIND one of ``coin_log`` (the exam-prep coin system),
``xp_transactions`` (Progressive Flow), ``users`` (Mikoshi: ``id, exp``), ``user_gamification``
(the KPI tracker: ``user_id, total_xp``); the expected columns are in
:mod:`gamification.ops.imports` and docs/replay.md. Writes to ``TABLE_NAME`` (usual AWS
settings). Safe to re-run: rows already imported are skipped.

The math-learning system's tables (:mod:`gamification.ops.topic_imports`, docs/topics.md):
``topic_xp_config`` (writes a rules file: ``--out rules.yaml``, merged into ``--rules`` or the
bundled rules; no table access), ``user_task_attempts`` and ``user_topic_xp`` (need ``--rules``
naming the topics). Every row is checked before anything is written: a malformed row stops
the run naming file, row and field, with nothing written.
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

from gamification.ops.topic_imports import (  # noqa: E402
    TOPIC_KINDS,
    apply_attempts,
    apply_progress,
    parse_attempts,
    parse_progress,
    parse_topic_configs,
    topics_rules,
)

cli = typer.Typer(add_completion=False, help=__doc__, rich_markup_mode=None)


@cli.command()
def main(
    kind: str = typer.Argument(..., help=f"Table kind: {', '.join(KINDS + TOPIC_KINDS)}"),
    csv_file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV export with a header row"),
    tenant: str = typer.Option(None, help="Tenant (game) id to write under (all kinds but topic_xp_config)"),
    table: str = typer.Option(None, help="Table name (default: $TABLE_NAME)"),
    as_of: str = typer.Option(None, help="Time of balance snapshots (users, user_gamification); default now"),
    rules_file: Path = typer.Option(None, "--rules", help="Rules file, for the starting XP of new profiles"),
    out: Path = typer.Option(None, help="topic_xp_config: the rules file to write"),
) -> None:
    """Import FILE (an export of table KIND) into the engine's ledgers and balances."""
    if kind in TOPIC_KINDS:
        _topics(kind, csv_file, tenant, table, rules_file, out)
        return
    if not tenant:
        raise typer.BadParameter("give --tenant")
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


def _topics(kind: str, csv_file: Path, tenant: str | None, table: str | None, rules_file: Path | None, out: Path | None) -> None:
    """The math-learning system's tables (see the module docstring)."""
    import yaml

    from gamification.domain.rules import DEFAULT_RULES_FILE

    try:
        with csv_file.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        if kind == "topic_xp_config":
            if out is None:
                raise typer.BadParameter("give --out (the rules file to write)")
            base_path = rules_file or DEFAULT_RULES_FILE
            base = yaml.safe_load(Path(base_path).read_text(encoding="utf-8"))
            topics = parse_topic_configs(str(csv_file), rows)
            data = topics_rules(base, topics, str(csv_file))
            out.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
            typer.echo(f"{kind}: {len(topics)} topics written to {out} (base {base_path})")
            return
        rules = load_rules(rules_file or environment().rules_file or None)
        parsed = (parse_attempts if kind == "user_task_attempts" else parse_progress)(str(csv_file), rows, rules)
    except ImportRowError as exc:
        raise typer.BadParameter(f"{exc}; nothing was written") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise typer.BadParameter(f"{csv_file.name}: not a UTF-8 CSV file ({exc}); nothing was written") from None
    name = table or environment().table_name
    if not name or not tenant:
        raise typer.BadParameter("give --tenant and --table (or TABLE_NAME)")
    store = Store(dynamodb_client(), name)
    apply = apply_attempts if kind == "user_task_attempts" else apply_progress
    s = apply(store, tenant, rules, parsed, clock.now())  # type: ignore[arg-type]
    typer.echo(f"{kind}: {len(parsed)} rows, {s.written} entries written, {s.skipped} already imported, "
               f"{s.unchanged} unchanged, {s.tasks} tasks")  # fmt: skip


if __name__ == "__main__":
    cli()
