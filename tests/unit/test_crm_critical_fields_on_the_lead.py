"""A critical field's conflict changes nothing anywhere until a person settles it, the hub's own lead included:
the lead service and the CRM sync wired together in memory as the bus wires the lead processor and the sync
recorder (the CRMs' webhooks to both, lead events to the sync, the sync's `sync.field_changed` and
`sync.conflict_resolved` of contact records to the lead processor). A CRM's email change reaches a known lead
only as the sync decided it: applied when the CRM alone changed it, held while a conflict waits for a person, and
the person's choice once resolved."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.crm.lead_directory import LeadStoreDirectory
from shared.crm.mappings import load_crm_mappings
from shared.crm.service import SyncService
from shared.events.canonical import WEBHOOK_EVENT_SOURCE, CanonicalEvent, EventType, Subject
from shared.events.lead_events import LEAD_EVENT_SOURCE, LeadEventType
from shared.events.sync_events import SyncEvent, SyncEventType
from shared.leads.capture import LeadCapture
from shared.leads.crm_changes import crm_field_change, synced_profile_fields
from shared.leads.model import Contact
from shared.leads.scoring_models import ScoringModels
from shared.leads.service import LeadService
from shared.scoring.model import load_model
from tests.canonical_events import canonical_event
from tests.crm_fakes import InMemorySyncStore, RecordingQueue
from tests.fakes import FixedClock, InMemoryLeadRepository, RecordingPublisher
from tests.lead_journey_hub import normalized

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
MAPPINGS = load_crm_mappings()
HUBSPOT_ID = 501
SALESFORCE_ID = "00Q000000000001AAA"
INTEGRATION_USER = MAPPINGS.integration_users["salesforce"][0]
SALES_OPS_USER = "005000000000099AAA"


class Hub:
    """The lead service and the CRM sync over in-memory stores, with the bus between them."""

    def __init__(self, sync_first: bool = False) -> None:
        self.sync_first = sync_first  # which of the two takes a webhook first (the bus promises no order)
        self.clock = FixedClock(T0)
        self.lead_bus = RecordingPublisher()
        self.repo = InMemoryLeadRepository(self.lead_bus)
        self.sync_bus = RecordingPublisher()
        ids = itertools.count(1)
        self.leads = LeadService(
            self.repo,
            ScoringModels(load_model()),
            self.clock,
            lambda: f"lead-{next(ids):04d}",
            crm_synced_fields=synced_profile_fields(m.hub_field for m in MAPPINGS.fields("contact") if m.inbound),
        )
        self.store = InMemorySyncStore()
        self.sync = SyncService(
            MAPPINGS,
            self.store,
            LeadStoreDirectory(self.repo, self.leads.score_of),
            self.clock,
            RecordingQueue(),
            self.sync_bus,
        )
        self._lead_events_seen = 0
        self._sync_events_seen = 0
        self._deliveries = itertools.count(1)

    # what happens --------------------------------------------------------------------------------------------

    def capture(self, email: str) -> str:
        outcome = self.leads.capture(LeadCapture(email=email, source="web form", company="Acme", job_title="VP"))
        assert outcome.contact_id
        self.settle()
        return outcome.contact_id

    def hubspot(self, prop: str, value: Any, by_person: bool = True) -> None:
        """A HubSpot property change of the contact, by a user in HubSpot's UI (or by the hub's app)."""
        n = next(self._deliveries)
        body = [
            {
                "eventId": n,
                "subscriptionId": 1,
                "portalId": 62515,
                "occurredAt": int(self.clock.now().timestamp() * 1000),
                "subscriptionType": "contact.propertyChange",
                "attemptNumber": 0,
                "objectId": HUBSPOT_ID,
                "propertyName": prop,
                "propertyValue": value,
                "changeSource": "CRM_UI" if by_person else "INTEGRATION",
                "sourceId": "userId:4321" if by_person else "1160452",
            }
        ]
        self.webhook(normalized("hubspot", body, self.clock.now(), n))

    def salesforce(self, email: str, modified_by: str = SALES_OPS_USER) -> None:
        """Salesforce's outbound message of the Lead, as its normalizer makes it (the whole record)."""
        n = next(self._deliveries)
        fields = {
            "Id": SALESFORCE_ID,
            "Email": email,
            "LastName": "Silva",
            "Company": "Acme",
            "LastModifiedDate": self.clock.now().isoformat(),
            "LastModifiedById": modified_by,
        }
        subject = Subject(contact_id=f"salesforce:{SALESFORCE_ID}", email=email)
        event = canonical_event(
            EventType.CONTACT_UPSERTED,
            subject,
            {"sobject_type": "Lead", "fields": fields},
            at=self.clock.now(),
            n=n,
            series="salesforce",
            vendor="salesforce",
        ).model_copy(update={"vendor_event_type": "Lead"})
        self.webhook([event])

    def webhook(self, events: list[CanonicalEvent]) -> None:
        """A CRM's webhook, on the bus: the lead processor and the sync recorder each take it."""
        for event in events:
            if self.sync_first:
                self.sync.on_bus_event(WEBHOOK_EVENT_SOURCE, event.model_dump(mode="json"))
            self.leads.handle(event)
            if not self.sync_first:
                self.sync.on_bus_event(WEBHOOK_EVENT_SOURCE, event.model_dump(mode="json"))
        self.settle()

    def resolve(self, conflict_id: str, choose: str) -> None:
        conflict = self.store.conflict(conflict_id)
        assert conflict is not None
        value = conflict.hub_value if choose == "hub" else conflict.crm_value
        self.sync.resolve(conflict_id, value, "sales-ops@example.com")
        self.settle()

    def settle(self) -> None:
        """Deliver what each side published to the other, as the bus's rules do, until nothing new comes."""
        for _ in range(20):
            lead_events = self.lead_bus.published[self._lead_events_seen :]
            sync_events = self.sync_bus.published[self._sync_events_seen :]
            if not lead_events and not sync_events:
                return
            self._lead_events_seen += len(lead_events)
            self._sync_events_seen += len(sync_events)
            for lead_event in lead_events:
                self.sync.on_bus_event(LEAD_EVENT_SOURCE, lead_event.model_dump(mode="json"))
            for sync_event in sync_events:
                change = crm_field_change(sync_event)
                if change is not None:  # the lead processor's rule: contact records' changes and resolutions
                    self.leads.crm_field_changed(change)
        raise AssertionError("the bus never settled")

    def later(self, seconds: int = 60) -> None:
        self.clock.advance(timedelta(seconds=seconds))

    # what is seen ----------------------------------------------------------------------------------------------

    def lead_email(self, lead_id: str) -> str | None:
        contact = self.repo.contact(lead_id)
        assert contact is not None
        return contact.email

    def synced_email(self, lead_id: str) -> str | None:
        record = self.store.record(f"contact:{lead_id}")
        assert record is not None
        return record.value("email")

    def lead(self, lead_id: str) -> Contact:
        contact = self.repo.contact(lead_id)
        assert contact is not None
        return contact

    def found_by(self, email: str) -> str | None:
        """The lead an address finds today (its holder, or the lead that holder was merged into)."""
        found = self.leads.find_by_email(email)
        return found.contact_id if found is not None else None

    def merges(self) -> list[Any]:
        return [e for e in self.lead_bus.published if e.event_type is LeadEventType.MERGED]

    def open_conflicts(self) -> list[Any]:
        return list(self.store.conflicts(None).conflicts)

    def sync_events(self, event_type: SyncEventType) -> list[SyncEvent]:
        return [e for e in self.sync_bus.published if e.event_type is event_type]


@pytest.fixture(params=["lead processor first", "sync recorder first"])
def hub(request: pytest.FixtureRequest) -> Hub:
    return Hub(sync_first=request.param == "sync recorder first")


def known_to_both_crms(hub: Hub) -> str:
    """A captured lead that HubSpot and Salesforce each hold with the hub's email (their records linked)."""
    lead_id = hub.capture("ana@acme.io")
    hub.later()
    hub.hubspot("email", "ana@acme.io", by_person=False)
    hub.salesforce("ana@acme.io", modified_by=INTEGRATION_USER)
    assert hub.store.linked("hubspot", "contact", str(HUBSPOT_ID)) == f"contact:{lead_id}"
    assert hub.store.linked("salesforce", "contact", SALESFORCE_ID) == f"contact:{lead_id}"
    return lead_id


def test_an_email_change_only_one_crm_made_reaches_the_lead_through_the_sync(hub: Hub) -> None:
    # Given a lead both CRMs hold with the hub's email
    lead_id = known_to_both_crms(hub)
    # When a Salesforce user changes the email, and no one else did
    hub.later()
    hub.salesforce("ana@silva.dev")
    # Then the sync applies it, and the lead takes it from the sync's decision
    assert hub.synced_email(lead_id) == "ana@silva.dev"
    assert hub.lead_email(lead_id) == "ana@silva.dev"
    [changed] = [e for e in hub.sync_events(SyncEventType.FIELD_CHANGED) if e.field == "email"]
    assert changed.value == "ana@silva.dev"
    assert hub.open_conflicts() == []
    # And the address is the lead's identity now (claimed through the sync's change): it finds the lead
    found = hub.leads.find_by_email("ana@silva.dev")
    assert found is not None
    assert found.contact_id == lead_id


def test_a_conflicting_email_change_is_flagged_and_changes_neither_the_record_nor_the_lead(hub: Hub) -> None:
    # Given a lead whose email a Salesforce user changed (the hub took it; HubSpot has not heard of it yet)
    lead_id = known_to_both_crms(hub)
    hub.later()
    hub.salesforce("ana@silva.dev")
    assert hub.lead_email(lead_id) == "ana@silva.dev"
    lead_before = hub.repo.contact(lead_id)
    # When a HubSpot user changes the email to another address meanwhile
    hub.later()
    hub.hubspot("email", "ana.silva@other.dev")
    # Then a conflict waits for a person, published once
    [conflict] = hub.open_conflicts()
    assert (conflict.hub_field, conflict.crm, conflict.crm_value, conflict.hub_value) == (
        "email",
        "hubspot",
        "ana.silva@other.dev",
        "ana@silva.dev",
    )
    assert [e.conflict_id for e in hub.sync_events(SyncEventType.CONFLICT_FLAGGED)] == [conflict.conflict_id]
    # And neither the synced record nor the lead itself took HubSpot's address
    assert hub.synced_email(lead_id) == "ana@silva.dev"
    assert hub.lead_email(lead_id) == "ana@silva.dev"
    assert lead_before is not None
    assert hub.repo.contact(lead_id).profile.get("email") == lead_before.profile.get("email")  # type: ignore[union-attr]
    # And no field change of the email was published for HubSpot's value
    assert all(e.value != "ana.silva@other.dev" for e in hub.sync_events(SyncEventType.FIELD_CHANGED))


def test_a_person_choosing_the_crms_email_gives_it_to_the_lead(hub: Hub) -> None:
    # Given a flagged email conflict: the hub holds Salesforce's address, HubSpot's user another
    lead_id = known_to_both_crms(hub)
    hub.later()
    hub.salesforce("ana@silva.dev")
    hub.later()
    hub.hubspot("email", "ana.silva@other.dev")
    [conflict] = hub.open_conflicts()
    # When sales ops chooses HubSpot's
    hub.later()
    hub.resolve(conflict.conflict_id, "crm")
    # Then the record and the lead hold it, and the lead is found by it
    assert hub.synced_email(lead_id) == "ana.silva@other.dev"
    assert hub.lead_email(lead_id) == "ana.silva@other.dev"
    found = hub.leads.find_by_email("ana.silva@other.dev")
    assert found is not None
    assert found.contact_id == lead_id
    record = hub.store.record(f"contact:{lead_id}")
    assert record is not None
    assert record.open_conflicts == {}


def test_a_person_keeping_the_hubs_email_leaves_the_lead_as_it_was(hub: Hub) -> None:
    # Given a flagged email conflict
    lead_id = known_to_both_crms(hub)
    hub.later()
    hub.salesforce("ana@silva.dev")
    hub.later()
    hub.hubspot("email", "ana.silva@other.dev")
    [conflict] = hub.open_conflicts()
    # When sales ops keeps the hub's address
    hub.later()
    hub.resolve(conflict.conflict_id, "hub")
    # Then the lead still holds it, and the resolution was published
    assert hub.lead_email(lead_id) == "ana@silva.dev"
    assert hub.synced_email(lead_id) == "ana@silva.dev"
    [resolved] = hub.sync_events(SyncEventType.CONFLICT_RESOLVED)
    assert resolved.value == "ana@silva.dev"


def email_conflict(hub: Hub, crm_value: str) -> tuple[str, str]:
    """A lead both CRMs hold, whose email a Salesforce user changed (the hub took it), and a HubSpot user who
    changed it meanwhile to `crm_value`: a flagged conflict. The lead's id and the conflict's."""
    lead_id = known_to_both_crms(hub)
    hub.later()
    hub.salesforce("ana@silva.dev")
    hub.later()
    hub.hubspot("email", crm_value)
    [conflict] = hub.open_conflicts()
    assert (conflict.crm_value, conflict.hub_value) == (crm_value, "ana@silva.dev")
    return lead_id, conflict.conflict_id


def test_a_conflicting_address_finds_no_one_while_held_nor_after_a_person_keeps_the_hubs(hub: Hub) -> None:
    # Given a flagged conflict: HubSpot's user gave the lead an address no one has
    lead_id, conflict_id = email_conflict(hub, "ana.silva@other.dev")
    # Then, while it waits for a person, HubSpot's address is not the lead's identity
    assert hub.found_by("ana.silva@other.dev") is None
    assert "email#ana.silva@other.dev" not in hub.lead(lead_id).identities
    # When sales ops keeps the hub's address
    hub.later()
    hub.resolve(conflict_id, "hub")
    # Then HubSpot's address still finds no one, and the lead's own address finds it
    assert hub.found_by("ana.silva@other.dev") is None
    assert hub.found_by("ana@silva.dev") == lead_id
    assert hub.lead_email(lead_id) == "ana@silva.dev"
    # And HubSpot's record still names the lead by its id: its next change is the same lead's
    contacts = len(hub.repo.contacts_by_id)
    hub.later()
    hub.hubspot("industry", "Software")
    assert len(hub.repo.contacts_by_id) == contacts
    assert hub.lead(lead_id).profile.get("industry") == "Software"


def test_a_conflicting_address_another_lead_holds_merges_no_one_while_held_nor_after_a_person_keeps_the_hubs(
    hub: Hub,
) -> None:
    # Given another lead who holds bob@beta.io
    bob_id = hub.capture("bob@beta.io")
    # And a flagged conflict: HubSpot's user gave ana's lead bob's address
    hub.later()
    ana_id, conflict_id = email_conflict(hub, "bob@beta.io")
    # Then, while it waits for a person, the two leads are still two, and bob's address finds bob
    for lead_id in (ana_id, bob_id):
        assert (hub.lead(lead_id).merged_into, hub.lead(lead_id).members) == (None, [])
    assert hub.found_by("bob@beta.io") == bob_id
    assert hub.merges() == []
    # When sales ops keeps the hub's address
    hub.later()
    hub.resolve(conflict_id, "hub")
    # Then they are still two, each with its own address
    for lead_id in (ana_id, bob_id):
        assert (hub.lead(lead_id).merged_into, hub.lead(lead_id).members) == (None, [])
    assert (hub.found_by("bob@beta.io"), hub.found_by("ana@silva.dev")) == (bob_id, ana_id)
    assert (hub.lead_email(ana_id), hub.lead_email(bob_id)) == ("ana@silva.dev", "bob@beta.io")
    assert hub.merges() == []


def test_a_person_choosing_an_address_another_lead_holds_merges_the_two_as_an_identification_would(
    hub: Hub,
) -> None:
    # Given a flagged conflict: HubSpot's user gave ana's lead the address bob's lead holds
    bob_id = hub.capture("bob@beta.io")
    hub.later()
    ana_id, conflict_id = email_conflict(hub, "bob@beta.io")
    # When sales ops chooses HubSpot's address
    hub.later()
    hub.resolve(conflict_id, "crm")
    # Then the two leads are one person: the older (bob's) survives, as when an event names both
    assert hub.lead(ana_id).merged_into == bob_id
    assert hub.lead(bob_id).members == [ana_id]
    # And the address finds that one lead, whose email it is; no two leads hold it
    assert hub.found_by("bob@beta.io") == bob_id
    assert hub.lead_email(bob_id) == "bob@beta.io"
    # And the merge names the person's resolution as its cause
    [merged] = hub.merges()
    assert merged.other_lead_id == ana_id
    assert "email conflict resolved by sales-ops@example.com" in (merged.reason or "")


def test_a_change_to_an_address_another_lead_holds_merges_the_two_through_the_sync(hub: Hub) -> None:
    # Given a lead both CRMs hold, and another lead holding bob@beta.io
    ana_id = known_to_both_crms(hub)
    hub.later()
    bob_id = hub.capture("bob@beta.io")
    # When a Salesforce user gives ana's lead bob's address, and no one else changed it (no conflict)
    hub.later()
    hub.salesforce("bob@beta.io")
    assert hub.open_conflicts() == []
    # Then the sync's change merges the two (ana's lead, the older, survives): the address finds one lead
    assert hub.lead(bob_id).merged_into == ana_id
    assert hub.found_by("bob@beta.io") == ana_id
    assert hub.lead_email(ana_id) == "bob@beta.io"
    [merged] = hub.merges()
    assert merged.other_lead_id == bob_id
    assert "salesforce change of email, through the CRM sync" in (merged.reason or "")
