"""Publishes events (canonical webhook events, lead events) on the hub's EventBridge bus, in PutEvents batches
that respect its limits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.webhooks.ports import BusEvent, PublishResult

MAX_ENTRIES_PER_CALL = 10
MAX_ENTRY_BYTES = 256 * 1024
# Source, detail-type and bus name count towards an entry's size too; leave room for them.
MAX_DETAIL_BYTES = MAX_ENTRY_BYTES - 2 * 1024


class EventBridgePublisher:
    def __init__(self, client: Any, bus_name: str, source: str) -> None:
        self._client = client
        self._bus = bus_name
        self._source = source

    def publish(self, events: Sequence[BusEvent]) -> PublishResult:
        failed: dict[str, str] = {}
        for batch in _batches([self._entry(event) for event in events]):
            response = self._client.put_events(Entries=[entry for _, entry in batch])
            if not response.get("FailedEntryCount"):
                continue
            for (event_id, _), result in zip(batch, response["Entries"], strict=False):
                if result.get("ErrorCode"):
                    failed[event_id] = f"{result['ErrorCode']}: {result.get('ErrorMessage', '')}".strip()
        return PublishResult(failed=failed)

    def _entry(self, event: BusEvent) -> tuple[str, dict[str, Any]]:
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


def _batches(entries: list[tuple[str, dict[str, Any]]]) -> list[list[tuple[str, dict[str, Any]]]]:
    batches: list[list[tuple[str, dict[str, Any]]]] = []
    size = 0
    for entry in entries:
        entry_size = len(entry[1]["Detail"].encode()) + 1024
        if not batches or len(batches[-1]) == MAX_ENTRIES_PER_CALL or size + entry_size > MAX_ENTRY_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(entry)
        size += entry_size
    return batches
