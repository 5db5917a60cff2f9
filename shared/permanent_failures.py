"""An event that can never succeed goes to its function's dead-letter queue at once, with the reason.

Lambda retries a failed asynchronous invocation twice, whatever the error; for an event that is malformed or
can never be stored that is three failures, three alarms' worth of noise and a delay before anyone sees why.
Event consumers wrap their handler with `dead_letter_permanent_failures`: an error of a permanent kind is
sent to the function's on-failure queue straight away (in Lambda's destination-record format, condition
`PermanentFailure`, so `make redrive` hands it back once the cause is fixed) and the invocation succeeds.
Every other error propagates and is retried as before.

The queue is the function's own (its role may send there and look its URL up, nothing else), named from the
stage its environment gives it at cold start.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from shared.catalog import physical_name
from shared.errors import InvalidInput
from shared.function_environment import FunctionEnvironment
from shared.observability import logger, metrics
from shared.redrive import PERMANENT_CONDITION, destination_record

# Errors no retry can fix: input that does not validate (the event's envelope or the domain's rules) and
# records the store cannot hold (TooLargeToStore is an InvalidInput).
PERMANENT_ERRORS: tuple[type[BaseException], ...] = (InvalidInput, ValidationError)

Handler = Callable[[dict[str, Any], Any], Any]
Send = Callable[[str, dict[str, Any]], None]


def send_to_queue(queue_name: str, record: dict[str, Any]) -> None:
    import boto3

    sqs = boto3.client("sqs")
    queue_url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(record, default=str))


def dead_letter_permanent_failures(
    environment: FunctionEnvironment, send: Send = send_to_queue
) -> Callable[[Handler], Handler]:
    """For the handler of the function whose environment this is (its on-failure queue is where records go)."""
    function = environment.function
    queue = physical_name(environment.stage, function.failure_queue.name)

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def wrapped(event: dict[str, Any], context: Any) -> Any:
            try:
                return handler(event, context)
            except PERMANENT_ERRORS as error:
                send(queue, destination_record(function.slug, event, error, PERMANENT_CONDITION, 1))
                logger.warning(
                    "event dead-lettered at once: retrying cannot fix it",
                    extra={"queue": queue, "error": f"{type(error).__name__}: {error}"[:1000]},
                )
                metrics.add_metric(name="DeadLetteredAtOnce", unit="Count", value=1)
                return {"dead_lettered": queue, "reason": f"{type(error).__name__}: {error}"[:1000]}

        return wrapped

    return decorate
