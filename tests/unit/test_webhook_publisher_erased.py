"""The publisher holds back an event about a person erased at or after the moment it is known to be about (it
happened before the erasure, and reached the hub after it): not published, its stored body blanked. An event
that happened after the erasure is a new one, and published; tombstones that cannot be read publish nothing."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta

from shared.privacy.model import Needles
from shared.privacy.subject_keys import subject_hash
from shared.webhooks import normalizers
from shared.webhooks.model import OutboxEntry
from shared.webhooks.publishing import OutboxPublisher
from shared.webhooks.registry import ALL_VENDORS, VENDORS
from tests.fakes import CollectedDeadLetters, InMemoryLedger, RecordingPublisher, StaticSecrets
from tests.vendor_samples import NOW
from tests.webhook_samples import STRIPE_SECRET, stripe_event, stripe_request

EVE = subject_hash("email#eve@example.io")
HAPPENED = int(NOW.timestamp()) - 300  # five minutes before the erasure


class Tombstones:
    def __init__(self, erased: Mapping[str, datetime], broken: bool = False) -> None:
        self.erased, self.broken, self.asked = erased, broken, 0

    def erased_at(self, subjects: Sequence[str]) -> Mapping[str, datetime]:
        self.asked += 1
        if self.broken:
            raise ConnectionError("leads table unreachable")
        return {s: self.erased[s] for s in subjects if s in self.erased}


class Bodies:
    def __init__(self) -> None:
        self.forgotten: list[tuple[str, str, Needles, set[str]]] = []

    def forget_event(self, entry: OutboxEntry, namespace: str, needles: Needles, settled: Collection[str]) -> bool:
        self.forgotten.append((entry.event_id, namespace, needles, set(settled)))
        return True


def _stored(*bodies: bytes) -> tuple[InMemoryLedger, list[OutboxEntry]]:
    from shared.webhooks.ingest import WebhookIngest
    from tests.fakes import FixedClock

    ledger = InMemoryLedger()
    ingest = WebhookIngest(VENDORS, StaticSecrets({"stripe": [STRIPE_SECRET]}), ledger, FixedClock(NOW + timedelta(1)))
    for body in bodies:
        assert ingest.receive(stripe_request(body, timestamp=int(NOW.timestamp()) + 86400)).status_code == 202
    return ledger, ledger.take_outbox()


def _customer(event_id: str, email: str, created: int) -> bytes:
    body = stripe_event(event_id, "customer.created", object="customer", id=f"cus_{event_id}", email=email)
    return body.replace(b'"created": 1764072000', b'"created": %d' % created).replace(
        b'"customer_email": "ada@example.com"', b'"customer_email": null'
    )


def test_an_event_about_a_person_erased_after_it_happened_is_held_back_and_its_body_blanked() -> None:
    ledger, entries = _stored(
        _customer("evt_late", "eve@example.io", HAPPENED), _customer("evt_ada", "ada@x.io", HAPPENED)
    )
    bus, bodies, tombstones = RecordingPublisher(), Bodies(), Tombstones({EVE: NOW})
    outbox = OutboxPublisher(ALL_VENDORS, normalizers.normalize, ledger, bus, tombstones, bodies)
    report = outbox.publish(entries, CollectedDeadLetters())
    assert [event.vendor_event_id for event in bus.published] == ["evt_ada"]
    assert (report.published, report.erased, report.retry, tombstones.asked) == (1, 1, [], 1)
    [(event_id, namespace, needles, settled)] = bodies.forgotten
    assert (event_id, namespace) == (entries[0].event_id, "stripe")
    assert "eve@example.io" in needles.contained
    assert settled == {entries[0].event_id}


def test_an_event_that_happened_after_the_erasure_is_a_new_one() -> None:
    ledger, entries = _stored(_customer("evt_new", "eve@example.io", int(NOW.timestamp()) + 60))
    bus, bodies = RecordingPublisher(), Bodies()
    outbox = OutboxPublisher(ALL_VENDORS, normalizers.normalize, ledger, bus, Tombstones({EVE: NOW}), bodies)
    outbox.publish(entries, CollectedDeadLetters())
    assert [event.vendor_event_id for event in bus.published] == ["evt_new"]
    assert bodies.forgotten == []


def test_tombstones_that_cannot_be_read_publish_nothing_unchecked() -> None:
    ledger, entries = _stored(_customer("evt_late", "eve@example.io", HAPPENED))
    bus = RecordingPublisher()
    outbox = OutboxPublisher(ALL_VENDORS, normalizers.normalize, ledger, bus, Tombstones({}, broken=True), Bodies())
    report = outbox.publish(entries, CollectedDeadLetters())
    assert (bus.published, report.retry) == ([], [entries[0].position])
