"""The erasure and export use cases over fakes: the receipt, the tombstones, the CRMs asked, every store
visited (the lead store last), the same request answering the same erasure, and an export of every section."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.privacy.model import CrmRecordRef, ErasureStatus, Person
from shared.privacy.service import NotAnEmail, PrivacyService
from shared.privacy.subject_keys import subject_hash
from tests.privacy_fakes import FakeDirectory, FakeStore, InMemoryErasureLedger, RecordedCrmErasures

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
GRETA = Person(
    email="greta@fjord.io",
    contact_ids=("c-1", "c-0"),
    identity_keys=("email#greta@fjord.io", "segment#user-7"),
    account_ids=("a-1",),
    names=("Greta Lindqvist",),
)


class World:
    def __init__(self) -> None:
        self.clock = [NOW]
        self.directory = FakeDirectory("leads", held=12, people={GRETA.email: GRETA})
        self.deliveries = FakeStore("webhook-deliveries", held=5, events=frozenset({"ev-1"}))
        self.handoffs, self.attribution = FakeStore("handoffs", held=1), FakeStore("attribution", held=2)
        self.success = FakeStore("success", held=1)
        self.synced = FakeStore("crm-sync", held=9, refs=[CrmRecordRef("hubspot", "contact", "501")])
        self.crm = RecordedCrmErasures()
        self.ledger = InMemoryErasureLedger()
        self.service = PrivacyService(
            directory=self.directory,
            deliveries=self.deliveries,
            others=[self.handoffs, self.attribution, self.success],
            synced=self.synced,
            crm=self.crm,
            ledger=self.ledger,
            clock=lambda: self.clock[0],
            new_id=lambda: "er-1",
        )


def test_an_erasure_visits_every_store_asks_the_crms_and_keeps_a_receipt_without_the_email() -> None:
    world = World()
    # When Greta is erased (her email as she typed it)
    outcome = world.service.erase(" Greta@Fjord.io ")
    # Then every store erased what it held, the CRMs were asked for her records, and the receipt says so
    assert outcome.first
    assert outcome.erased_now == {
        "webhook-deliveries": 5,
        "leads": 12,
        "handoffs": 1,
        "attribution": 2,
        "success": 1,
        "crm-sync": 9,
        "crm": 1,
    }
    assert world.crm.requested == [CrmRecordRef("hubspot", "contact", "501")]
    assert outcome.receipt.status is ErasureStatus.COMPLETED
    # And the stores saw the person with her stored events' ids; the lead store was erased last
    assert world.success.erased_for[0].event_ids == frozenset({"ev-1"})
    # And her receipt is kept under the hash of her email, and each of her subjects has a tombstone
    [(email_hash, receipt)] = world.ledger.receipts.items()
    assert email_hash == subject_hash("email#greta@fjord.io")
    assert "greta" not in repr(receipt).split("subjects")[0].casefold()
    assert set(GRETA.subjects) <= set(world.ledger.tombstones)
    assert world.ledger.tombstones[subject_hash("contact#c-0")] == (NOW, "er-1")


def test_the_same_request_again_is_the_same_erasure_and_erases_only_what_arrived_since() -> None:
    world = World()
    first = world.service.erase("greta@fjord.io")
    world.clock[0] = NOW + timedelta(days=1)
    again = world.service.erase("greta@fjord.io")
    assert (again.receipt.erasure_id, again.receipt.status) == (first.receipt.erasure_id, ErasureStatus.COMPLETED)
    assert set(again.erased_now.values()) == {0}
    assert again.receipt.erased == first.receipt.erased
    assert again.receipt.runs == 2
    # When a vendor's late retry stores something about her, a third request erases it, looked up by the
    # subjects the first run found (the lead store no longer knows her)
    world.deliveries.held = 1
    third = world.service.erase("greta@fjord.io")
    assert third.erased_now["webhook-deliveries"] == 1
    assert set(GRETA.subjects) <= set(world.deliveries.erased_for[-1].subjects)
    assert third.receipt.erased["webhook-deliveries"] == 6


def test_an_export_has_every_section_and_the_erasure_once_erased() -> None:
    world = World()
    export = world.service.export("greta@fjord.io")
    assert export["known"] is True
    assert export["lead_ids"] == ["c-1", "c-0"]
    assert {"deliveries", "handoffs", "attribution", "success", "sync", "erasure"} <= set(export)
    assert export["erasure"] is None
    world.service.erase("greta@fjord.io")
    after = world.service.export("greta@fjord.io")
    assert after["known"] is False
    assert after["erasure"]["erasure_id"] == "er-1"
    assert "subjects" not in after["erasure"]


def test_what_is_not_an_email_is_refused() -> None:
    with pytest.raises(NotAnEmail):
        World().service.erase("greta at fjord")
