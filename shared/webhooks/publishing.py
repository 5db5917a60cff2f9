"""The webhook gateway's publishing half: what the receiver stored, as canonical events on the bus.

Fed by the delivery table's stream (`OutboxEntry`s, in stream order). Each stored event is read again from
its delivery exactly as the receiver read it (`reading.py`), normalized here rather than in the receiver (so
the receiver stays small: no pydantic on its import path, one write per delivery), and put on the bus in
batches of 10 (one PutEvents call each).

What becomes of an entry:
- normalized and accepted by the bus: done;
- a field the normalizer cannot read (a `MalformedPayload`: the vendor sent a string where an object goes):
  published as `vendor.unmapped` with the whole vendor payload and the `problem`, so nothing is dropped and
  nothing blocks the stream; counted;
- refused by the bus for good (malformed or invalid for EventBridge), its delivery no longer kept, or its
  stored body no longer split by the vendor's reader (a body the receiver accepted before its checks grew: a
  retry would fail the same way): set aside in the dead-letter queue with the reason, to be redriven once fixed;
- anything else (the bus throttled or down, the store unreachable, a bug in a normalizer): reported back as
  failed, so the stream retries it, bisecting a batch that keeps failing, and after its retries hands it to
  the dead-letter queue.
An entry retried after a crash may put an event on the bus twice, with the same `event_id`: consumers
de-duplicate on it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from shared.events.canonical import CanonicalEvent, EventType, Subject
from shared.events.relay import StoredEvent, relay
from shared.webhooks.model import InboundWebhook, OutboxEntry, VendorEvent
from shared.webhooks.normalizers.base import canonical
from shared.webhooks.ports import DeadLetters, DeliveryLedger, EventPublisher
from shared.webhooks.reading import read_events
from shared.webhooks.vendor import DeliveryContext, MalformedPayload, Vendor

_log = logging.getLogger(__name__)

Normalize = Callable[[str, VendorEvent, DeliveryContext], CanonicalEvent]


@dataclass
class PublishReport:
    published: int = 0
    unmapped: int = 0  # published as vendor.unmapped because a field could not be read
    dead_lettered: int = 0
    retry: list[str] = field(default_factory=list)  # positions of entries to try again, in stream order


class OutboxPublisher:
    def __init__(
        self,
        vendors: Mapping[str, Vendor],
        normalize: Normalize,
        ledger: DeliveryLedger,
        bus: EventPublisher,
    ) -> None:
        self._vendors = vendors
        self._normalize = normalize
        self._ledger = ledger
        self._bus = bus

    def publish(self, entries: Sequence[OutboxEntry], dead_letters: DeadLetters) -> PublishReport:
        """Put the entries' events on the bus; set aside (in `dead_letters`) what can never be published."""
        report = PublishReport()
        deliveries: dict[str, _Delivery | _Unreadable | None] = {}
        ready: list[tuple[OutboxEntry, CanonicalEvent]] = []
        for entry in entries:
            try:
                event = self._event_of(entry, deliveries, report)
            except Exception:  # the store unreachable, a bug of ours: the stream retries it
                _log.exception("could not read stored event %s of delivery %s", entry.event_id, entry.attempt_id)
                report.retry.append(entry.position)
                continue
            if isinstance(event, CanonicalEvent):
                ready.append((entry, event))
            else:
                dead_letters.send(entry, event)
                report.dead_lettered += 1
        self._put_on_bus(ready, report, dead_letters)
        order = {entry.position: n for n, entry in enumerate(entries)}
        report.retry.sort(key=order.__getitem__)
        return report

    def _event_of(
        self, entry: OutboxEntry, deliveries: dict[str, _Delivery | _Unreadable | None], report: PublishReport
    ) -> CanonicalEvent | str:
        """The entry's canonical event, or why it can never be published (for the dead-letter queue)."""
        if entry.attempt_id not in deliveries:
            request = entry.request or self._ledger.request_of(entry.attempt_id)
            try:
                deliveries[entry.attempt_id] = self._delivery(entry.vendor, request) if request else None
            except MalformedPayload as problem:
                deliveries[entry.attempt_id] = _Unreadable(f"its stored body no longer reads: {problem}")
        delivery = deliveries[entry.attempt_id]
        if isinstance(delivery, _Unreadable):
            return f"delivery {entry.attempt_id}: {delivery.reason}"
        vendor_event = delivery.events.get(entry.dedupe_key) if delivery is not None else None
        if delivery is None or vendor_event is None:
            return f"delivery {entry.attempt_id} is no longer kept, or no longer holds event {entry.dedupe_key}"
        context = DeliveryContext(entry.attempt_id, delivery.request.request_id, entry.received_at)
        try:
            event = self._normalize(entry.vendor, vendor_event, context)
        except MalformedPayload as problem:
            _log.warning("event %s published unmapped: %s", entry.event_id, problem)
            report.unmapped += 1
            data = {"payload": dict(vendor_event.payload), "problem": str(problem)}
            event = canonical(entry.vendor, vendor_event, context, EventType.VENDOR_UNMAPPED, Subject(), data)
        # Under the id it was stored and logged with: the normalizer's, but for a Segment message the webhook
        # destination stored before Segment's two ways in shared a namespace (published under the id it was claimed
        # with)
        return event if event.event_id == entry.event_id else event.model_copy(update={"event_id": entry.event_id})

    def _delivery(self, vendor_name: str, request: InboundWebhook) -> _Delivery:
        events, _ = read_events(self._vendors[vendor_name], request)  # the receiver read this very body: it parses
        return _Delivery(request, {event.dedupe_key: event for event in events})

    def _put_on_bus(
        self, ready: list[tuple[OutboxEntry, CanonicalEvent]], report: PublishReport, dead_letters: DeadLetters
    ) -> None:
        entries = {entry.position: entry for entry, _ in ready}
        relayed = relay(
            [StoredEvent(entry.position, event) for entry, event in ready],
            self._bus,
            lambda position, reason: dead_letters.send(entries[position], reason),
        )
        report.published = relayed.published
        report.dead_lettered += relayed.dead_lettered
        report.retry += relayed.retry


@dataclass(frozen=True)
class _Delivery:
    request: InboundWebhook
    events: dict[str, VendorEvent]


@dataclass(frozen=True)
class _Unreadable:
    """A stored delivery the vendor's reader refuses now: each of its events is dead-lettered with why."""

    reason: str
