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

Erased people stay erased here too: an event about a person erased at or after the moment it is known to be
about (`shared.privacy.guard.known_at_of`: the earlier of when it happened and when the hub received it), which
reached the hub after the erasure (a browser's offline queue, a vendor's late retry: the receiver stores without
a read), is held back: not published (so neither in the bus's archive), and its stored body blanked as an
erasure would (`ErasedBodies`). Its subject keys are those every consumer's guard reads
(`shared.privacy.guard.subject_keys_of`) and the one the receiver indexed it under, looked up among the erasure
tombstones in one read per batch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from shared.events.canonical import CanonicalEvent, EventType, Subject
from shared.events.ids import event_id
from shared.events.relay import StoredEvent, relay
from shared.privacy.guard import WEBHOOK_SOURCE, erased_before, known_at_of, subject_keys_of
from shared.privacy.model import Needles
from shared.privacy.ports import Tombstones
from shared.privacy.subject_keys import normalized_email, subject_hash
from shared.webhooks.model import InboundWebhook, OutboxEntry, VendorEvent
from shared.webhooks.normalizers.base import canonical
from shared.webhooks.ports import DeadLetters, DeliveryLedger, EventPublisher
from shared.webhooks.reading import read_events
from shared.webhooks.subjects import subject_of_event
from shared.webhooks.vendor import DeliveryContext, MalformedPayload, Vendor

_log = logging.getLogger(__name__)

Normalize = Callable[[str, VendorEvent, DeliveryContext], CanonicalEvent]


class ErasedBodies(Protocol):
    """The delivery log, blanking what it keeps of an event held back (`DynamoDbDeliveryLedger.forget_event`)."""

    def forget_event(self, entry: OutboxEntry, namespace: str, needles: Needles, settled: Collection[str]) -> bool:
        """Blank the event's stored body as an erasure would (of a batch's body, the person's parts, once every
        accepted event of it is in `settled`); False when it is left as it is for now."""
        ...


@dataclass
class PublishReport:
    published: int = 0
    unmapped: int = 0  # published as vendor.unmapped because a field could not be read
    dead_lettered: int = 0
    erased: int = 0  # held back: about a person erased after it happened (not published, body blanked)
    retry: list[str] = field(default_factory=list)  # positions of entries to try again, in stream order


class OutboxPublisher:
    def __init__(
        self,
        vendors: Mapping[str, Vendor],
        normalize: Normalize,
        ledger: DeliveryLedger,
        bus: EventPublisher,
        tombstones: Tombstones | None = None,
        erased_bodies: ErasedBodies | None = None,
    ) -> None:
        self._vendors = vendors
        self._normalize = normalize
        self._ledger = ledger
        self._bus = bus
        self._tombstones = tombstones
        self._erased_bodies = erased_bodies

    def publish(self, entries: Sequence[OutboxEntry], dead_letters: DeadLetters) -> PublishReport:
        """Put the entries' events on the bus; set aside (in `dead_letters`) what can never be published."""
        report = PublishReport()
        deliveries: dict[str, _Delivery | _Unreadable | None] = {}
        ready: list[tuple[OutboxEntry, CanonicalEvent]] = []
        indexed: dict[str, str] = {}  # position -> the subject the receiver indexed the event under
        for entry in entries:
            try:
                event = self._event_of(entry, deliveries, report, indexed)
            except Exception:  # the store unreachable, a bug of ours: the stream retries it
                _log.exception("could not read stored event %s of delivery %s", entry.event_id, entry.attempt_id)
                report.retry.append(entry.position)
                continue
            if isinstance(event, CanonicalEvent):
                ready.append((entry, event))
            else:
                dead_letters.send(entry, event)
                report.dead_lettered += 1
        try:
            held = self._about_erased(ready, indexed)
        except Exception:  # the tombstones unreadable: nothing is published unchecked, the stream retries them
            _log.exception("could not read the erasure tombstones for %d stored events", len(ready))
            report.retry += [entry.position for entry, _ in ready]
            ready, held = [], {}
        self._put_on_bus([(entry, event) for entry, event in ready if entry.position not in held], report, dead_letters)
        self._forget(held, ready, report)
        order = {entry.position: n for n, entry in enumerate(entries)}
        report.retry.sort(key=order.__getitem__)
        return report

    def _about_erased(
        self, ready: list[tuple[OutboxEntry, CanonicalEvent]], indexed: Mapping[str, str]
    ) -> dict[str, tuple[OutboxEntry, CanonicalEvent]]:
        """The events (by position) about a person erased at or after the moment they are known to be about."""
        if self._tombstones is None or not ready:
            return {}
        subjects: dict[str, set[str]] = {}
        for entry, event in ready:
            keys = subject_keys_of(WEBHOOK_SOURCE, _detail(event))
            subjects[entry.position] = {subject_hash(key) for key in keys} | (
                {indexed[entry.position]} if entry.position in indexed else set()
            )
        erased = self._tombstones.erased_at(sorted(set().union(*subjects.values())))
        if not erased:
            return {}
        held = {}
        for entry, event in ready:
            known_at = known_at_of(_detail(event))
            moments = {s: erased[s] for s in subjects[entry.position] if s in erased}
            if moments and known_at is not None and erased_before(known_at, moments):
                held[entry.position] = (entry, event)
        return held

    def _forget(
        self,
        held: Mapping[str, tuple[OutboxEntry, CanonicalEvent]],
        ready: list[tuple[OutboxEntry, CanonicalEvent]],
        report: PublishReport,
    ) -> None:
        """Blank the stored bodies of the events held back; one that fails is retried (and held back again)."""
        retried = set(report.retry)
        settled: dict[str, set[str]] = {}
        for entry, _ in ready:
            if entry.position not in retried:
                settled.setdefault(entry.attempt_id, set()).add(entry.event_id)
        for position, (entry, event) in held.items():
            _log.info("event about an erased person held back", extra={"event_id": entry.event_id})
            report.erased += 1
            if self._erased_bodies is None:
                continue
            try:
                done = self._erased_bodies.forget_event(
                    entry, self._namespace_of(entry), _needles(event), settled.get(entry.attempt_id, set())
                )
            except Exception:
                _log.exception("could not blank the stored body of event %s", entry.event_id)
                report.retry.append(position)
                continue
            if not done:
                _log.warning(
                    "the body of delivery %s still holds event %s of an erased person: others are still to be read "
                    "from it; an erasure run again takes it out",
                    entry.attempt_id,
                    entry.event_id,
                )

    def _namespace_of(self, entry: OutboxEntry) -> str:
        """The de-duplication namespace the entry was claimed under: its vendor's, or its name for a claim stored
        before Segment's two ways in shared one (the one its event id was drawn from)."""
        vendor = self._vendors.get(entry.vendor)
        namespace = vendor.dedupe_namespace if vendor is not None else entry.vendor
        return namespace if event_id(namespace, entry.dedupe_key) == entry.event_id else entry.vendor

    def _event_of(
        self,
        entry: OutboxEntry,
        deliveries: dict[str, _Delivery | _Unreadable | None],
        report: PublishReport,
        indexed: dict[str, str],
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
        if (subject := subject_of_event(entry.vendor, vendor_event.payload)) is not None:
            indexed[entry.position] = subject
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


def _detail(event: CanonicalEvent) -> dict[str, Any]:
    """The event as consumers receive it (the bus event's detail), as their erasure guard reads it."""
    return event.model_dump(mode="json")


def _needles(event: CanonicalEvent) -> Needles:
    """What names the event's person inside a batch's body: their email, and the values of their ids."""
    detail = _detail(event)
    keys = subject_keys_of(WEBHOOK_SOURCE, detail)
    values = [key.partition("#")[2] for key in keys if not key.startswith("email#")]
    emails = [email for key in keys if key.startswith("email#") and (email := normalized_email(key[6:]))]
    return Needles(exact=frozenset(v.casefold() for v in values if v), contained=tuple(dict.fromkeys(emails)))
