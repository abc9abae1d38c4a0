"""The table's stream -> domain events: notifications, the EventBridge bus, webhook deliveries.
Partial batch responses: a failed record (and those after it in its shard) is retried."""

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from gamification import clock
from gamification.observability import logger, metrics, tracer
from gamification.runtime import engine
from gamification.usecases.domain_events import DomainEvents

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    eng = engine()
    events = DomainEvents(eng.rules, eng.store, clock.now)

    def record_handler(record: DynamoDBRecord) -> None:
        events.handle(record.raw_event)

    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
