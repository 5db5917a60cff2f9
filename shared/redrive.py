"""What a dead-letter message is and where it goes back to.

Three kinds of message land in the dead-letter queues of the hub's functions: Lambda's on-failure destination
records (a function kept failing on an event, or set it aside as one that can never succeed; the event is
`requestPayload`), EventBridge's dead letters (the bus could not invoke a rule's target; the body is the event
itself), and a stream trigger's failure records (`DDBStreamBatchInfo`: where in the table's stream the records are,
not the records, which the redrive reads again while the stream keeps them, 24 hours). Either way the catalog says
which function the queue belongs to, and redriving means invoking that function again with the original event.

A work queue's dead-letter queue is different: SQS moved the message itself there, after its consumer failed on it
`max_receive_count` times, so redriving it means sending it back to its work queue (`back_to_work_queue`), where
the queue trigger hands it to the consumer again, retries and dead-lettering included. In AWS SQS's own DLQ redrive
(`StartMessageMoveTask`, FIFO queues included) does the same.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from shared.catalog import Catalog, Function, WorkQueue

# A destination record's `requestContext.condition` when the function itself set the event aside as one that can
# never succeed as it is (`shared.permanent_failures`): redriving it unchanged only puts it back
PERMANENT_CONDITION = "PermanentFailure"
# How long a redrive holds the messages it took (invisible to other receives) while it hands them back, at most
HOLD_SECONDS = 900


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
    condition: str | None = None  # a destination record's: RetriesExhausted, PermanentFailure, ...

    @property
    def permanent(self) -> bool:
        """Whether the function set the event aside as one it can never handle as it is (not worth a retry)."""
        return self.condition == PERMANENT_CONDITION

    @property
    def key(self) -> str:
        """What the letter is about, for telling one event's dead letters apart from another's: the event id, or
        the stream position, or the whole event."""
        if self.stream_batch is not None:
            batch = self.stream_batch
            return f"{batch.stream_arn}/{batch.shard_id}/{batch.first}-{batch.last}"
        event_id = self.event.get("id")
        return str(event_id) if event_id else json.dumps(self.event, sort_keys=True, default=str)

    @property
    def from_stream(self) -> bool:
        """Whether the function reads a stream (its events are `{"Records": [...]}` and it answers which failed)."""
        return bool(self.function.streams)


class UnknownQueue(ValueError):
    pass


class UnreadableDeadLetter(ValueError):
    """A message that is no dead letter a redrive can read (not JSON, or not in any of the three formats)."""


class WorkQueueDeadLetters(UnknownQueue):
    """The queue holds a work queue's dead letters: they go back to that queue, not to a function."""


def work_queue_of(catalog: Catalog, queue_name: str) -> WorkQueue | None:
    """The work queue whose dead-letter queue `queue_name` is, if it is one."""
    for queue in catalog.work_queues:
        if queue.dead_letter_queue.name == queue_name:
            return queue
    return None


def owner_of(catalog: Catalog, queue_name: str) -> Function:
    """The function a dead-letter queue's events go back to; a work queue's dead letters go to their queue."""
    work_queue = work_queue_of(catalog, queue_name)
    if work_queue is not None:
        raise WorkQueueDeadLetters(
            f"{queue_name} holds the dead letters of work queue {work_queue.name}: they go back to that queue "
            "(SQS DLQ redrive, StartMessageMoveTask; locally POST /_local/redrive/<queue>), not to a function"
        )
    for fn in catalog.functions:
        if fn.failure_queue.name == queue_name or any(fn.rule_dlq(rule).name == queue_name for rule in fn.rules):
            return fn
    known = ", ".join(queue.name for queue in catalog.queues)
    raise UnknownQueue(f"no catalog queue named {queue_name!r}; the hub's queues are: {known}")


def dead_letter(catalog: Catalog, queue_name: str, body: str) -> DeadLetter:
    """The dead letter a message of `queue_name` holds; UnreadableDeadLetter when it holds none."""
    function = owner_of(catalog, queue_name)
    try:
        message = json.loads(body)
        if not isinstance(message, dict):
            raise TypeError(f"a JSON {type(message).__name__}, not an object")
        context = message.get("requestContext")
        condition = context.get("condition") if isinstance(context, dict) else None
        if "DDBStreamBatchInfo" in message:
            info = message["DDBStreamBatchInfo"]
            first, last = info["startSequenceNumber"], info["endSequenceNumber"]
            batch = StreamBatch(info["streamArn"], info["shardId"], first, last)
            return DeadLetter(function, {}, batch, condition)
        event = message.get("requestPayload", message)
        if not isinstance(event, dict):
            raise TypeError(f"its event is a JSON {type(event).__name__}, not an object")
        return DeadLetter(function, event, None, condition)
    except (ValueError, KeyError, TypeError) as exc:
        raise UnreadableDeadLetter(f"not a dead letter ({type(exc).__name__}: {exc}): {body[:80]!r}") from None


def held_messages(
    sqs: Any, queue_url: str, limit: int | None = None, wait_seconds: int = 0, **receive: Any
) -> list[dict[str, Any]]:
    """The messages in a queue now (at most `limit`), each received and held invisible for `HOLD_SECONDS`: what a
    redrive hands back, and nothing that arrives while it does (a dead letter that fails again comes back as a new
    message, for the next redrive). `release` gives back those it does not delete."""
    held: list[dict[str, Any]] = []
    while limit is None or len(held) < limit:
        wanted = 10 if limit is None else min(10, limit - len(held))
        messages = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=wanted,
            VisibilityTimeout=HOLD_SECONDS,
            WaitTimeSeconds=wait_seconds,
            **receive,
        ).get("Messages", [])
        if not messages:
            break
        held.extend(messages)
    return held


def release(sqs: Any, queue_url: str, messages: Iterable[Mapping[str, Any]]) -> None:
    """Make held messages visible again at once (they stay in the queue, for the next redrive)."""
    handles = [message["ReceiptHandle"] for message in messages]
    for start in range(0, len(handles), 10):
        entries = [
            {"Id": str(n), "ReceiptHandle": h, "VisibilityTimeout": 0}
            for n, h in enumerate(handles[start : start + 10])
        ]
        sqs.change_message_visibility_batch(QueueUrl=queue_url, Entries=entries)


def back_to_work_queue(message: Mapping[str, Any], queue: WorkQueue, queue_url: str) -> dict[str, Any]:
    """SendMessage's arguments that put a dead letter (as ReceiveMessage gave it, with every system and message
    attribute) back on its work queue: the same body and message attributes and, on a FIFO queue, the same message
    group (it joins the back of its group) under a new de-duplication id, derived from the dead letter's message id:
    the original id would be dropped as a duplicate within SQS's 5-minute window, and a redrive retried after a
    crash between send and delete is de-duplicated."""
    arguments: dict[str, Any] = {"QueueUrl": queue_url, "MessageBody": message["Body"]}
    attributes = {
        name: {key: value for key, value in attribute.items() if key in ("DataType", "StringValue", "BinaryValue")}
        for name, attribute in (message.get("MessageAttributes") or {}).items()
    }
    if attributes:
        arguments["MessageAttributes"] = attributes
    if queue.fifo:
        arguments["MessageGroupId"] = message["Attributes"]["MessageGroupId"]
        arguments["MessageDeduplicationId"] = f"redrive-{message['MessageId']}"
    return arguments


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
