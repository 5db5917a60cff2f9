"""An outbox relay's last step: events a table stored with the change that made them, read from its stream, put on
the bus. What the bus takes is done; what it refuses for good (malformed or invalid for EventBridge) is set aside
with the reason, since no retry can publish it; everything else (throttling, an outage, a permission being fixed,
the bus unreachable) goes back to the stream to be retried, which bisects a batch that keeps failing and at last
hands the record to the function's failure queue. A record retried after a partial success may put an event on
the bus twice, with the same `event_id`: consumers de-duplicate on it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from shared.webhooks.ports import BusEvent, EventPublisher


@dataclass(frozen=True)
class StoredEvent:
    """An event as its stream record carries it: `position` is the record's sequence number."""

    position: str
    event: BusEvent


@dataclass
class RelayReport:
    published: int = 0
    dead_lettered: int = 0
    retry: list[str] = field(default_factory=list)  # positions of the records to try again


_log = logging.getLogger(__name__)

SetAside = Callable[[str, str], None]  # (position, reason): to the failure queue, to be redriven once fixed


def relay(stored: Sequence[StoredEvent], bus: EventPublisher, set_aside: SetAside) -> RelayReport:
    """Publish `stored` in one call (the bus adapter batches its PutEvents); report what to retry."""
    report = RelayReport()
    if not stored:
        return report
    by_id = {entry.event.event_id: entry for entry in stored}  # a retried record again: published once
    for entry in stored:
        kept = by_id[entry.event.event_id]
        if kept is not entry and kept.event != entry.event:  # one id, two events: consumers would drop one anyway
            _log.warning(
                "records %s and %s carry event %s with different content: only %s's is published",
                entry.position,
                kept.position,
                entry.event.event_id,
                kept.position,
            )
    try:
        result = bus.publish([entry.event for entry in by_id.values()])
        failed, permanent = result.failed, result.permanent
    except Exception as exc:  # the bus unreachable: every event is retried
        failed, permanent = {event_id: f"{type(exc).__name__}: {exc}" for event_id in by_id}, frozenset()
    for event_id, error in failed.items():
        entry = by_id[event_id]
        if event_id in permanent:
            set_aside(entry.position, f"the event bus refused it for good: {error}")
            report.dead_lettered += 1
        else:
            report.retry.append(entry.position)
    report.published = len(by_id) - len(failed)
    # A record holding an event the batch also carried under the same id went out (or failed) with it.
    done = {entry.position for entry in by_id.values()}
    for entry in stored:
        if entry.position not in done and entry.event.event_id in failed and entry.event.event_id not in permanent:
            report.retry.append(entry.position)
    return report
