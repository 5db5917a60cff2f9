"""An erasure after a capture and an identify of one new person raced (the governance bench's erasure, under CPU
load): the identify's first attempt lost its commit to the capture's claim of the email and was redone into the
capture's contact. A change's lead events are committed with it (the lead outbox), so the lost attempt told no
one: the CRM sync holds one record of her, and the erasure leaves nothing. A record the lead store does not know
(a contact told of by an older hub, which published before committing) is still found by her CRM ids."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.adapters.dynamodb_crm_sync import DynamoDbSyncStore
from shared.adapters.dynamodb_privacy_crm_sync import CrmSyncPrivacy
from shared.catalog import physical_name
from shared.catalog.crm import CRM_SYNC
from shared.crm.audit import AuditEntry
from shared.crm.lead_directory import LeadStoreDirectory
from shared.crm.mappings import load_crm_mappings
from shared.crm.ports import Link
from shared.crm.records import CrmCopy, FieldState, SyncedRecord
from shared.crm.service import SyncService
from shared.events.canonical import EventType, Subject
from shared.events.lead_events import LEAD_EVENT_SOURCE, LeadEvent
from shared.leads.capture import LeadCapture
from shared.leads.identity import identities
from shared.leads.scoring_models import ScoringModels
from shared.leads.service import LeadService
from shared.privacy.model import Person
from shared.scoring.model import load_model
from tests.canonical_events import canonical_event
from tests.crm_fakes import FakeCrm, RecordingQueue
from tests.fakes import FixedClock, InMemoryLeadRepository, RecordingPublisher
from tests.integration.conftest import STAGE, only_table

TABLE = physical_name(STAGE, CRM_SYNC.name)
T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
EMAIL = "erin.castillo@fjord.io"


class RacingLeads(InMemoryLeadRepository):
    """The lead store: the first commit of the identify lets the capture commit first, as a capture served
    meanwhile does (the identify then loses its commit and is redone)."""

    def __init__(self, bus: RecordingPublisher) -> None:
        super().__init__(bus)
        self.meanwhile: Any = None

    def commit(self, change: Any) -> None:
        if self.meanwhile is not None:
            run, self.meanwhile = self.meanwhile, None
            run()
        super().commit(change)


@dataclass
class Hub:
    leads: LeadService
    repo: RacingLeads
    bus: RecordingPublisher
    sync: SyncService
    queue: RecordingQueue
    crms: dict[str, FakeCrm]
    clock: FixedClock
    client: Any

    def sync_lead_events(self, events: Sequence[LeadEvent]) -> None:
        for event in events:
            self.sync.on_bus_event(LEAD_EVENT_SOURCE, event.model_dump(mode="json"))

    def write_to_crms(self) -> None:
        """The writer takes the notices; each record a CRM made is reported back to the lead domain (the CRMs'
        webhooks of a new contact, with its email), as the local CRMs do."""
        for _ in range(5):
            notices = self.queue.take()
            if not notices:
                break
            for crm in self.crms.values():
                crm.now = self.clock.now()
            self.sync.write(notices, self.crms)  # type: ignore[arg-type]
            self.clock.advance(timedelta(seconds=1))
        for name, crm in self.crms.items():
            for n, crm_id in enumerate(crm.records):
                subject = Subject(contact_id=f"{name}:{crm_id}", email=EMAIL)
                data = {"traits": {"email": EMAIL}}
                at = self.clock.now()
                webhook = canonical_event(
                    EventType.CONTACT_UPSERTED, subject, data, at=at, n=n, series=f"{name}-{crm_id}", vendor=name
                )
                self.leads.handle(webhook)

    def person(self) -> Person:
        """The person as the lead store says (`LeadsPrivacy.person`): the email's owner, what it was merged into,
        and every contact merged into that."""
        owner = self.repo.owners(identities(EMAIL))[f"email#{EMAIL}"]
        head = self.repo.contact(owner)
        assert head is not None
        while head.merged_into:
            head = self.repo.contact(head.merged_into)
            assert head is not None
        return Person(
            email=EMAIL,
            contact_ids=(head.contact_id, *head.members),
            identity_keys=tuple(sorted(head.identities)),
        )

    def holding_the_email(self) -> list[str]:
        items = self.client.scan(TableName=TABLE)["Items"]
        return sorted(f"{i['pk']['S']}|{i['sk']['S']}" for i in items if EMAIL in str(i).lower())


@pytest.fixture
def hub() -> Iterator[Hub]:
    with only_table(CRM_SYNC) as client:
        clock = FixedClock(T0)
        bus = RecordingPublisher()
        repo = RacingLeads(bus)
        ids = itertools.count(1)
        leads = LeadService(repo, ScoringModels(load_model()), clock, lambda: f"lead-{next(ids):04d}")
        queue = RecordingQueue()
        directory = LeadStoreDirectory(repo, leads.score_of)
        sync = SyncService(load_crm_mappings(), DynamoDbSyncStore(client, TABLE), directory, clock, queue)
        crms = {"hubspot": FakeCrm("hubspot", 100), "salesforce": FakeCrm("salesforce", 200)}
        yield Hub(leads, repo, bus, sync, queue, crms, clock, client)


def test_an_identify_that_lost_the_race_told_no_one_and_her_one_record_is_erased(hub: Hub) -> None:
    # Given a Segment identify of a new person handled while a capture of her email commits first
    identify = canonical_event(
        EventType.CONTACT_UPSERTED,
        Subject(contact_id="segment:user-7", email=EMAIL),
        {"user_id": "user-7", "traits": {"email": EMAIL, "first_name": "Erin"}},
        at=T0,
        n=1,
        series="race",
    )
    hub.repo.meanwhile = lambda: hub.leads.capture(LeadCapture(EMAIL, "web form", job_title="VP of Sales"))
    hub.leads.handle(identify)
    told = {event.lead_id for event in hub.bus.published}
    assert len(told) == 1  # the capture's contact only: the identify's lost attempt told no one
    # And the CRM sync took every lead event, and the writer made CRM records of what it synced
    hub.sync_lead_events(hub.bus.published)
    hub.write_to_crms()
    person = hub.person()
    assert told <= set(person.contact_ids)
    records = {f"RECORD#contact:{lead}" for lead in told}
    assert records == {item.split("|")[0] for item in hub.holding_the_email() if item.startswith("RECORD#")}
    # When the person is erased from the sync's table
    privacy = CrmSyncPrivacy(hub.client, TABLE)
    refs = privacy.crm_records(person)
    privacy.erase(person)
    # Then no item of the table holds her email: neither record, nor their audit trails
    assert hub.holding_the_email() == []
    # And every CRM record the writer made of either is asked to be deleted
    made = {(name, crm_id) for name, crm in hub.crms.items() for crm_id in crm.records}
    assert made <= {(ref.crm, ref.crm_id) for ref in refs}
    # And no link from a CRM id is left
    assert [i for i in hub.client.scan(TableName=TABLE)["Items"] if i["pk"]["S"].startswith("LINK#")] == []


def test_a_record_linked_from_her_crm_ids_is_hers_though_the_lead_store_knows_not_its_contact(hub: Hub) -> None:
    # Given her contact's record, and a record of a contact the lead store does not know (told of by a change
    # that was never stored), with the email, synced to a Salesforce lead whose id came back as hers, and to a
    # HubSpot contact that did not
    store = DynamoDbSyncStore(hub.client, TABLE)
    email = FieldState(EMAIL, T0, "hub", "revops.leads")
    store.commit(SyncedRecord("contact", "lead-her", {"email": email}, {"hubspot": CrmCopy("hu-1")}))
    told_of = SyncedRecord("contact", "lead-told", {"email": email}, {"salesforce": CrmCopy("sa-2")})
    told_of = told_of.with_copy("hubspot", CrmCopy("hu-3"))
    entry = AuditEntry(
        "contact:lead-told", "email", "applied", "last_modified_wins", "hub", "revops.leads", T0, T0, None, EMAIL,
        None, "lead-event-1",
    )  # fmt: skip
    links = [
        Link("salesforce", "contact", "sa-2", "contact:lead-told"),
        Link("hubspot", "contact", "hu-3", "contact:lead-told"),
    ]
    store.commit(told_of, [entry], links=links)
    store.commit(SyncedRecord("contact", "lead-other", {"email": FieldState("olaf@fjord.io", T0, "hub")}))
    her = Person(EMAIL, contact_ids=("lead-her",), identity_keys=(f"email#{EMAIL}", "hubspot#hu-1", "salesforce#sa-2"))
    privacy = CrmSyncPrivacy(hub.client, TABLE)
    # When she is exported and erased
    exported = privacy.export(her)
    refs = {(ref.crm, ref.crm_id) for ref in privacy.crm_records(her)}
    privacy.erase(her)
    # Then the export showed both records and the record's audit entry; every CRM copy of either is to be deleted
    assert sorted(r["pk"] for r in exported["records"]) == ["RECORD#contact:lead-her", "RECORD#contact:lead-told"]
    assert [a["pk"] for a in exported["audit"]] == ["RECORD#contact:lead-told"]
    assert refs == {("hubspot", "hu-1"), ("salesforce", "sa-2"), ("hubspot", "hu-3")}
    # And nothing holding her email is left, nor a link; someone else's record stays
    assert hub.holding_the_email() == []
    assert [i["pk"]["S"] for i in hub.client.scan(TableName=TABLE)["Items"]] == ["RECORD#contact:lead-other"]
