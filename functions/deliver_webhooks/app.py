"""SQS -> signed webhook deliveries (Standard Webhooks). A failed delivery is hidden for its
next backoff delay and reported as a batch item failure; SQS dead-letters it after the last."""

import json

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from gamification import clock
from gamification.observability import logger, metrics, tracer
from gamification.runtime import store
from gamification.usecases.webhooks import Webhooks

processor = BatchProcessor(event_type=EventType.SQS)


class DeliveryFailed(Exception):
    """The receiver did not answer 2xx: retried after the backoff delay."""


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    webhooks = Webhooks(store(), clock.now)

    def record_handler(record: SQSRecord) -> None:
        attempt = int(record.attributes.approximate_receive_count or 1)
        if not webhooks.deliver(json.loads(record.body), attempt, record.receipt_handle):
            raise DeliveryFailed(f"delivery {record.message_id} attempt {attempt} failed")

    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
