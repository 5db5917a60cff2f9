"""A work queue's consumer for queue-trigger tests, written as a FIFO queue's consumer should be: Powertools'
`SqsFifoPartialProcessor(skip_group_on_error=True)` reports the messages it failed on, and after a group's first
failure the group's later messages of the batch too, so that the group stays in order.

Each body is JSON with a `key`. `{"fail_receives": n}` fails the message's first n receives; `{"fail": true}`
fails it until its key is in `recovered`; `{"hold": true}` waits (up to 30 s) until `release` is set, so that a
test can send more in the meantime and have it arrive as one batch.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

events: list[dict[str, Any]] = []  # every event it was given, whole
attempts: list[tuple[str, int]] = []  # (key, ApproximateReceiveCount) of each message it tried, in order
handled: list[str] = []  # the keys of the messages it handled, in order
answers: list[dict[str, Any]] = []  # what it answered (nothing when it failed the whole batch: it raised)
recovered: set[str] = set()
release = threading.Event()

processor = SqsFifoPartialProcessor(skip_group_on_error=True)


def reset() -> None:
    events.clear()
    attempts.clear()
    handled.clear()
    answers.clear()
    recovered.clear()
    release.clear()


def record_handler(record: SQSRecord) -> None:
    body = json.loads(record.body)
    receives = int(record.attributes.approximate_receive_count)
    attempts.append((body["key"], receives))
    if body.get("hold"):
        release.wait(timeout=30)
    if (body.get("fail") and body["key"] not in recovered) or receives <= body.get("fail_receives", 0):
        raise RuntimeError(f"cannot handle {body['key']} (receive {receives})")
    handled.append(body["key"])


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    events.append(event)
    answer = dict(process_partial_response(event, record_handler, processor, context))
    answers.append(answer)
    return answer
