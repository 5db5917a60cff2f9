"""What a dead-letter message is and where it goes back to.

Three kinds of message land in the hub's queues: Lambda's on-failure destination records (a function kept
failing on an event, or set it aside as one that can never succeed; the event is `requestPayload`),
EventBridge's dead letters (the bus could not invoke a rule's target; the body is the event itself), and a
stream trigger's failure records (`DDBStreamBatchInfo`: where in the table's stream the records are, not the
records, which the redrive reads again while the stream keeps them, 24 hours). Either way the catalog says
which function the queue belongs to, and redriving means invoking that function again with the original
event.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from shared.catalog import Catalog, Function


@dataclass(frozen=True)
class StreamBatch:
    """Records of a table's stream, by position: shard and first and last sequence numbers."""

    stream_arn: str
    shard_id: str
    first: str
    last: str


@dataclass(frozen=True)
class DeadLetter:
    function: Function
    event: dict[str, Any]  # empty for a stream batch: its records are read from the stream
    stream_batch: StreamBatch | None = None

    @property
    def from_stream(self) -> bool:
        """Whether the function reads a stream (its events are `{"Records": [...]}` and it answers which failed)."""
        return bool(self.function.streams)


class UnknownQueue(ValueError):
    pass


def owner_of(catalog: Catalog, queue_name: str) -> Function:
    for fn in catalog.functions:
        if fn.failure_queue.name == queue_name or any(fn.rule_dlq(rule).name == queue_name for rule in fn.rules):
            return fn
    known = ", ".join(queue.name for queue in catalog.queues)
    raise UnknownQueue(f"no catalog queue named {queue_name!r}; the hub's queues are: {known}")


def dead_letter(catalog: Catalog, queue_name: str, body: str) -> DeadLetter:
    message = json.loads(body)
    function = owner_of(catalog, queue_name)
    if isinstance(message, dict) and "DDBStreamBatchInfo" in message:
        info = message["DDBStreamBatchInfo"]
        batch = StreamBatch(info["streamArn"], info["shardId"], info["startSequenceNumber"], info["endSequenceNumber"])
        return DeadLetter(function, {}, batch)
    event = message["requestPayload"] if isinstance(message, dict) and "requestPayload" in message else message
    return DeadLetter(function, event)


def failed_records(answer: Any) -> list[str]:
    """The records a stream-reading function answered it could not handle (`batchItemFailures`)."""
    if not isinstance(answer, dict):
        return []
    return [str(item.get("itemIdentifier")) for item in answer.get("batchItemFailures") or []]


def destination_record(
    function_name: str, event: dict[str, Any], error: BaseException, condition: str, invocations: int
) -> dict[str, Any]:
    """What Lambda sends an on-failure destination (its record format), so every dead letter of a function
    reads and redrives alike: `RetriesExhausted` from Lambda (or the local runtime), `PermanentFailure` from
    a function that knew retrying could not help."""
    import traceback
    from datetime import UTC, datetime

    return {
        "version": "1.0",
        "timestamp": datetime.now(UTC).isoformat(),
        "requestContext": {
            "requestId": event.get("id"),
            "functionArn": function_name,
            "condition": condition,
            "approximateInvokeCount": invocations,
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {
            "errorMessage": str(error),
            "errorType": type(error).__name__,
            "stackTrace": traceback.format_exception(error)[-3:],
        },
    }
