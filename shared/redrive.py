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
