"""The local hub's work-queue poller waits in SQS (a long poll) while its standard queue is idle, as Lambda's
pollers do, instead of asking five times a second; a FIFO queue, and a queue with a failed message due back
within the wait, are still asked without waiting."""

from __future__ import annotations

import time
from typing import Any

from local_runtime.queues import LONG_POLL_SECONDS, QueueTriggerRunner
from shared.catalog import CATALOG


class RecordingSqs:
    """An SQS client that holds no message and records what each receive asked."""

    def __init__(self) -> None:
        self.waits: list[int] = []

    def receive_message(self, **asked: Any) -> dict[str, Any]:
        self.waits.append(asked["WaitTimeSeconds"])
        return {}

    def change_message_visibility_batch(self, **_: Any) -> dict[str, Any]:
        return {"Successful": [], "Failed": []}


def runner(queue_url: str, sqs: RecordingSqs) -> QueueTriggerRunner:
    [(function, trigger), *_] = CATALOG.queue_triggers
    return QueueTriggerRunner(function, trigger, sqs, queue_url, "arn:aws:sqs:us-east-1:1:q", "us-east-1", invoke)


def invoke(_: Any, __: Any) -> None:
    raise AssertionError("no message, no invocation")


def test_an_idle_standard_queue_is_long_polled() -> None:
    # Given the poller of a standard queue that holds nothing
    sqs = RecordingSqs()
    poller = runner("http://aws/123/revops-test-changes", sqs)
    # When it polls twice
    assert poller.run_once() == 0
    assert poller.run_once() == 0
    # Then each receive waited in SQS for a message
    assert sqs.waits == [LONG_POLL_SECONDS, LONG_POLL_SECONDS]
    assert LONG_POLL_SECONDS >= 1


def test_a_fifo_queue_is_not_long_polled() -> None:
    sqs = RecordingSqs()
    assert runner("http://aws/123/revops-test-work.fifo", sqs).run_once() == 0
    assert sqs.waits == [0]


def test_a_failed_message_due_back_within_the_wait_is_not_waited_past() -> None:
    # Given a standard queue's poller with a failed message to give back in half a second
    sqs = RecordingSqs()
    poller = runner("http://aws/123/revops-test-changes", sqs)
    poller._retries.append((time.monotonic() + 0.5, ["receipt-1"]))
    # When it polls
    poller.run_once()
    # Then it does not wait in SQS (the loop gives the message back on time, then polls again)
    assert sqs.waits == [0]


class FailingSqs(RecordingSqs):
    """Answers its first receive, then fails every later one (the embedded AWS gone)."""

    def receive_message(self, **asked: Any) -> dict[str, Any]:
        super().receive_message(**asked)
        if len(self.waits) > 1:
            raise ConnectionError("the embedded AWS is gone")
        return {}


def test_a_receive_that_fails_is_followed_by_a_pause_not_by_another_receive_at_once() -> None:
    # Given a standard queue's poller running, whose receives fail after its first (long-polled) one
    sqs = FailingSqs()
    poller = runner("http://aws/123/revops-test-changes", sqs)
    poller.start()
    # When it has run for half a second
    deadline = time.monotonic() + 0.5
    while time.monotonic() < deadline:
        time.sleep(0.05)
    poller.stop()
    # Then it asked a few times (a pause of `poll_seconds` after each failure), not as fast as it could
    assert 2 <= len(sqs.waits) <= 10
