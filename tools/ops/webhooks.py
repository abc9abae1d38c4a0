"""Webhook operations: ``python -m tools.ops.webhooks``.

- ``redeliver``: queue one logged delivery again (same event, same ``webhook-id``), e.g.
  after a receiver fixed its endpoint;
- ``redrive``: move the dead-letter queue's deliveries back to the delivery queue (each
  starts a new series of attempts).

Uses ``TABLE_NAME``, ``WEBHOOK_QUEUE_URL`` (the stack's delivery queue) and the usual AWS
settings.
"""

from __future__ import annotations

import typer

from tools.local import lambdas, stack

lambdas.use_layer()

from gamification import clock  # noqa: E402
from gamification.dal import messaging  # noqa: E402
from gamification.usecases.webhooks import Webhooks  # noqa: E402

cli = typer.Typer(add_completion=False, help=__doc__)


@cli.command()
def redeliver(
    webhook_id: str,
    event_id: str,
    tenant: str = typer.Option(..., help="Tenant (game) id"),
    table: str = typer.Option(None, help="Table name (default: $TABLE_NAME)"),
) -> None:
    """Queue WEBHOOK_ID's logged delivery of EVENT_ID again."""
    if not Webhooks(stack.table_store(table), clock.now).redeliver(tenant, webhook_id, event_id):
        raise typer.BadParameter("no logged delivery of that event to that webhook")
    typer.echo("queued")


@cli.command()
def redrive(
    dead_letter_queue_url: str = typer.Option(..., help="The stack's WebhookDeadLetterQueueUrl output"),
    queue_url: str = typer.Option(None, envvar="WEBHOOK_QUEUE_URL", help="The delivery queue"),
    limit: int = typer.Option(1000, min=1),
) -> None:
    """Move up to LIMIT dead-lettered deliveries back to the delivery queue."""
    if not queue_url:
        raise typer.BadParameter("give --queue-url or set WEBHOOK_QUEUE_URL")
    typer.echo(f"moved {messaging.move_dead_letters(dead_letter_queue_url, queue_url, limit)}")


if __name__ == "__main__":
    cli()
