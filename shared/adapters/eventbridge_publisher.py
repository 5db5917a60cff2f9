"""Publishes events (canonical webhook events, lead events) on the hub's EventBridge bus, in PutEvents batches
that respect its limits, and says of each event it could not publish whether a retry can.

Permanent failures are the ones about the event itself: EventBridge refusing an entry as `MalformedDetail`
or `InvalidArgument` (a `ValidationException` for a whole call is narrowed down to its entries), and an
event that cannot even be serialized (text no UTF-8 can hold). Everything else passes with time or with a
fix on our side, so a retry of the same delivery will publish it: throttling and `InternalFailure` (the
codes EventBridge documents as retryable), an outage or a timeout, and refusals about our own setup
(`AccessDeniedException`, `NotAuthorizedForSourceException`, ...), which alarm and are fixed by a deploy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from shared.webhooks.ports import BusEvent, PublishResult

MAX_ENTRIES_PER_CALL = 10
MAX_ENTRY_BYTES = 256 * 1024
# Source, detail-type and bus name count towards an entry's size too; leave room for them.
MAX_DETAIL_BYTES = MAX_ENTRY_BYTES - 2 * 1024

# Error codes (of an entry, or of a whole PutEvents call) that no retry of the same event can get past.
PERMANENT_ERROR_CODES = frozenset({"MalformedDetail", "InvalidArgument", "ValidationException"})


def is_permanent(error_code: str) -> bool:
    return error_code in PERMANENT_ERROR_CODES


_Entry = tuple[str, dict[str, Any]]


class EventBridgePublisher:
    def __init__(self, client: Any, bus_name: str, source: str) -> None:
        self._client = client
        self._bus = bus_name
        self._source = source

    def publish(self, events: Sequence[BusEvent]) -> PublishResult:
        failed: dict[str, str] = {}
        permanent: set[str] = set()
        entries: list[_Entry] = []
        for event in events:
            try:
                entries.append(self._entry(event))
            except ValueError as exc:  # pydantic cannot write it as JSON: no bus will ever take it
                failed[event.event_id] = f"{type(exc).__name__}: {str(exc)[:300]}"
                permanent.add(event.event_id)
        batches = _batches(entries)
        for position, batch in enumerate(batches):
            try:
                self._put(batch, failed, permanent)
            except Exception as exc:  # the bus unreachable or refusing calls: this batch and the rest wait
                error = f"{type(exc).__name__}: {str(exc)[:300]}"
                failed.update((event_id, error) for later in batches[position:] for event_id, _ in later)
                break
        return PublishResult(failed=failed, permanent=frozenset(permanent))

    def _put(self, batch: list[_Entry], failed: dict[str, str], permanent: set[str]) -> None:
        try:
            response = self._client.put_events(Entries=[entry for _, entry in batch])
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            if not is_permanent(code):
                raise
            if len(batch) > 1:  # which entry is it? each alone says
                for entry in batch:
                    self._put([entry], failed, permanent)
                return
            failed[batch[0][0]] = f"{code}: {str(error.get('Message', ''))[:300]}".strip()
            permanent.add(batch[0][0])
            return
        if not response.get("FailedEntryCount"):
            return
        for (event_id, _), result in zip(batch, response["Entries"], strict=False):
            code = result.get("ErrorCode")
            if code:
                failed[event_id] = f"{code}: {result.get('ErrorMessage', '')}".strip()
                if is_permanent(code):
                    permanent.add(event_id)

    def _entry(self, event: BusEvent) -> _Entry:
        detail = event.model_dump_json()
        if len(detail.encode()) > MAX_DETAIL_BYTES:
            detail = event.by_reference().model_dump_json()
        return event.event_id, {
            "EventBusName": self._bus,
            "Source": self._source,
            "DetailType": event.event_type.value,
            "Detail": detail,
            "Time": event.occurred_at,
        }


def _batches(entries: list[_Entry]) -> list[list[_Entry]]:
    batches: list[list[_Entry]] = []
    size = 0
    for entry in entries:
        entry_size = len(entry[1]["Detail"].encode()) + 1024
        if not batches or len(batches[-1]) == MAX_ENTRIES_PER_CALL or size + entry_size > MAX_ENTRY_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(entry)
        size += entry_size
    return batches
