"""DynamoDB stream of the lead table: every lead event a committed change made (its outbox item) goes on the bus
(see shared/events/relay.py). Answers with the records to retry, so the stream retries those (bisecting a batch
that keeps failing) and hands what never succeeds to the failure queue. The records carry the lead's email: one
set aside is kept less its item images (where it is and which item), and `make redrive` reads the item back."""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.adapters.dynamodb_lead_outbox import stored_lead_event
from shared.adapters.stream_batches import StreamRecordBatch
from shared.events.relay import relay
from shared.function_environment import environment_of
from shared.observability import logger, metrics, traced
from shared.wiring import lead_event_bus

environment = environment_of(__name__)
sqs = boto3.client("sqs")
bus = lead_event_bus(environment)


@logger.inject_lambda_context
@traced
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    batch = StreamRecordBatch(event, sqs, environment, images=False)
    report = relay(batch.read(stored_lead_event, "a stored lead event"), bus, batch.set_aside)
    metrics.add_metric(name="LeadEventsPublished", unit="Count", value=report.published)
    metrics.add_metric(name="LeadEventsDeadLettered", unit="Count", value=report.dead_lettered)
    return batch.answer(report.retry)
