"""DynamoDB stream triggers, played locally as Lambda's event source mappings play them in AWS.

moto keeps each streamed table's records; this reads them in order (shard by shard, from where it stopped),
keeps those the trigger's filter matches (Lambda event filtering: the catalog's patterns use value lists
only), and invokes the function with a batch of at most `batch_size`. The function answers which records
failed (`batchItemFailures`); those, and all after them in the batch, are retried (Lambda checkpoints at the
first failure), a batch that keeps failing is split in two to isolate the record at fault, and after the
trigger's retries the failure is reported to the function's failure queue in Lambda's record format (the
batch's shard and sequence numbers, as `DDBStreamBatchInfo`), from which redrive reads the records again.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from local_runtime import moto_patches
from shared.adapters.sqs_dead_letters import is_located, restored
from shared.catalog import Function, StreamTrigger
from shared.redrive import failed_records

log = logging.getLogger("local_runtime.streams")

Invoke = Callable[[Function, dict[str, Any]], Any]
Redelivered = Literal["taken", "failed", "gone"]
"""What handing a stream dead letter's records back came to: taken (every record: the dead letter may go), failed
(the function failed on one again, and its new failure record was sent: the dead letter may go), or gone (nothing
was handed back and nothing sent, as an item or the records are no longer there: the dead letter stays)."""
RETRY_DELAY_SECONDS = 0.1  # Lambda backs off for up to minutes; locally retries come quickly
LOCAL_RETRY_LIMIT = 3  # locally, a record that failed this often is reported (AWS: the trigger's max_retries)
# How often a trigger reads its stream when nothing happens: every 0.2 s when it can only poll, every 5 s (a
# safety net) when moto, in this process, wakes it as a record is added (`moto_patches.on_stream_record`).
BUSY_POLL_SECONDS = 0.2
IDLE_POLL_SECONDS = 5.0
SHARD_REFRESH_SECONDS = 10.0  # how old the list of a stream's shards may get (a shard that ends refreshes it)


def matches(pattern: Mapping[str, Any], value: Any) -> bool:
    """Lambda event filtering for patterns made of nested objects and lists of exact values."""
    if not isinstance(value, Mapping):
        return False
    for key, wanted in pattern.items():
        if key not in value:
            return False
        if isinstance(wanted, Mapping):
            if not matches(wanted, value[key]):
                return False
        elif isinstance(wanted, list):
            if any(isinstance(option, Mapping) for option in wanted):
                raise ValueError(f"filter operator {wanted!r} is not supported locally; use exact values")
            if value[key] not in wanted:
                return False
        else:
            raise ValueError(f"a filter pattern's leaves are lists of values, not {wanted!r}")
    return True


def as_delivered(value: Any) -> Any:
    """A stream record as Lambda hands it to a function: JSON, binary as base64 text, times as epoch seconds
    (boto3's client gives bytes and datetimes)."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, Mapping):
        return {key: as_delivered(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_delivered(item) for item in value]
    return value


ItemReader = Callable[[dict[str, Any]], dict[str, Any] | None]  # an item by its keys (DynamoDB JSON), None if gone


def item_reader(dynamodb: Any, table_name: str) -> ItemReader:
    """Reads an item of a streamed table back by its keys, as the stream's new image would show it."""

    def read(keys: dict[str, Any]) -> dict[str, Any] | None:
        item = dynamodb.get_item(TableName=table_name, Key=keys, ConsistentRead=True).get("Item")
        return as_delivered(item) if item is not None else None

    return read


def read_back(records: Sequence[dict[str, Any]], read_item: ItemReader) -> list[dict[str, Any]]:
    """Dead-lettered records as their trigger handed them: one set aside less its item images (the lead
    publisher's, `shared.adapters.sqs_dead_letters.located`) has its item read back from the table by its keys;
    LookupError when such an item is gone (erased, or past its TTL): nothing of it may be handed back."""
    return [restored(record, read_item) if is_located(record) else dict(record) for record in records]


class StreamReader:
    """The records of one stream, in order, each once: `read()` gives what was added since the last call."""

    def __init__(self, streams: Any, stream_arn: str) -> None:
        self._streams = streams
        self._arn = stream_arn
        self._iterators: dict[str, str | None] = {}
        self._shards: dict[str, str] = {}  # sequence number -> shard, for failure reports
        self._shard_ids: list[str] = []
        self._described_at: float | None = None

    def shard_of(self, record: Mapping[str, Any]) -> str:
        return self._shards.get(str(record["dynamodb"]["SequenceNumber"]), "")

    def forget(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Records handled for good need no shard kept (what a long-running hub holds stays bounded)."""
        for record in records:
            self._shards.pop(str(record["dynamodb"]["SequenceNumber"]), None)

    def read(self) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        for shard_id in self._current_shards():
            if shard_id not in self._iterators:
                self._iterators[shard_id] = self._streams.get_shard_iterator(
                    StreamArn=self._arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
            iterator = self._iterators[shard_id]
            if iterator is None:
                continue
            response = self._streams.get_records(ShardIterator=iterator)
            for record in response.get("Records", []):
                self._shards[str(record["dynamodb"]["SequenceNumber"])] = shard_id
                records.append(as_delivered(record))
            self._iterators[shard_id] = response.get("NextShardIterator")
            if self._iterators[shard_id] is None:
                self._described_at = None  # the shard ended: its children are new shards to read
        return records

    def _current_shards(self) -> list[str]:
        """The stream's shards, described again only now and then: a poller reading every 0.2 s spent half its
        calls on DescribeStream, and shards change only when one ends (which refreshes the list at once)."""
        now = time.monotonic()
        if self._described_at is None or now - self._described_at >= SHARD_REFRESH_SECONDS:
            description = self._streams.describe_stream(StreamArn=self._arn)["StreamDescription"]
            self._shard_ids = [shard["ShardId"] for shard in description["Shards"]]
            self._described_at = now if self._shard_ids else None  # a stream with no shard yet: ask again
        return self._shard_ids

    def between(self, shard_id: str, first: str, last: str) -> list[dict[str, Any]]:
        """The records of a shard from sequence number `first` to `last` (what redrive reads again)."""
        iterator = self._streams.get_shard_iterator(
            StreamArn=self._arn, ShardId=shard_id, ShardIteratorType="AT_SEQUENCE_NUMBER", SequenceNumber=first
        )["ShardIterator"]
        found: list[dict[str, Any]] = []
        while iterator:
            response = self._streams.get_records(ShardIterator=iterator)
            batch = response.get("Records", [])
            for record in batch:
                if int(record["dynamodb"]["SequenceNumber"]) > int(last):
                    return found
                found.append(as_delivered(record))
            if not batch:
                return found
            iterator = response.get("NextShardIterator")
        return found


class StreamTriggerRunner:
    """One function's trigger on one table's stream, polled on a thread (or stepped by tests with `run_once`)."""

    def __init__(
        self,
        function: Function,
        trigger: StreamTrigger,
        reader: StreamReader,
        stream_arn: str,
        invoke: Invoke,
        report_failure: Callable[[dict[str, Any]], None],
        poll_seconds: float = BUSY_POLL_SECONDS,
        read_item: ItemReader | None = None,
    ) -> None:
        self.function = function
        self._read_item = read_item  # the streamed table's items by their keys, for a redrive (`redeliver`)
        self.trigger = trigger
        self.reader = reader
        self._arn = stream_arn
        self._invoke = invoke
        self._report_failure = report_failure
        self._poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._unregister: Callable[[], None] | None = None

    def start(self) -> None:
        if moto_patches.installed():  # the embedded AWS is in this process: it says when a stream grows
            self._unregister = moto_patches.on_stream_record(self._wake.set)
            self._poll_seconds = max(self._poll_seconds, IDLE_POLL_SECONDS)
        self._thread = threading.Thread(target=self._loop, name=f"stream-{self.function.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._unregister is not None:
            self._unregister()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()  # before reading: a record added while this reads wakes the wait below at once
            try:
                delivered = self.run_once()
            except Exception:  # the embedded AWS shutting down, or a bug here: keep polling
                if self._stop.is_set():
                    return
                log.exception("stream trigger of %s failed", self.function.name)
                delivered = 0
            if not delivered:
                self._wake.wait(self._poll_seconds)

    def run_once(self) -> int:
        """Deliver what the stream holds now; how many records the filter matched."""
        read = self.reader.read()
        records = [record for record in read if matches(self.trigger.filter_pattern, record)]
        for start in range(0, len(records), self.trigger.batch_size):
            self.deliver(records[start : start + self.trigger.batch_size])
        self.reader.forget(read)
        return len(records)

    def redeliver(self, records: Sequence[dict[str, Any]]) -> Redelivered:
        """A dead letter's records handed back (a redrive), those set aside less their images with their items
        read back: taken, or failed (a new failure record was sent); gone, handing nothing and sending nothing, when
        such an item is gone (an erased person's event stays unpublished): its dead letter stays."""
        try:
            batch = read_back(records, self._read_item) if self._read_item is not None else list(records)
        except LookupError as exc:
            log.warning("redrive of %s: %s (erased, or past its TTL): nothing handed back", self.function.name, exc)
            return "gone"
        return "taken" if self.deliver(batch) else "failed"

    def deliver(self, batch: Sequence[dict[str, Any]]) -> bool:
        """Invoke with the batch until it succeeds; a failing part is retried, split, then reported. True when
        every record was taken."""
        pending, failures = list(batch), 0
        while pending:
            failed_from = self._attempt(pending)
            if failed_from is None:
                return True
            pending = pending[failed_from:]
            failures += 1
            if failures <= LOCAL_RETRY_LIMIT:
                time.sleep(RETRY_DELAY_SECONDS * failures)
                continue
            if len(pending) > 1:  # bisect: each half on its own, so one bad record holds up only itself
                half = len(pending) // 2
                first_half = self.deliver(pending[:half])
                return self.deliver(pending[half:]) and first_half
            self._report_failure(self._failure_record(pending))
            return False
        return True

    def _attempt(self, batch: list[dict[str, Any]]) -> int | None:
        """None when the function took the whole batch; else the index of the first record to retry."""
        try:
            answer = self._invoke(self.function, {"Records": batch})
        except Exception:
            log.warning("%s failed on a stream batch of %d", self.function.name, len(batch), exc_info=True)
            return 0
        failed = set(failed_records(answer))
        if not failed:
            return None
        positions = [str(record["dynamodb"]["SequenceNumber"]) for record in batch]
        return min(positions.index(position) for position in failed if position in positions)

    def _failure_record(self, batch: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """What Lambda sends a stream trigger's on-failure destination: where the records are, not the records."""
        first, last = batch[0], batch[-1]
        return {
            "requestContext": {
                "requestId": f"local-{first['dynamodb']['SequenceNumber']}",
                "functionArn": self.function.slug,
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": LOCAL_RETRY_LIMIT + 1,
            },
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(),
            "DDBStreamBatchInfo": {
                "shardId": self.reader.shard_of(first),
                "startSequenceNumber": first["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": last["dynamodb"]["SequenceNumber"],
                "approximateArrivalOfFirstRecord": str(first["dynamodb"].get("ApproximateCreationDateTime", "")),
                "approximateArrivalOfLastRecord": str(last["dynamodb"].get("ApproximateCreationDateTime", "")),
                "batchSize": len(batch),
                "streamArn": self._arn,
            },
        }


def failure_message(record: Mapping[str, Any]) -> str:
    return json.dumps(record, default=str)
