"""Delivers the bus's events to the catalog's rule targets, in-process, with AWS's failure semantics.

Matching is EventBridge's (moto's implementation): each rule targets an SQS tap, and whatever lands in
a tap is what the rule matched. A target function is invoked as Lambda invokes asynchronously: on error
it is retried twice, then the event goes to the function's on-failure destination (its async-failures
queue) in Lambda's destination record format, ready to be redriven. An event the runtime could not hand
to the function at all goes to the rule's dead-letter queue, as EventBridge does.

Every event put on the bus is also recorded for `/_local/events`, numbered by `seq` (0, 1, 2, ... for the life
of the hub); the latest `events_kept` are kept, as JSON text (a third of the parsed form's memory), so a hub
that runs for days holds a bounded amount.

The events of the hub's own sources are archived as well, as the bus's EventBridge archive keeps them
(`infra/events.py`), for `make replay` (`local_runtime.replay`): each with its own time, for the dev stage's
retention, and at most `archive_kept` of them (the oldest dropped first). The archive shares each event's text
with the recorded window, so it costs memory only for the events older than that window.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from local_runtime.provision import Provisioned, RuleTap
from local_runtime.streams import Redelivered
from shared.catalog import Function, WorkQueue
from shared.redrive import (
    DeadLetter,
    UnreadableDeadLetter,
    back_to_work_queue,
    dead_letter,
    destination_record,
    held_messages,
    release,
    work_queue_of,
)

log = logging.getLogger("local_runtime.dispatcher")
LAMBDA_ASYNC_RETRIES = 2
RETRY_DELAY_SECONDS = 0.2  # Lambda waits about a minute, then two; locally the retries come quickly
EVENTS_KEPT = 10_000  # recorded bus events kept for /_local/events; older ones are dropped
ARCHIVE_KEPT = 50_000  # archived bus events kept for replays, at most (a few tens of MB); older ones are dropped
LONG_POLL_SECONDS = 20  # SQS's longest wait; an idle hub's ~25 rule queues otherwise cost ~20 receives a second
WAKE_ATTRIBUTE = "local-hub-wake"  # marks the message `stop` sends each queue to end its poller's wait
POLLER_THREAD_PREFIX = "event-dispatch-"  # each poller thread's name: this and its queue's name
ARCHIVE_RETENTION = timedelta(days=14)  # the dev stage's archive retention (`infra/config.py`)

Invoke = Callable[[Function, dict[str, Any]], Any]
Handle = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class RecordedEvents:
    """A window of the recorded events: `events` are (seq, event) pairs, oldest first."""

    oldest_seq: int  # the oldest seq still kept: those below it were dropped
    last_seq: int  # the newest seq recorded; -1 before the first event
    events: list[tuple[int, dict[str, Any]]]


@dataclass(frozen=True)
class ArchivedEvent:
    archived_at: float  # when it was archived (epoch seconds): what retention counts from
    time: datetime  # the event's own `time` (PutEvents' Time; the hub's publishers set the event's occurred_at)
    text: str  # the event as delivered, as JSON


class LocalArchive:
    """The bus's archive, as EventBridge keeps one: every event of `sources` put on the bus, with its own time,
    kept `retention` after it was archived and at most `kept` of them. Replays read it by the events' time."""

    def __init__(
        self,
        sources: Collection[str],
        kept: int = ARCHIVE_KEPT,
        retention: timedelta = ARCHIVE_RETENTION,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if kept < 1:
            raise ValueError(f"an archive keeps at least 1 event, not {kept}")
        self.sources = frozenset(sources)
        self.kept = kept
        self.retention = retention
        self._clock = clock
        self._lock = threading.Lock()
        self._events: deque[ArchivedEvent] = deque(maxlen=kept)  # in archiving order

    def add(self, event: dict[str, Any], text: str) -> bool:
        """Archive `event` (its JSON `text`) if its source is archived; False when it is not."""
        if event.get("source") not in self.sources:
            return False
        now = self._clock()
        archived = ArchivedEvent(now, _event_time(event.get("time"), now), text)
        with self._lock:
            self._events.append(archived)
            horizon = now - self.retention.total_seconds()
            while self._events and self._events[0].archived_at < horizon:
                self._events.popleft()
        return True

    def between(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """The archived events whose time is at or after `start` and before `end` (as EventBridge's replay
        window), by time (those of the same time in archiving order)."""
        with self._lock:
            horizon = self._clock() - self.retention.total_seconds()
            window = [e for e in self._events if start <= e.time < end and e.archived_at >= horizon]
        window.sort(key=lambda archived: archived.time)
        return [json.loads(archived.text) for archived in window]

    def __len__(self) -> int:
        with self._lock:
            return len(self._events)

    def oldest_time(self) -> datetime | None:
        """The time of the earliest event still archived (None when it holds none)."""
        with self._lock:
            return min((archived.time for archived in self._events), default=None)


def _event_time(value: Any, archived_at: float) -> datetime:
    """An event's `time` ("2026-05-01T10:00:00Z", as EventBridge delivers it); when it has none that parses,
    the moment it was archived."""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return datetime.fromtimestamp(archived_at, UTC)


class EventDispatcher:
    def __init__(
        self,
        sqs: Any,
        provisioned: Provisioned,
        invoke: Invoke,
        poll_seconds: int = LONG_POLL_SECONDS,
        events_kept: int = EVENTS_KEPT,
        archive_kept: int = ARCHIVE_KEPT,
    ) -> None:
        if events_kept < 1:
            raise ValueError(f"events_kept must be at least 1, not {events_kept}")
        self._sqs = sqs
        self._provisioned = provisioned
        self._invoke = invoke
        self._poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._events: deque[tuple[str, str]] = deque(maxlen=events_kept)  # (detail-type, the event as JSON)
        self._next_seq = 0
        self._redrive_stream: Callable[[DeadLetter], Redelivered] | None = None
        self.archive = LocalArchive(provisioned.catalog.event_sources, kept=archive_kept)

    @property
    def taps(self) -> list[RuleTap]:
        """The catalog's rules on the bus, each with its function (what a replay delivers to)."""
        return list(self._provisioned.taps)

    def start(self) -> None:
        for queue_url, handle in self._workers():
            name = f"{POLLER_THREAD_PREFIX}{queue_url.rsplit('/', 1)[-1]}"
            thread = threading.Thread(target=self._poll, args=(queue_url, handle), daemon=True, name=name)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Ends the pollers. Each waits in a long poll; a message marked as a wake-up ends that wait at once (the
        pollers would otherwise take up to `poll_seconds` to notice)."""
        self._stop.set()
        if self._threads:
            for queue_url, _ in self._workers():
                try:
                    self._sqs.send_message(
                        QueueUrl=queue_url,
                        MessageBody="{}",
                        MessageAttributes={WAKE_ATTRIBUTE: {"DataType": "String", "StringValue": "stop"}},
                    )
                except Exception:  # this queue's poller waits its poll out (the embedded AWS may be gone already)
                    log.warning("could not wake the poller of %s", queue_url, exc_info=True)
        for thread in self._threads:
            thread.join(timeout=5)

    def _workers(self) -> list[tuple[str, Callable[[dict[str, Any]], None]]]:
        workers: list[tuple[str, Callable[[dict[str, Any]], None]]] = [
            (self._provisioned.all_events_url, self._remember)
        ]
        return workers + [(tap.tap_url, self._deliverer(tap)) for tap in self._provisioned.taps]

    def recorded(self) -> list[dict[str, Any]]:
        """The events kept, oldest first."""
        return [event for _, event in self.recorded_after().events]

    def recorded_after(self, seq: int | None = None, detail_type: str | None = None) -> RecordedEvents:
        """The kept events with a seq greater than `seq` (all kept events when None), of `detail_type` if given."""
        with self._lock:
            oldest = self._next_seq - len(self._events)
            skip = 0 if seq is None else min(max(seq + 1 - oldest, 0), len(self._events))
            window = list(enumerate(itertools.islice(self._events, skip, None), start=oldest + skip))
            last = self._next_seq - 1
        wanted = [(number, json.loads(text)) for number, (kind, text) in window if detail_type in (None, kind)]
        return RecordedEvents(oldest, last, wanted)

    def _remember(self, event: dict[str, Any]) -> None:
        text = json.dumps(event, separators=(",", ":"))
        with self._lock:
            self._events.append((str(event.get("detail-type")), text))
            self._next_seq += 1
        self.archive.add(event, text)

    def _poll(self, queue_url: str, handle: Handle) -> None:
        while not self._stop.is_set():
            try:
                response = self._sqs.receive_message(
                    QueueUrl=queue_url,
                    MaxNumberOfMessages=10,
                    WaitTimeSeconds=self._poll_seconds,
                    MessageAttributeNames=[WAKE_ATTRIBUTE],
                )
            except Exception:  # the embedded AWS is shutting down
                if self._stop.is_set():
                    return
                time.sleep(0.5)
                continue
            if self._stop.is_set():
                return  # what this receive held stays in the queue, as it would for a Lambda that stopped
            handled: list[dict[str, str]] = []
            for message in response.get("Messages", []):
                if WAKE_ATTRIBUTE in message.get("MessageAttributes", {}):
                    handled.append({"Id": str(len(handled)), "ReceiptHandle": message["ReceiptHandle"]})
                    continue  # a wake-up from a `stop` that came before this poller's (a hub stopped and started)
                try:
                    handle(self._as_delivered(json.loads(message["Body"])))
                except Exception:
                    # Left in the queue, the message comes back after its visibility timeout, as it would to
                    # EventBridge's own retries; this thread goes on with the others.
                    log.error("could not hand over a message of %s:\n%s", queue_url, traceback.format_exc())
                    continue
                handled.append({"Id": str(len(handled)), "ReceiptHandle": message["ReceiptHandle"]})
            if handled:
                try:
                    self._sqs.delete_message_batch(QueueUrl=queue_url, Entries=handled)
                except Exception:  # they come back after their visibility timeout; this poller goes on
                    log.warning("could not delete handled messages of %s", queue_url, exc_info=True)

    def _as_delivered(self, event: dict[str, Any]) -> dict[str, Any]:
        """The event in the shape EventBridge hands a target; moto's SQS delivery leaves out `account`."""
        event.setdefault("version", "0")
        event.setdefault("account", self._provisioned.account)
        event.setdefault("region", self._provisioned.region)
        event.setdefault("resources", [])
        return event

    def _deliverer(self, tap: RuleTap) -> Handle:
        def deliver(event: dict[str, Any]) -> None:
            self.deliver(tap.function, event, tap)

        return deliver

    def deliver(self, function: Function, event: dict[str, Any], tap: RuleTap | None = None) -> bool:
        """Invoke as Lambda's asynchronous invocation does; False when the event ended in a queue."""
        error: BaseException | None = None
        for attempt in range(1 + LAMBDA_ASYNC_RETRIES):
            try:
                self._invoke(function, event)
                return True
            except ImportError as exc:  # EventBridge could not invoke the target at all
                if tap is None:
                    raise
                self._dead_letter(tap, event, exc)
                return False
            except Exception as exc:
                error = exc
                log.warning(
                    "%s failed on %s (attempt %d): %s",
                    function.name,
                    event.get("detail-type"),
                    attempt + 1,
                    "".join(traceback.format_exception(exc)[-3:]).strip(),
                )
                time.sleep(RETRY_DELAY_SECONDS * (2**attempt))
        assert error is not None
        failure_url = self._provisioned.queue_urls[function.failure_queue.name]
        record = destination_record(function.slug, event, error, "RetriesExhausted", 1 + LAMBDA_ASYNC_RETRIES)
        self._sqs.send_message(QueueUrl=failure_url, MessageBody=json.dumps(record))
        return False

    def redrive_streams_with(self, redrive: Callable[[DeadLetter], Redelivered]) -> None:
        """How a stream-reading function's dead letters go back: through its trigger (the hub's), which says whether
        the records were taken, failed again (a new failure record was sent) or are gone (nothing handed back)."""
        self._redrive_stream = redrive

    def redrive(self, queue_name: str, include_permanent: bool = False) -> dict[str, int]:
        """Hand the messages of a dead-letter queue back to their function, as `ops.redrive` does in AWS: those there
        when the call starts (held while it runs), not those that land while it does, so a dead letter that fails
        again (its new failure record lands in a failure queue) waits for the next redrive instead of being handed
        back again and again. A message goes only once it was handed back or its new failure record was sent: one
        whose delivery raised (its function cannot even be imported) stays, and counts as `failed_again`. A record
        the function set aside as one it can never handle as it is (`PermanentFailure`) stays unless
        `include_permanent` (its cause was fixed), as does a message that is no dead letter, and a stream dead letter
        with nothing to hand back (an item it names is no longer in the table: erased, or past its TTL; or its records
        are no longer in the stream), as `ops.redrive` leaves them on a stage: all count as `left`.

        A work queue's dead letters go back to their work queue, whose trigger hands them to the function again
        (whether they fail again shows later, in the dead-letter queue: `failed_again` is 0)."""
        work_queue = work_queue_of(self._provisioned.catalog, queue_name)
        if work_queue is not None:
            return {"redriven": self._back_to_work_queue(queue_name, work_queue), "failed_again": 0, "left": 0}
        queue_url = self._provisioned.queue_urls[queue_name]
        present = held_messages(self._sqs, queue_url)
        redriven = failed_again = left = 0
        stay: list[dict[str, Any]] = []  # messages left in the queue: visible again once this call ends
        counted = 0
        try:
            for message in present:
                counted += 1
                outcome = self._redrive_one(queue_name, message, include_permanent)
                if outcome in ("left", "raised"):
                    stay.append(message)
                    left += outcome == "left"
                    failed_again += outcome == "raised"
                    continue
                # the event was taken, or its new failure record is in its failure queue: this one can go
                self._sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                if outcome == "handled":
                    redriven += 1
                else:
                    failed_again += 1
        finally:
            release(self._sqs, queue_url, stay + present[counted:])
        return {"redriven": redriven, "failed_again": failed_again, "left": left}

    def _redrive_one(self, queue_name: str, message: dict[str, Any], include_permanent: bool) -> str:
        """handled, failed (a new failure record was sent), raised (nothing was: the message stays) or left."""
        try:
            letter = dead_letter(self._provisioned.catalog, queue_name, message["Body"])
        except UnreadableDeadLetter as exc:
            log.warning("redrive of %s: %s: left in the queue", queue_name, exc)
            return "left"
        if letter.permanent and not include_permanent:
            return "left"
        try:
            if letter.from_stream and self._redrive_stream is not None:
                redelivered = self._redrive_stream(letter)
                if redelivered == "gone":  # nothing handed back and no new failure record: the message must stay
                    log.warning("redrive of %s: nothing to hand back for %s: left in the queue", queue_name, letter.key)
                    return "left"
                handled = redelivered == "taken"
            else:
                handled = self.deliver(letter.function, letter.event)
        except Exception:
            log.error("redrive of %s: could not hand back %s:\n%s", queue_name, letter.key, traceback.format_exc())
            return "raised"
        return "handled" if handled else "failed"

    def _back_to_work_queue(self, queue_name: str, work_queue: WorkQueue) -> int:
        """Move the messages of a work queue's dead-letter queue (those there when the call starts) back to the work
        queue, oldest first, as SQS's DLQ redrive does: each is sent again (same body, attributes and message group)
        before it is deleted."""
        dead_letters = self._provisioned.queue_urls[queue_name]
        work_queue_url = self._provisioned.work_queue_urls[work_queue.name]
        present = held_messages(
            self._sqs, dead_letters, MessageSystemAttributeNames=["All"], MessageAttributeNames=["All"]
        )
        moved = 0
        try:
            for message in present:
                self._sqs.send_message(**back_to_work_queue(message, work_queue, work_queue_url))
                self._sqs.delete_message(QueueUrl=dead_letters, ReceiptHandle=message["ReceiptHandle"])
                moved += 1
        finally:
            release(self._sqs, dead_letters, present[moved:])
        return moved

    def _dead_letter(self, tap: RuleTap, event: dict[str, Any], error: BaseException) -> None:
        self._sqs.send_message(
            QueueUrl=tap.dlq_url,
            MessageBody=json.dumps(event),
            MessageAttributes={
                "RULE_ARN": {"DataType": "String", "StringValue": tap.rule.name},
                "ERROR_CODE": {"DataType": "String", "StringValue": "INVOCATION_FAILED"},
                "ERROR_MESSAGE": {"DataType": "String", "StringValue": str(error)[:1000]},
            },
        )
