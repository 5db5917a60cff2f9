"""A contact's account link is a critical synced field (`contact.account`, HubSpot's `associatedcompanyid`): the
lead service and the CRM sync wired together in memory as the bus wires the lead processor and the sync
recorder (as `test_crm_critical_fields_on_the_lead`). A HubSpot move of the contact reaches the lead only as the
sync decided it: applied when HubSpot alone moved it, held for a person when the hub moved it too, the person's
choice once resolved; outbound, the contact is associated with its account's company (the old one the hub set
removed), and the hub's own association coming back is neither applied nor sent again."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hubspot.crm.associations.v4.exceptions import ApiException as AssociationsApiException

from shared.adapters.hubspot_crm_associations import dissociate
from shared.adapters.hubspot_crm_plan import WriteRun
from shared.crm.lead_directory import LeadStoreDirectory
from shared.crm.links import stored_links
from shared.crm.mappings import InvalidCrmMappings, load_crm_mappings, parse_crm_mappings
from shared.crm.outbound import planned_write
from shared.crm.ports import ChangeNotice, OutboundWrite, WriteResult
from shared.crm.records import FieldState, SyncedRecord
from shared.crm.service import InvalidResolution, SyncService
from shared.events.canonical import EventType, Subject
from shared.events.sync_events import SyncEventType
from shared.leads.crm_changes import account_link, synced_profile_fields
from shared.leads.scoring_models import ScoringModels
from shared.leads.service import LeadService
from shared.scoring.model import load_model
from tests.canonical_events import canonical_event
from tests.crm_fakes import FakeCrm, InMemorySyncStore, RecordingQueue
from tests.lead_journey_hub import normalized
from tests.unit.test_crm_critical_fields_on_the_lead import HUBSPOT_ID, MAPPINGS, Hub

ACME_COMPANY = "9001"
BETA_COMPANY = "9002"


class LinkedHub(Hub):
    """The wired hub, its lead processor taking a known lead's account link from HubSpot only through the sync."""

    def __init__(self, sync_first: bool = False) -> None:
        super().__init__(sync_first)
        ids = itertools.count(1)
        inbound = [m for m in MAPPINGS.fields("contact") if m.inbound]
        self.leads = LeadService(
            self.repo,
            ScoringModels(load_model()),
            self.clock,
            lambda: f"id-{next(ids):04d}",
            crm_synced_fields=synced_profile_fields((m.hub_field for m in inbound), ["hubspot"]),
        )
        self.store = InMemorySyncStore()
        self.queue = RecordingQueue()
        directory = LeadStoreDirectory(self.repo, self.leads.score_of)
        self.sync = SyncService(MAPPINGS, self.store, directory, self.clock, self.queue, self.sync_bus)
        self._hubspot_events = itertools.count(100)

    def company(self, company_id: str, prop: str, value: str) -> None:
        """HubSpot reports a company's property (the lead processor makes or finds the account first)."""
        n = next(self._hubspot_events)
        body = [
            {
                "eventId": n,
                "subscriptionId": 2,
                "portalId": 62515,
                "occurredAt": int(self.clock.now().timestamp() * 1000),
                "subscriptionType": "company.propertyChange",
                "attemptNumber": 0,
                "objectId": int(company_id),
                "propertyName": prop,
                "propertyValue": value,
                "changeSource": "CRM_UI",
                "sourceId": "userId:4321",
            }
        ]
        for event in normalized("hubspot", body, self.clock.now(), n):
            self.leads.handle(event)
            self.sync.on_bus_event("revops.webhooks", event.model_dump(mode="json"))
        self.settle()

    def joins_group(self, email: str, group: str) -> None:
        """A product event putting the person in another account (the hub's own change of the link)."""
        n = next(self._hubspot_events)
        group_event = canonical_event(
            EventType.ACCOUNT_UPSERTED,
            Subject(account_id=f"segment:{group}"),
            {"traits": {"name": group}},
            at=self.clock.now(),
            n=n,
            series="groups",
        )
        self.leads.handle(group_event)
        subject = Subject(contact_id=f"segment:user-{n}", account_id=f"segment:{group}", email=email)
        # a pricing page view in the group's product: the lead's score moves, so its event (carrying the account
        # link, as every lead event carries the lead's profile) reaches the sync
        data = {"kind": "page_view", "path": "/pricing", "url": "https://acme.io/pricing"}
        self.leads.handle(
            canonical_event(EventType.ENGAGEMENT_RECORDED, subject, data, at=self.clock.now(), n=n, series="group")
        )
        self.settle()

    def open_conflicts(self) -> list[Any]:
        return [c for c in super().open_conflicts() if c.status.value == "open"]

    def account_of(self, lead_id: str) -> str | None:
        return self.lead(lead_id).account_id

    def synced_account(self, lead_id: str) -> str | None:
        record = self.store.record(f"contact:{lead_id}")
        assert record is not None
        return record.value("account")

    def account_by_company(self, company_id: str) -> str:
        found = self.sync.directory.account_for("hubspot", company_id)
        assert found is not None
        return found

    def hubspot_write(self, lead_id: str) -> OutboundWrite | None:
        record = self.store.record(f"contact:{lead_id}")
        assert record is not None
        plan = planned_write(record, "hubspot", MAPPINGS, stored_links(self.store))
        return plan.write if plan is not None else None


@pytest.fixture(params=["lead processor first", "sync recorder first"])
def hub(request: pytest.FixtureRequest) -> LinkedHub:
    return LinkedHub(sync_first=request.param == "sync recorder first")


def linked_lead(hub: LinkedHub) -> str:
    """A captured lead of Acme (acme.io), HubSpot's contact linked, Acme and Beta companies HubSpot holds."""
    lead_id = hub.capture("ana@acme.io")
    hub.company(ACME_COMPANY, "domain", "acme.io")
    hub.company(BETA_COMPANY, "domain", "beta.example")
    hub.later()
    hub.hubspot("email", "ana@acme.io", by_person=False)
    hub.hubspot("associatedcompanyid", ACME_COMPANY, by_person=False)
    assert hub.store.linked("hubspot", "contact", str(HUBSPOT_ID)) == f"contact:{lead_id}"
    assert hub.account_of(lead_id) == hub.account_by_company(ACME_COMPANY)
    assert hub.synced_account(lead_id) == hub.account_of(lead_id)
    return lead_id


def test_a_move_only_hubspot_made_reaches_the_lead_through_the_sync(hub: LinkedHub) -> None:
    lead_id = linked_lead(hub)
    # When a HubSpot user makes Beta the contact's company, and no one else moved it
    hub.later()
    hub.hubspot("associatedcompanyid", BETA_COMPANY)
    # Then the sync applies it, and the lead takes it from the sync's decision
    beta = hub.account_by_company(BETA_COMPANY)
    assert hub.synced_account(lead_id) == beta
    assert hub.account_of(lead_id) == beta
    [changed] = [e for e in hub.sync_events(SyncEventType.FIELD_CHANGED) if e.field == "account"]
    assert changed.value == beta
    assert hub.open_conflicts() == []
    write = hub.hubspot_write(lead_id)  # HubSpot holds it already: no link to send back
    assert write is None or (not write.associate and not write.dissociate)


def test_a_company_the_hub_does_not_know_yet_is_made_the_leads_account_through_the_sync(hub: LinkedHub) -> None:
    lead_id = linked_lead(hub)
    hub.later()
    hub.hubspot("associatedcompanyid", "9077")  # a company HubSpot never reported to the hub
    account = hub.account_of(lead_id)
    assert account is not None
    assert account == hub.account_by_company("9077")  # found by HubSpot's id from now on
    # another company than Acme's: an account of its own, not Acme's domain account taking a second company
    assert account != hub.account_by_company(ACME_COMPANY)
    assert hub.synced_account(lead_id) in (account, "hubspot:9077")


def test_a_conflicting_move_is_flagged_and_changes_neither_the_record_nor_the_lead(hub: LinkedHub) -> None:
    lead_id = linked_lead(hub)
    # Given the hub moved the lead to another account (a product group it joined) since HubSpot last agreed
    hub.later()
    hub.joins_group("ana@acme.io", "grp-77")
    moved = hub.account_of(lead_id)
    assert moved not in (None, hub.account_by_company(ACME_COMPANY))
    assert hub.synced_account(lead_id) == moved
    # When a HubSpot user moves the contact to Beta
    hub.later()
    hub.hubspot("associatedcompanyid", BETA_COMPANY)
    # Then it is flagged for a person, and applied nowhere: not to the record, not to the lead
    [conflict] = hub.open_conflicts()
    assert (conflict.hub_field, conflict.hub_value) == ("account", moved)
    assert conflict.crm_value == hub.account_by_company(BETA_COMPANY)
    assert [e.field for e in hub.sync_events(SyncEventType.CONFLICT_FLAGGED)] == ["account"]
    assert hub.synced_account(lead_id) == moved
    assert hub.account_of(lead_id) == moved
    assert not [e for e in hub.sync_events(SyncEventType.FIELD_CHANGED) if e.field == "account"][1:]
    # And a later HubSpot move meanwhile is held too
    hub.later()
    hub.hubspot("associatedcompanyid", ACME_COMPANY)
    assert hub.account_of(lead_id) == moved


def test_a_person_choosing_hubspots_account_gives_it_to_the_lead_and_to_hubspot(hub: LinkedHub) -> None:
    lead_id = linked_lead(hub)
    hub.later()
    hub.joins_group("ana@acme.io", "grp-77")
    hub.later()
    hub.hubspot("associatedcompanyid", BETA_COMPANY)
    [conflict] = hub.open_conflicts()
    hub.later()
    hub.resolve(conflict.conflict_id, "crm")
    beta = hub.account_by_company(BETA_COMPANY)
    assert hub.synced_account(lead_id) == beta
    assert hub.account_of(lead_id) == beta
    assert hub.open_conflicts() == []
    [resolved] = hub.sync_events(SyncEventType.CONFLICT_RESOLVED)
    assert (resolved.field, resolved.value) == ("account", beta)


def test_a_person_keeping_the_hubs_account_leaves_the_lead_as_it_was(hub: LinkedHub) -> None:
    lead_id = linked_lead(hub)
    hub.later()
    hub.joins_group("ana@acme.io", "grp-77")
    moved = hub.account_of(lead_id)
    hub.later()
    hub.hubspot("associatedcompanyid", BETA_COMPANY)
    [conflict] = hub.open_conflicts()
    hub.resolve(conflict.conflict_id, "hub")
    assert hub.account_of(lead_id) == moved
    assert hub.synced_account(lead_id) == moved


def synced_accounts(hub: LinkedHub) -> None:
    """Acme's and Beta's synced account records, linked to their HubSpot companies (the health sync made them)."""
    for company in (ACME_COMPANY, BETA_COMPANY):
        hub.sync.on_bus_event(
            "revops.webhooks",
            normalized(
                "hubspot",
                [
                    {
                        "eventId": 900 + int(company) % 10,
                        "subscriptionId": 2,
                        "portalId": 62515,
                        "occurredAt": int(hub.clock.now().timestamp() * 1000),
                        "subscriptionType": "company.propertyChange",
                        "attemptNumber": 0,
                        "objectId": int(company),
                        "propertyName": "name",
                        "propertyValue": f"Company {company}",
                        "changeSource": "CRM_UI",
                    }
                ],
                hub.clock.now(),
                900 + int(company) % 10,
            )[0].model_dump(mode="json"),
        )
        assert hub.store.linked("hubspot", "account", company) is not None


def resolved_to_beta(hub: LinkedHub, lead_id: str) -> str:
    """The hub moved the lead (a product group), a HubSpot user moved it to Beta: a person chooses Beta."""
    hub.later()
    hub.joins_group("ana@acme.io", "grp-77")
    hub.later()
    hub.hubspot("associatedcompanyid", BETA_COMPANY)
    [conflict] = hub.open_conflicts()
    hub.later()
    hub.resolve(conflict.conflict_id, "crm")
    beta = hub.account_by_company(BETA_COMPANY)
    assert hub.account_of(lead_id) == beta
    assert hub.synced_account(lead_id) == beta
    return beta


def the_hub_wrote_acme(hub: LinkedHub, lead_id: str) -> None:
    """HubSpot's Acme association is the hub's own write (as the writer remembers what it wrote)."""
    record = hub.store.record(f"contact:{lead_id}")
    assert record is not None
    acme = hub.account_by_company(ACME_COMPANY)
    copy = record.copy_in("hubspot").wrote({"account": acme}, record.version, str(HUBSPOT_ID), {}, hub.clock.now())
    hub.store.commit(record.with_copy("hubspot", copy))


def test_a_resolution_moves_the_hubspot_association_and_its_echo_is_not_taken_again() -> None:
    hub = LinkedHub()
    lead_id = linked_lead(hub)
    synced_accounts(hub)
    the_hub_wrote_acme(hub, lead_id)
    resolved_to_beta(hub, lead_id)
    # Then HubSpot's contact is to be associated with Beta, and the Acme association the hub set removed
    write = hub.hubspot_write(lead_id)
    assert write is not None
    assert dict(write.associate) == {"account": BETA_COMPANY}
    assert dict(write.dissociate) == {"account": ACME_COMPANY}
    assert "associatedcompanyid" not in write.fields
    hubspot = FakeCrm("hubspot", now=hub.clock.now())
    hubspot.records[str(HUBSPOT_ID)] = {"email": "ana@acme.io"}
    report = hub.sync.write(hub.queue.take(), {"hubspot": hubspot})
    assert report.written.get("hubspot") == 1
    [sent] = [w for w in hubspot.sent if w.associate]
    assert (dict(sent.associate), dict(sent.dissociate)) == ({"account": BETA_COMPANY}, {"account": ACME_COMPANY})
    assert hub.hubspot_write(lead_id) is None
    # And the association coming back (HubSpot's integration change) is the hub's echo: nothing applied or sent
    published = len(hub.sync_bus.published)
    hub.hubspot("associatedcompanyid", BETA_COMPANY, by_person=False)
    record = hub.store.record(f"contact:{lead_id}")
    assert record is not None
    [latest] = [e for e in hub.store.audit(record.key).entries if e.hub_field == "account"][:1]
    assert latest.outcome == "resolved"  # the echo audited nothing (applied nothing)
    assert hub.queue.take() == []
    assert [e for e in hub.sync_bus.published[published:] if e.field == "account"] == []
    assert hub.account_of(lead_id) == hub.account_by_company(BETA_COMPANY)


def test_a_company_a_person_set_in_hubspot_is_left_there_when_the_hub_moves_the_lead() -> None:
    hub = LinkedHub()
    lead_id = linked_lead(hub)  # Acme's association came from HubSpot, not from the hub
    synced_accounts(hub)
    resolved_to_beta(hub, lead_id)
    write = hub.hubspot_write(lead_id)
    assert write is not None
    assert dict(write.associate) == {"account": BETA_COMPANY}
    assert dict(write.dissociate) == {}


def test_an_account_not_in_hubspot_yet_holds_the_association_back_without_a_write() -> None:
    hub = LinkedHub()
    lead_id = linked_lead(hub)
    hub.later()
    hub.joins_group("ana@acme.io", "grp-77")  # an account the hub never synced to HubSpot
    assert hub.synced_account(lead_id) not in (None, hub.account_by_company(ACME_COMPANY))
    write = hub.hubspot_write(lead_id)
    assert write is None or (not write.associate and not write.dissociate)


def test_a_webhook_naming_a_known_leads_company_does_not_move_the_lead_on_its_own() -> None:
    # The lead processor alone (no sync recorder deciding): the webhook's account does not move a known lead
    hub = LinkedHub()
    lead_id = linked_lead(hub)
    before = hub.account_of(lead_id)
    n = 4242
    body: list[dict[str, Any]] = [
        {
            "eventId": n,
            "subscriptionId": 1,
            "portalId": 62515,
            "occurredAt": int(hub.clock.now().timestamp() * 1000),
            "subscriptionType": "contact.propertyChange",
            "attemptNumber": 0,
            "objectId": HUBSPOT_ID,
            "propertyName": "associatedcompanyid",
            "propertyValue": BETA_COMPANY,
            "changeSource": "CRM_UI",
        }
    ]
    for event in normalized("hubspot", body, hub.clock.now(), n):
        hub.leads.handle(event)
    assert hub.account_of(lead_id) == before
    assert account_link("hubspot") in synced_profile_fields(["account"], ["hubspot"])
    assert account_link("salesforce") not in synced_profile_fields(["account"], ["hubspot"])


def test_the_mappings_take_the_account_link_as_a_critical_link_hubspot_associates() -> None:
    link = MAPPINGS.field("contact", "account")
    assert link is not None
    assert (link.links_to, link.critical, link.hubspot, link.salesforce) == (
        "account",
        True,
        "associatedcompanyid",
        None,
    )
    shipped = load_crm_mappings().model_dump(mode="json", exclude_defaults=True)

    def with_link(**changes: Any) -> dict[str, Any]:
        data = {**shipped, "mappings": [dict(m) for m in shipped["mappings"]]}
        for mapping in data["mappings"]:
            if mapping["id"] == "contact.account":
                mapping.update(changes)
        return data

    for changes, said in (
        ({"salesforce": "AccountId"}, "a Salesforce Lead has no AccountId"),
        ({"critical": False}, "a link must be critical"),
        ({"hubspot": "company"}, "hubspot must be 'associatedcompanyid'"),
        ({"links_to": "deal"}, "the hub links no contact to an deal"),
        ({"values": {"x": {"hubspot": "1"}}}, "a link takes no values"),
    ):
        with pytest.raises(InvalidCrmMappings, match=said):
            parse_crm_mappings(with_link(**changes))
    # a Salesforce Contact (not a Lead) takes its AccountId
    data = with_link(salesforce="AccountId")
    data["objects"] = [dict(o, salesforce="Contact") if o["id"] == "contact" else o for o in data["objects"]]
    assert parse_crm_mappings(data).field("contact", "account").salesforce == "AccountId"  # type: ignore[union-attr]


def test_hubspots_first_company_for_a_contact_is_no_conflict_with_an_account_hubspot_never_had(
    hub: LinkedHub,
) -> None:
    # Given a captured lead, linked to its domain's account (which HubSpot holds no company of), and HubSpot's
    # contact of it, which the two never agreed on a company for
    lead_id = hub.capture("ana@acme.io")
    own = hub.account_of(lead_id)
    assert own is not None
    hub.company(BETA_COMPANY, "domain", "beta.example")
    hub.later()
    hub.hubspot("email", "ana@acme.io", by_person=False)
    # When a HubSpot user gives the contact a company
    hub.later()
    hub.hubspot("associatedcompanyid", BETA_COMPANY)
    # Then it is no conflict with an account the hub could never tell HubSpot of: the later change stands
    assert hub.open_conflicts() == []
    beta = hub.account_by_company(BETA_COMPANY)
    assert hub.synced_account(lead_id) == beta
    assert hub.account_of(lead_id) == beta


def hubspot_contact_events(hub: LinkedHub, prop: str, value: str, n: int) -> list[Any]:
    """HubSpot's webhook of a property of its contact (`HUBSPOT_ID`), normalized, not yet taken by anyone."""
    body: list[dict[str, Any]] = [
        {
            "eventId": n,
            "subscriptionId": 1,
            "portalId": 62515,
            "occurredAt": int(hub.clock.now().timestamp() * 1000),
            "subscriptionType": "contact.propertyChange",
            "attemptNumber": 0,
            "objectId": HUBSPOT_ID,
            "propertyName": prop,
            "propertyValue": value,
            "changeSource": "CRM_UI",
            "sourceId": "userId:4321",
        }
    ]
    return normalized("hubspot", body, hub.clock.now(), n)


def test_a_company_the_hub_does_not_know_yet_joins_the_leads_domain_account(hub: LinkedHub) -> None:
    # Given a captured lead of acme.io, its domain's account holding no HubSpot company, and HubSpot's contact of it
    lead_id = hub.capture("ana@acme.io")
    own = hub.account_of(lead_id)
    assert own is not None
    hub.later()
    hub.hubspot("email", "ana@acme.io", by_person=False)
    # When HubSpot gives the contact a company the hub never heard of (its own match by domain, or a user's)
    hub.later()
    hub.hubspot("associatedcompanyid", "9077")
    # Then the lead keeps its domain's account, which is that company's from now on (as the webhook's link was)
    assert hub.account_of(lead_id) == own
    assert hub.account_by_company("9077") == own
    assert hub.synced_account(lead_id) in (own, "hubspot:9077")
    assert hub.open_conflicts() == []


def test_a_contact_made_in_hubspot_is_linked_to_its_company_through_its_domains_account(hub: LinkedHub) -> None:
    # Given a captured lead of acme.io (the domain's account known)
    known = hub.capture("bob@acme.io")
    acme = hub.account_of(known)
    hub.later()
    # When a contact made in HubSpot, of acme.io, reaches the hub, then its company, one the hub never heard of
    hub.hubspot("email", "cara@acme.io")
    lead_id = hub.sync.directory.lead_for("hubspot", str(HUBSPOT_ID), None)
    assert lead_id is not None
    assert lead_id != known
    hub.later()
    hub.hubspot("associatedcompanyid", "9077")
    # Then both are Acme's: the company is the domain account's
    assert hub.account_of(lead_id) == acme
    assert hub.account_by_company("9077") == acme


def test_a_new_leads_company_the_sync_dropped_before_the_lead_existed_is_linked_from_the_webhook() -> None:
    # Given a contact made in HubSpot, of a free mailbox, whose two webhooks reach the sync recorder in order
    # but the lead processor late: the company's before the sync knew the lead (dropped there)
    hub = LinkedHub()
    created = hubspot_contact_events(hub, "email", "cara@gmail.com", 7001)
    company = hubspot_contact_events(hub, "associatedcompanyid", "9077", 7002)
    for event in company:
        hub.sync.on_bus_event("revops.webhooks", event.model_dump(mode="json"))
    hub.settle()
    for event in created:
        hub.leads.handle(event)
        hub.sync.on_bus_event("revops.webhooks", event.model_dump(mode="json"))
    hub.settle()
    lead_id = hub.sync.directory.lead_for("hubspot", str(HUBSPOT_ID), None)
    assert lead_id is not None
    assert hub.account_of(lead_id) is None
    # When the lead processor takes the company's webhook
    for event in company:
        hub.leads.handle(event)
    hub.settle()
    # Then the new lead, which had no account, takes that company's
    account = hub.account_of(lead_id)
    assert account is not None
    assert account == hub.account_by_company("9077")
    # and the sync reads it as the hub's value (the lead's profile the next lead event carries)
    profile = hub.sync.directory.contact_profile(lead_id)
    assert profile is not None
    assert profile.values["account"][0] == account


class RefusingArchive:
    """HubSpot's v4 associations API answering every `batch/archive` with `status`."""

    def __init__(self, status: int) -> None:
        self.status = status
        self.calls = 0

    def archive(self, *args: Any, **kwargs: Any) -> None:
        self.calls += 1
        refused = AssociationsApiException(status=self.status, reason="refused")
        refused.body = b'{"status": "error", "category": "VALIDATION_ERROR", "message": "refused"}'
        raise refused


def moved_contacts(associations: Any) -> list[WriteResult]:
    """Two contacts written and associated with their new company, their old ones (the hub's) to remove."""
    writes = [
        OutboundWrite(
            f"w{n}", "contact", {}, crm_id=str(n), associate={"account": "9002"}, dissociate={"account": "9001"}
        )
        for n in (1, 2)
    ]
    run = WriteRun(results={n: WriteResult(w.write_id, True, w.crm_id) for n, w in enumerate(writes)})
    dissociate(associations, (1.0, 1.0), run, writes)
    return [run.results[n] for n in range(len(writes))]


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(400, False), (403, False), (429, True), (503, True)],
)
def test_an_old_association_hubspot_does_not_remove_fails_the_write_retryable_only_when_trying_again_may_do(
    status: int, retryable: bool
) -> None:
    results = moved_contacts(RefusingArchive(status))
    assert [(r.ok, r.retryable) for r in results] == [(False, retryable)] * 2
    assert all("still associated with account 9001" in (r.error or "") for r in results)


def test_an_old_association_whose_record_hubspot_no_longer_has_is_removed_already() -> None:
    # HubSpot answers 404 for a pair whose company (or contact) is gone: nothing is left to remove
    results = moved_contacts(RefusingArchive(404))
    assert [(r.ok, r.error) for r in results] == [(True, None)] * 2


@pytest.mark.parametrize("value", ["acct-nobody", "Acme", "hubspot:", "pipedrive:77"])
def test_a_resolution_of_the_account_link_naming_no_account_is_refused_naming_the_field(value: str) -> None:
    hub = LinkedHub()
    lead_id = linked_lead(hub)
    hub.later()
    hub.joins_group("ana@acme.io", "grp-77")
    hub.later()
    hub.hubspot("associatedcompanyid", BETA_COMPANY)
    [conflict] = hub.open_conflicts()
    with pytest.raises(InvalidResolution, match=r"contact\.account: .* is no account the hub knows"):
        hub.sync.resolve(conflict.conflict_id, value, "sales-ops@example.com")
    # nothing resolved: the conflict stays open, the lead where it was
    assert [c.conflict_id for c in hub.open_conflicts()] == [conflict.conflict_id]
    assert hub.account_of(lead_id) == conflict.hub_value


@pytest.mark.parametrize("chosen", ["acme", "another the hub knows", "hubspot:9077", "none"])
def test_a_resolution_of_the_account_link_may_name_a_known_account_or_a_crms_company(chosen: str) -> None:
    hub = LinkedHub()
    lead_id = linked_lead(hub)
    acme = hub.account_of(lead_id)
    other = hub.account_of(hub.capture("bo@osprey.io"))  # in no CRM, no part of the conflict: the hub knows it
    hub.later()
    hub.joins_group("ana@acme.io", "grp-77")
    hub.later()
    hub.hubspot("associatedcompanyid", BETA_COMPANY)
    [conflict] = hub.open_conflicts()
    value = {"acme": acme, "another the hub knows": other, "hubspot:9077": "hubspot:9077", "none": None}[chosen]
    resolved = hub.sync.resolve(conflict.conflict_id, value, "sales-ops@example.com")
    assert resolved.resolved_value == value
    assert hub.open_conflicts() == []


def test_a_contact_written_before_its_account_is_in_hubspot_is_associated_once_the_company_is_created() -> None:
    # Given a lead of Acme whose contact went to HubSpot first: Acme is in no CRM yet, so the association waits
    hub = LinkedHub()
    lead_id = hub.capture("ana@acme.io")
    acme = hub.account_of(lead_id)
    assert acme is not None
    assert hub.synced_account(lead_id) == acme
    hubspot = FakeCrm("hubspot", now=hub.clock.now())
    hub.sync.write([n for n in hub.queue.take() if n.crm == "hubspot"], {"hubspot": hubspot})
    [contact_write] = [w for w in hubspot.sent if w.kind == "contact"]
    assert not contact_write.associate
    assert hub.hubspot_write(lead_id) is None  # nothing left to write: only a later lead event would carry it
    # When the writer creates Acme's company (its account's record, from the account's health)
    now = hub.clock.now()
    account = SyncedRecord(
        "account",
        acme,
        fields={
            "name": FieldState("Acme", now, "hub", "revops.success"),
            "domain": FieldState("acme.io", now, "hub", "revops.success"),
        },
    )
    stored = hub.store.commit(account)
    report = hub.sync.write([ChangeNotice("hubspot", stored.key, stored.version)], {"hubspot": hubspot})
    assert report.written == {"hubspot": 1}
    company = hub.store.record(stored.key)
    assert company is not None
    assert company.copy_in("hubspot").crm_id is not None
    # Then the contact's write waiting for it is queued, with no lead event
    assert [(n.crm, n.record_key) for n in report.linked] == [("hubspot", f"contact:{lead_id}")]
    # and it associates the contact with the company, once
    again = hub.sync.write(report.linked, {"hubspot": hubspot})
    assert again.written == {"hubspot": 1}
    [associated] = [w for w in hubspot.sent if w.kind == "contact" and w.associate]
    assert dict(associated.associate) == {"account": company.copy_in("hubspot").crm_id}
    assert hub.hubspot_write(lead_id) is None
    # A redelivery of the account's notice finds nothing waiting any more (no loop, nothing written twice)
    redelivered = hub.sync.write([ChangeNotice("hubspot", stored.key, stored.version)], {"hubspot": hubspot})
    assert (redelivered.linked, redelivered.written) == ([], {})
