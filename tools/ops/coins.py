"""Operator coin adjustments and reversals in a gamification table: ``python -m tools.ops.coins``.

Every change is a ledger entry with a reason (kind ``adjustment`` or ``reversal``); a
deduction never overdraws. Uses ``TABLE_NAME``, ``GAMIFICATION_RULES_FILE`` and the usual AWS
settings (``AWS_ENDPOINT_URL_DYNAMODB`` for local).
"""

from __future__ import annotations

import json
import os

import typer

from tools.local import lambdas, stack

lambdas.use_layer()

from gamification.api.reversal_models import ReversalRequest  # noqa: E402
from gamification.domain.errors import GamificationError  # noqa: E402
from gamification.domain.rules import load_rules  # noqa: E402
from gamification.usecases.engine import Engine  # noqa: E402
from gamification.usecases.ledger import Ledger  # noqa: E402

cli = typer.Typer(add_completion=False, help=__doc__)
TABLE = typer.Option(None, help="Table name (default: $TABLE_NAME)")
TENANT = typer.Option(..., help="Tenant (game) id")


def _ledger(table: str | None) -> Ledger:
    rules = load_rules(os.environ.get("GAMIFICATION_RULES_FILE") or None)
    return Ledger(Engine(rules, stack.table_store(table)))


def _run(fn) -> None:  # noqa: ANN001
    try:
        typer.echo(json.dumps(fn().body))
    except GamificationError as exc:
        typer.echo(json.dumps(exc.body()), err=True)
        raise typer.Exit(1) from None


@cli.command()
def adjust(
    user: str,
    amount: int = typer.Option(..., help="Signed coins (negative deducts; never below zero)"),
    reason: str = typer.Option(..., help="Why (kept on the ledger entry)"),
    operator: str = typer.Option(None, help="Who (kept on the entry's metadata)"),
    tenant: str = TENANT,
    table: str = TABLE,
) -> None:
    """Add (grant) or deduct coins (a deduction larger than the balance is refused)."""
    _run(lambda: _ledger(table).adjust(tenant, user, amount, reason, operator))


cli.command(name="grant", help="Add AMOUNT coins to USER's balance (adjust with a positive amount).")(adjust)


@cli.command()
def reverse(
    user: str,
    entry_id: str,
    reason: str = typer.Option(..., help="Why (kept on the reversal entry)"),
    tenant: str = TENANT,
    table: str = TABLE,
) -> None:
    """Reverse USER's ledger entry ENTRY_ID (as POST .../ledger/{entry_id}/reversal)."""
    _run(lambda: _ledger(table).reverse(tenant, user, entry_id, ReversalRequest(reason=reason), None))


if __name__ == "__main__":
    cli()
