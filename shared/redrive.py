"""What a dead-letter message is and where it goes back to.

Two kinds of message land in the hub's queues: Lambda's on-failure destination records (a function kept
failing on an event; the event is `requestPayload`) and EventBridge's dead letters (the bus could not
invoke a rule's target; the body is the event itself). Either way the catalog says which function the
queue belongs to, and redriving means invoking that function again with the original event.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from shared.catalog import Catalog, Function


@dataclass(frozen=True)
class DeadLetter:
    function: Function
    event: dict[str, Any]


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
    event = message["requestPayload"] if isinstance(message, dict) and "requestPayload" in message else message
    return DeadLetter(owner_of(catalog, queue_name), event)


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
