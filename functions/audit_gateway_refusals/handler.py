"""The API's access log lines of requests API Gateway refused before any function ran (a CloudWatch Logs
subscription, `AccessLogTrigger` in the catalog), recorded in the audit trail (`shared.audit.gateway_refusals`).

Every put is conditional on a new key, so a retried batch (Lambda retries an asynchronous invocation twice, then
hands it to the failure queue) records nothing twice. A batch that is not the access log's (undecodable, a line
that is no JSON object) can never succeed: it goes to the failure queue at once with the reason, after the lines
that could be read are recorded."""

from __future__ import annotations

import json
import zlib
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.data_classes import CloudWatchLogsEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.adapters.dynamodb_audit import dynamodb_audit_store
from shared.audit.config import shipped_audit_config
from shared.audit.gateway_refusals import refusal_record
from shared.catalog.audit import AUDIT
from shared.errors import InvalidInput
from shared.function_environment import environment_of
from shared.observability import logger, metrics, traced
from shared.permanent_failures import dead_letter_permanent_failures

environment = environment_of(__name__)
config = shipped_audit_config()
store = dynamodb_audit_store(environment.table(AUDIT.name), config)


@logger.inject_lambda_context
@traced
@metrics.log_metrics
@dead_letter_permanent_failures(environment)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    try:
        batch = CloudWatchLogsEvent(event).parse_logs_data()
    except (KeyError, TypeError, ValueError, zlib.error) as exc:  # base64's and JSON's errors are ValueErrors
        raise InvalidInput(f"awslogs.data: not a CloudWatch Logs subscription batch: {exc}") from exc
    if batch.message_type != "DATA_MESSAGE":  # CloudWatch Logs' CONTROL_MESSAGE checks the destination is reachable
        return {"recorded": 0}
    recorded, unreadable = 0, []
    for log_event in batch.log_events:
        try:
            line = json.loads(log_event.message)
        except ValueError:
            line = None
        if not isinstance(line, dict):
            unreadable.append(log_event.get_id)
            continue
        record = refusal_record(line, datetime.fromtimestamp(log_event.timestamp / 1000, UTC), config.max_targets)
        if record is not None:
            store.append(record)  # AuditUnavailable: the invocation fails and is retried
            recorded += 1
    metrics.add_metric(name="GatewayRefusalsRecorded", unit="Count", value=recorded)
    if unreadable:
        raise InvalidInput(f"logEvents: {len(unreadable)} line(s) are not access log JSON: {', '.join(unreadable[:5])}")
    return {"recorded": recorded}
