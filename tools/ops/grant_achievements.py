"""Grant achievements retroactively: ``python -m tools.ops.grant_achievements --tenant T``.

For achievements added to the rules after users already qualified: every user of the
tenant who meets an achievement's criteria and lacks it gets it, silently (ledger entries
marked ``retroactive: true``), exactly once, resumable (re-run after a crash: it continues
from the saved cursor; a finished run of the same selection does nothing). Uses
``TABLE_NAME``, ``GAMIFICATION_RULES_FILE`` and the usual AWS settings.
"""

from __future__ import annotations

import typer

from tools.local import lambdas, stack

lambdas.use_layer()

from gamification import clock  # noqa: E402
from gamification.domain.rules import load_rules  # noqa: E402
from gamification.usecases.retroactive import grant_retroactive  # noqa: E402

cli = typer.Typer(add_completion=False, help=__doc__, rich_markup_mode=None)


@cli.command()
def grant(
    tenant: str = typer.Option(..., help="Tenant (game) id"),
    achievement: list[str] = typer.Option(None, help="Only this achievement (repeatable; default: all)"),
    rules_file: str = typer.Option(None, envvar="GAMIFICATION_RULES_FILE", help="Rules file (default: bundled)"),
    table: str = typer.Option(None, help="Table name (default: $TABLE_NAME)"),
    verbose: bool = typer.Option(False, help="Print every grant"),
) -> None:
    """Grant qualifying users the achievements they lack."""
    rules = load_rules(rules_file or None)
    unknown = sorted(set(achievement or ()) - set(rules.achievements))
    if unknown:
        raise typer.BadParameter(f"not in the rules: {', '.join(unknown)}", param_hint="--achievement")
    report = grant_retroactive(
        rules, stack.table_store(table), tenant, clock.now(), only=achievement or None,
        log=typer.echo if verbose else (lambda line: None),
    )  # fmt: skip
    if report.already_done:
        typer.echo("already done for this selection (nothing to grant)")
        return
    granted = ", ".join(f"{aid}: {n}" for aid, n in sorted(report.granted.items())) or "none"
    typer.echo(f"{report.users} users checked; granted {granted}")


if __name__ == "__main__":
    cli()
