"""DynamoDB stream of the delivery table: every newly stored event of an accepted delivery goes on the bus as
a canonical event (see shared/webhooks/publishing.py). Answers with the records to retry, so the stream retries
those (bisecting a batch that keeps failing) and hands what never succeeds to the failure queue."""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.adapters.dynamodb_ledger import outbox_entry
from shared.adapters.stream_batches import StreamRecordBatch
from shared.function_environment import environment_of
from shared.observability import logger, metrics, traced
from shared.wiring import outbox_publisher

environment = environment_of(__name__)
sqs = boto3.client("sqs")
publisher = outbox_publisher(environment)


@logger.inject_lambda_context
@traced
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    batch = StreamRecordBatch(event, sqs, environment)
    report = publisher.publish(batch.read(outbox_entry, "a stored event"), batch.dead_letters)
    metrics.add_metric(name="WebhookEventsPublished", unit="Count", value=report.published)
    metrics.add_metric(name="WebhookEventsUnmapped", unit="Count", value=report.unmapped)
    metrics.add_metric(name="WebhookEventsDeadLettered", unit="Count", value=report.dead_lettered)
    return batch.answer(report.retry)
