"""Recompute leaderboard periods from the ledger: ``python -m tools.ops.rebuild_boards``
(``make rebuild-boards TENANT=... [BOARD=xp] [PERIOD=daily] [DATE=YYYY-MM-DD]``).

Exact and resumable (a stopped run continues from its checkpoint; ``--restart`` starts over);
see gamification/usecases/board_rebuild.py for when to run it. Uses ``TABLE_NAME`` and the
usual AWS settings (``AWS_ENDPOINT_URL_DYNAMODB`` for a local endpoint) and the rules of
``GAMIFICATION_RULES_FILE`` (default: the bundled rules).
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import typer

from tools.local import lambdas, stack

lambdas.use_layer()

from gamification.domain.leaderboards import period_key  # noqa: E402
from gamification.domain.periods import local_date  # noqa: E402
from gamification.domain.rules import cached_rules  # noqa: E402
from gamification.settings import get_settings  # noqa: E402
from gamification.usecases.board_rebuild import BoardRebuild  # noqa: E402

cli = typer.Typer(add_completion=False, help=__doc__, rich_markup_mode=None)


@cli.command()
def run(
    tenant: str = typer.Option(..., help="Tenant (game) id"),
    board: str = typer.Option(None, help="Board name (default: every board of the rules)"),
    period: str = typer.Option(None, help="daily|weekly|monthly|all_time (default: every period of the board)"),
    on: str = typer.Option(None, "--date", help="A local date inside the period (default: today)"),
    table: str = typer.Option(None, help="Table name (default: $TABLE_NAME)"),
    max_pages: int = typer.Option(None, help="Stop after this many pages of players (resume later)"),
    restart: bool = typer.Option(False, help="Ignore a checkpoint and start over"),
) -> None:
    """Rebuild board periods of one tenant from its ledger."""
    rules = cached_rules(get_settings().rules_file or None)
    now = datetime.now(timezone.utc)
    day = date.fromisoformat(on) if on else local_date(now, rules.zone)
    boards = [board] if board else list(rules.leaderboards)
    rebuild = BoardRebuild(rules, stack.table_store(table))
    for name in boards:
        if name not in rules.leaderboards:
            typer.echo(f"unknown board {name}", err=True)
            raise typer.Exit(2)
        for p in [period] if period else rules.leaderboards[name].periods:
            key = period_key(p, day)
            try:
                report = rebuild.run(tenant, name, p, key, now=now, max_pages=max_pages, restart=restart)
            except KeyError as exc:
                typer.echo(str(exc), err=True)
                raise typer.Exit(2) from None
            state = "done" if report.done else "paused (run again to continue)"
            typer.echo(f"{name} {p} {key}: {report.players} players read, {report.on_board} on the board, "
                       f"{report.aggregates} aggregate items written, {report.deleted} deleted; {state}")


if __name__ == "__main__":
    cli()
