"""DynamoDB stream consumer: projects new ledger entries onto the leaderboards.

Event: a DynamoDB stream batch (Lambda's shape; filtered in template.yaml to INSERTs of
``XP#``/``COIN#`` ledger entries). Response: partial batch response
(``batchItemFailures``, Powertools' batch processor): every record from the first one whose
effect could not be fully written on is reported, so Lambda re-delivers from there; a batch
where every record failed raises, and Lambda bisects and retries it, then sends it to the
on-failure queue. Effects are exactly once (gamification.usecases.board_projector).
"""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from gamification.observability import logger, metrics, tracer
from gamification.runtime import engine
from gamification.usecases.board_projector import Projector

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


class NotProjected(Exception):
    """This record's effect on the boards is not (fully) written yet; Lambda re-delivers it."""


def projector() -> Projector:
    """The engine's rules and store as they are now (a cached projector kept the rules it
    was built with after a rules change; building one is a few attribute sets)."""
    return Projector(engine().rules, engine().store)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if not event.get("Records"):
        return {"batchItemFailures": []}
    report = projector().project_event(event)
    metrics.add_metric(name="BoardWrites", unit=MetricUnit.Count, value=report.writes)
    if report.failed_from is not None:
        logger.warning("board projection incomplete", extra={"failed_from": report.failed_from, "errors": report.errors})

    def check(record: DynamoDBRecord) -> None:
        seq = record.dynamodb.sequence_number if record.dynamodb else None
        if seq is not None and report.must_retry(seq):
            raise NotProjected(seq)

    return process_partial_response(event=event, record_handler=check, processor=processor, context=context)
