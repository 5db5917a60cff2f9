"""Queue triggers, played locally as Lambda's event source mapping for SQS plays them in AWS.

Each queue trigger gets a poller. It receives a batch from the work queue (at most the trigger's batch size, with
every system and message attribute: MessageGroupId, ApproximateReceiveCount, ...), invokes the function with it as
Lambda's SQS event (`sqs_event`), and deletes the messages the function did not list in `batchItemFailures`. When
the function raised, or answered what Lambda reads as a failed batch (an item failure whose `itemIdentifier` is
missing, empty or not a message of the batch), nothing is deleted. What is not deleted comes back to be received
again. The embedded SQS (moto) counts each message's receives and, as SQS does, moves one received the queue's
`maxReceiveCount` times to the queue's dead-letter queue instead of handing it out again; and it holds a FIFO
queue's message group back while a message of the group is in flight, so a group's later messages wait.

moto unlocks a group lazily, though: a message whose visibility timeout ran out leaves the group's in-flight set
only when a receive walks past it, so when two failed messages of a group came back together, the receive would
skip the first (the second still counts as in flight) and hand out the second. So the poller does not let failed
messages time out: it gives them back itself, in one ChangeMessageVisibility call to 0 before its next receive,
which takes the whole group out of flight at once (`tests/integration/test_local_work_queues.py` checks the order).

Where it differs from AWS, on purpose:

- A failed message comes back after `RETRY_AFTER_SECONDS` (2 s) rather than after the queue's visibility timeout
  (5 minutes), so that locally a retry shows within seconds; the visibility timeout still covers a batch in
  flight. The receive count that dead-letters a message stays the catalog's: locally a message that keeps failing
  is retried for about a minute (24 receives, 2 s apart) before it is dead-lettered, so an outage of 30 s of what
  the consumer calls (a CRM stand-in refusing calls) dead-letters nothing, as an outage of less than two hours
  does not in AWS.
- One batch at a time per trigger: Lambda runs several pollers and scales a FIFO queue out by message group, but
  locally a function's invocations are one at a time anyway (`LocalHub.invoke`).
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from shared.catalog import Function, QueueTrigger

log = logging.getLogger("local_runtime.queues")

Invoke = Callable[[Function, dict[str, Any]], Any]
RETRY_AFTER_SECONDS = 2
POLL_SECONDS = 0.2  # how long an idle poller waits before receiving again
RECEIVE_MAX = 10  # SQS hands out at most 10 messages a receive
BATCHING_POLL_SECONDS = 0.05  # within a batching window, how long to wait before receiving again
LONG_POLL_SECONDS = 1  # an idle standard queue's receive waits this long for a message (moto answers on arrival)


def sqs_record(message: Mapping[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One received message as Lambda hands it to a function in an SQS event's `Records`."""
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        # ApproximateReceiveCount, SentTimestamp, SenderId, ApproximateFirstReceiveTimestamp and, for a FIFO queue,
        # SequenceNumber, MessageGroupId and MessageDeduplicationId: strings, as SQS gives them
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": {
            name: _message_attribute(value) for name, value in (message.get("MessageAttributes") or {}).items()
        },
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    record |= {"md5OfBody": message["MD5OfBody"], "eventSource": "aws:sqs", "eventSourceARN": queue_arn}
    record["awsRegion"] = region
    return record


def sqs_event(messages: Sequence[Mapping[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    return {"Records": [sqs_record(message, queue_arn, region) for message in messages]}


def _message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    """A message attribute in the event's spelling: camelCase, binary values as base64 text (boto3 gives bytes)."""
    attribute: dict[str, Any] = {}
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    attribute["stringListValues"] = list(value.get("StringListValues") or [])
    attribute["binaryListValues"] = [base64.b64encode(item).decode() for item in value.get("BinaryListValues") or []]
    attribute["dataType"] = value["DataType"]
    return attribute


def failed_message_ids(answer: Any, batch: Sequence[str]) -> set[str]:
    """The messages of `batch` (their ids) a function's answer says it failed on, read as Lambda reads it with
    ReportBatchItemFailures: none for no answer, `{}`, or an empty or null `batchItemFailures`; the whole batch
    when an item failure is not an object with the `itemIdentifier` of a message of the batch, or the answer is
    not an object at all."""
    if answer is None:
        return set()
    if not isinstance(answer, Mapping):
        log.warning("an answer to an SQS batch that is not an object fails the whole batch: %.200r", answer)
        return set(batch)
    items = answer.get("batchItemFailures") or []
    failed = [item.get("itemIdentifier") if isinstance(item, Mapping) else None for item in _listed(items)]
    if not isinstance(items, list) or not set(failed) <= set(batch):
        log.warning("batchItemFailures that name no message of the batch fail the whole batch: %.300r", items)
        return set(batch)
    return {str(identifier) for identifier in failed}


def _listed(items: Any) -> list[Any]:
    return items if isinstance(items, list) else []


class QueueTriggerRunner:
    """One function's trigger on one work queue, polled on a thread (or stepped by tests with `run_once`)."""

    def __init__(
        self,
        function: Function,
        trigger: QueueTrigger,
        sqs: Any,
        queue_url: str,
        queue_arn: str,
        region: str,
        invoke: Invoke,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self.function = function
        self.trigger = trigger
        self._sqs = sqs
        self._url = queue_url
        self._arn = queue_arn
        self._region = region
        self._invoke = invoke
        self._poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._retries: list[tuple[float, list[str]]] = []  # (when, receipt handles) of failed messages to give back
        # A standard queue is long-polled when idle. A FIFO queue is not: moto's long poll spins (its wait ends at
        # once) while the only visible messages belong to a message group held back by one in flight.
        self._long_polled = not queue_url.endswith(".fifo")
        self._waited = False  # whether the last receive was long-polled (an idle loop then needs no wait of its own)

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._loop, name=f"queue-{self.function.name}-{self.trigger.queue}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                received = self.run_once()
            except Exception:  # the embedded AWS shutting down, or a bug here: keep polling
                if self._stop.is_set():
                    return
                log.exception("queue trigger of %s on %s failed", self.function.name, self.trigger.queue)
                received, self._waited = 0, False  # a failed receive waited for nothing: the loop waits
            if not received and not self._waited:
                self._stop.wait(max(0.0, min(self._poll_seconds, self._next_retry() - time.monotonic())))

    def _next_retry(self) -> float:
        return min((when for when, _ in self._retries), default=float("inf"))

    def run_once(self) -> int:
        """Give back the failed messages whose time came, then receive one batch and hand it to the function; how
        many messages it held."""
        self._give_back_due()
        # long-polled only while no failed message is due back within the wait (it is given back on time)
        wait = (
            LONG_POLL_SECONDS if self._long_polled and self._next_retry() - time.monotonic() > LONG_POLL_SECONDS else 0
        )
        messages = self._receive(self.trigger.batch_size, wait)
        self._waited = wait > 0
        if not messages:
            return 0
        # A batching window: Lambda keeps receiving until the batch is full or the window since its first message
        # has passed (a receive takes 10 messages at most).
        window_ends = time.monotonic() + self.trigger.max_batching_window_seconds
        while len(messages) < self.trigger.batch_size and time.monotonic() < window_ends and not self._stop.is_set():
            more = self._receive(self.trigger.batch_size - len(messages))
            messages += more
            if not more:
                self._stop.wait(min(BATCHING_POLL_SECONDS, max(0.0, window_ends - time.monotonic())))
        failed = self._failed(messages)
        self._delete([message for message in messages if message["MessageId"] not in failed])
        self._retry_later([message for message in messages if message["MessageId"] in failed])
        return len(messages)

    def _receive(self, wanted: int, wait_seconds: int = 0) -> list[dict[str, Any]]:
        answer = self._sqs.receive_message(
            QueueUrl=self._url,
            MaxNumberOfMessages=min(wanted, RECEIVE_MAX),
            AttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
            WaitTimeSeconds=wait_seconds,  # 0 for a FIFO queue: the loop waits `poll_seconds` instead
        )
        return list(answer.get("Messages", []))

    def _failed(self, messages: Sequence[Mapping[str, Any]]) -> set[str]:
        ids = [message["MessageId"] for message in messages]
        try:
            answer = self._invoke(self.function, sqs_event(messages, self._arn, self._region))
        except Exception:
            log.warning(
                "%s failed on a batch of %d from %s", self.function.name, len(ids), self.trigger.queue, exc_info=True
            )
            return set(ids)
        return failed_message_ids(answer, ids)

    def _delete(self, messages: Sequence[Mapping[str, Any]]) -> None:
        if not messages:
            return
        entries = [{"Id": str(n), "ReceiptHandle": message["ReceiptHandle"]} for n, message in enumerate(messages)]
        response = self._sqs.delete_message_batch(QueueUrl=self._url, Entries=entries)
        if response.get("Failed"):
            log.error("could not delete handled messages of %s: %s", self.trigger.queue, response["Failed"])

    def _retry_later(self, messages: Sequence[Mapping[str, Any]]) -> None:
        """The failed messages come back in `RETRY_AFTER_SECONDS`; until then the visibility timeout they were
        received with keeps them, and their message groups, in flight."""
        if messages:
            handles = [message["ReceiptHandle"] for message in messages]
            self._retries.append((time.monotonic() + RETRY_AFTER_SECONDS, handles))

    def _give_back_due(self) -> None:
        now = time.monotonic()
        due = [handles for when, handles in self._retries if when <= now]
        self._retries = [(when, handles) for when, handles in self._retries if when > now]
        for handles in due:
            # One call per failed batch: every failed message of a group is out of flight before the next receive.
            entries = [
                {"Id": str(n), "ReceiptHandle": handle, "VisibilityTimeout": 0} for n, handle in enumerate(handles)
            ]
            response = self._sqs.change_message_visibility_batch(QueueUrl=self._url, Entries=entries)
            if response.get("Failed"):  # they come back when their visibility timeout runs out instead
                log.warning("could not give back failed messages of %s: %s", self.trigger.queue, response["Failed"])
