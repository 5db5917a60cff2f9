"""CRM sync, decided in memory: per-field last-modified-wins with an audit entry per change, the hub's echoes
recognized by value, critical conflicts flagged for a person, batched writes, and a CRM outage that loses
nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.crm.hub_changes import HubUpdate
from shared.crm.inbound import CrmReport
from shared.crm.mappings import load_crm_mappings
from shared.crm.pacing import CallPacer
from shared.crm.ports import ChangeNotice, CrmName, HubProfile, Link
from shared.crm.service import ConflictClosed, Decided, SyncService
from shared.events.sync_events import SyncEventType
from tests.crm_fakes import FakeCrm, FakeDirectory, InMemorySyncStore, RecordingQueue
from tests.fakes import FixedClock, RecordingPublisher

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
MAYA_SF = "005000000000001AAA"
DANIEL_SF = "005000000000012AAA"


class Hub:
    """A sync service over fakes, with both CRMs, and the steps a test takes."""

    def __init__(self, pacer: CallPacer | None = None) -> None:
        self.clock = FixedClock(T0)
        self.store = InMemorySyncStore()
        self.queue = RecordingQueue()
        self.publisher = RecordingPublisher()
        self.directory = FakeDirectory()
        self.service = SyncService(
            load_crm_mappings(), self.store, self.directory, self.clock, self.queue, self.publisher, pacer
        )
        self.crms: dict[CrmName, FakeCrm] = {
            "hubspot": FakeCrm("hubspot", 100, now=T0),
            "salesforce": FakeCrm("salesforce", 200, now=T0),
        }
        self.writes = 0

    def hub_sets(self, lead_id: str, at: datetime, **values: str | None) -> None:
        self.service.hub_changed(
            HubUpdate("contact", lead_id, {k: (v, at) for k, v in values.items()}, "revops.leads", f"ev-{at}")
        )

    def crm_reports(
        self,
        crm: CrmName,
        crm_id: str,
        at: datetime,
        values: dict[str, str | None],
        cause: str = "",
        actor: str | None = None,
        by_person: bool = False,
    ) -> Decided:
        cause = cause or f"{crm}-{at}-{values}"
        report = CrmReport(crm, "contact", crm_id, values, at, actor, None, cause, crm == "salesforce", by_person)
        return self.service.crm_changed(report)

    def drain(self, rounds: int = 10) -> None:
        """The writer takes every queued notice until none is left (retries included)."""
        for _ in range(rounds):
            notices = self.queue.take()
            if not notices:
                return
            for crm in self.crms.values():
                crm.now = self.clock.now()
            report = self.service.write(notices, self.crms)
            self.writes += sum(report.written.values())
            self.queue.notices.extend(report.retry)
            self.queue.notices.extend(replace(n, throttled=n.throttled + 1) for n in report.throttled)
            self.clock.advance(timedelta(seconds=1))
        raise AssertionError(f"notices still queued after {rounds} rounds: {self.queue.notices}")

    def crm_id(self, crm: CrmName, lead_id: str) -> str:
        record = self.store.record(f"contact:{lead_id}")
        assert record is not None
        crm_id = record.copy_in(crm).crm_id
        assert crm_id is not None
        return crm_id

    def in_crm(self, crm: CrmName, lead_id: str) -> dict[str, str | None]:
        return self.crms[crm].records[self.crm_id(crm, lead_id)]

    def audit(self, lead_id: str) -> list:
        return self.store.audit(f"contact:{lead_id}", limit=200).entries


@pytest.fixture
def hub() -> Hub:
    return Hub()


def captured(hub: Hub, lead_id: str = "lead-1", at: datetime = T0) -> None:
    hub.hub_sets(
        lead_id,
        at,
        email="ana@example.com",
        first_name="Ana",
        last_name="Silva",
        lifecycle_stage="MQL",
        score="62.5",
        owner="sdr-maya-chen",
    )
    hub.drain()


def test_a_captured_lead_reaches_both_crms_with_score_stage_and_owner(hub: Hub) -> None:
    # When the hub records a new lead's fields and the writer drains the queue
    captured(hub)
    # Then HubSpot has the contact, matched by email, in its own names and values
    hubspot = hub.in_crm("hubspot", "lead-1")
    assert hubspot["email"] == "ana@example.com"
    assert hubspot["lifecyclestage"] == "marketingqualifiedlead"
    assert hubspot["revops_score"] == "62.5"
    assert hubspot["hubspot_owner_id"] == "71000001"
    # And Salesforce has the Lead, with the placeholder a Lead needs for its missing Company
    salesforce = hub.in_crm("salesforce", "lead-1")
    assert salesforce["OwnerId"] == MAYA_SF
    assert salesforce["Company"] == "[not provided]"
    assert salesforce["RevOps_Lifecycle_Stage__c"] == "MQL"
    # And each write carries the record's sync version
    assert salesforce["RevOps_Sync_Version__c"] is not None
    # And the hub's changes are in the audit trail, one entry per field
    fields = {entry.hub_field for entry in hub.audit("lead-1") if entry.source == "hub"}
    assert {"email", "owner", "score", "lifecycle_stage"} <= fields


def test_an_owner_change_in_salesforce_reaches_the_hub_and_hubspot_with_its_audit_entry(hub: Hub) -> None:
    # Given a lead synced to both CRMs
    captured(hub)
    hubspot_calls = hub.crms["hubspot"].calls
    salesforce_calls = hub.crms["salesforce"].calls
    # When a Salesforce user gives the Lead to another rep
    sf_id = hub.crm_id("salesforce", "lead-1")
    decided = hub.crm_reports(
        "salesforce", sf_id, T0 + timedelta(minutes=5), {"OwnerId": DANIEL_SF}, actor="salesforce:005U1"
    )
    hub.drain()
    # Then the hub's record holds the new owner, from Salesforce
    record = hub.store.record("contact:lead-1")
    assert record is not None
    assert record.value("owner") == "ae-daniel-kim"
    assert record.fields["owner"].source == "salesforce"
    # And HubSpot got it, with one more call; Salesforce was not written back to
    assert hub.in_crm("hubspot", "lead-1")["hubspot_owner_id"] == "71000012"
    assert hub.crms["hubspot"].calls == hubspot_calls + 1
    assert hub.crms["salesforce"].calls == salesforce_calls
    # And the audit trail says who changed what, by which rule
    entry = next(e for e in hub.audit("lead-1") if e.hub_field == "owner" and e.source == "salesforce")
    assert (entry.old_value, entry.new_value, entry.outcome, entry.rule, entry.actor) == (
        "sdr-maya-chen",
        "ae-daniel-kim",
        "applied",
        "last_modified_wins",
        "salesforce:005U1",
    )
    # And the change is published for the hub's other domains
    assert [e.event_type for e in decided.events] == [SyncEventType.FIELD_CHANGED]


def test_an_older_value_arriving_late_loses_and_its_losing_value_is_audited(hub: Hub) -> None:
    # Given a title set in Salesforce at 10:00 and synced
    captured(hub)
    sf_id = hub.crm_id("salesforce", "lead-1")
    hs_id = hub.crm_id("hubspot", "lead-1")
    hub.crm_reports("salesforce", sf_id, T0 + timedelta(hours=1), {"Title": "VP Sales"})
    hub.drain()
    # When HubSpot's webhook of a change stamped 9:30 arrives only now, HubSpot holding that value
    hub.crms["hubspot"].edit(hs_id, {"jobtitle": "Sales Manager"}, T0 + timedelta(minutes=30))
    hub.crm_reports("hubspot", hs_id, T0 + timedelta(minutes=30), {"jobtitle": "Sales Manager"}, by_person=True)
    hub.drain()
    # Then the later value stands, everywhere
    record = hub.store.record("contact:lead-1")
    assert record is not None
    assert record.value("job_title") == "VP Sales"
    assert hub.in_crm("hubspot", "lead-1")["jobtitle"] == "VP Sales"
    # And the loss is in the trail with the losing value
    lost = next(e for e in hub.audit("lead-1") if e.outcome == "kept")
    assert (lost.losing_value, lost.new_value, lost.source) == ("Sales Manager", "VP Sales", "hubspot")


def test_an_older_change_from_the_same_crm_arriving_late_loses_in_the_trail(hub: Hub) -> None:
    # Given a title a HubSpot user set at 11:00, synced everywhere
    captured(hub)
    hs_id = hub.crm_id("hubspot", "lead-1")
    hub.crms["hubspot"].edit(hs_id, {"jobtitle": "VP Sales"}, T0 + timedelta(hours=2))
    hub.crm_reports("hubspot", hs_id, T0 + timedelta(hours=2), {"jobtitle": "VP Sales"}, by_person=True)
    hub.drain()
    writes = hub.writes
    # When HubSpot's webhook of that user's earlier change, stamped 10:00, arrives only now
    decided = hub.crm_reports("hubspot", hs_id, T0 + timedelta(hours=1), {"jobtitle": "Sales Manager"}, by_person=True)
    hub.drain()
    # Then the later title stands, and nothing is written (HubSpot holds it already)
    record = hub.store.record("contact:lead-1")
    assert record is not None
    assert record.value("job_title") == "VP Sales"
    assert hub.writes == writes
    assert decided.events == []
    # And the late change is in the trail, with the value that lost and the rule that decided
    [late] = [e for e in hub.audit("lead-1") if e.rule == "older_than_reported"]
    assert (late.outcome, late.source, late.losing_value, late.new_value) == (
        "kept",
        "hubspot",
        "Sales Manager",
        "VP Sales",
    )
    # And the same webhook delivered again audits nothing more
    hub.crm_reports("hubspot", hs_id, T0 + timedelta(hours=1), {"jobtitle": "Sales Manager"}, by_person=True)
    assert len([e for e in hub.audit("lead-1") if e.rule == "older_than_reported"]) == 1


def test_a_tie_of_modification_times_breaks_by_the_mappings_order(hub: Hub) -> None:
    # Given a title HubSpot set at 10:00
    captured(hub)
    at = T0 + timedelta(hours=1)
    hub.crm_reports("hubspot", hub.crm_id("hubspot", "lead-1"), at, {"jobtitle": "CTO"})
    # When Salesforce reports another title changed at the same moment
    hub.crm_reports("salesforce", hub.crm_id("salesforce", "lead-1"), at, {"Title": "CEO"})
    # Then Salesforce wins: it comes before HubSpot in `tie_break`
    record = hub.store.record("contact:lead-1")
    assert record is not None
    assert record.value("job_title") == "CEO"
    assert next(e for e in hub.audit("lead-1") if e.new_value == "CEO").rule == "tie_break"


def test_the_hubs_own_write_coming_back_is_neither_applied_nor_sent_again(hub: Hub) -> None:
    # Given a lead synced to both CRMs
    captured(hub)
    trail = len(hub.audit("lead-1"))
    # When HubSpot's webhooks report the values the hub wrote (each property on its own, stamped when applied)
    hs_id = hub.crm_id("hubspot", "lead-1")
    for prop, value in hub.in_crm("hubspot", "lead-1").items():
        decided = hub.crm_reports("hubspot", hs_id, T0, {prop: value})
        # Then nothing is queued and nothing published
        assert decided.notices == []
        assert decided.events == []
    # And the trail is unchanged
    assert len(hub.audit("lead-1")) == trail


def test_a_stale_echo_of_an_earlier_write_is_still_the_hubs_own(hub: Hub) -> None:
    # Given a score written to HubSpot twice (62.5, then 70)
    captured(hub)
    hub.hub_sets("lead-1", T0 + timedelta(minutes=1), score="70")
    hub.drain()
    # When the webhook of the first write (stamped when HubSpot applied it) arrives last
    decided = hub.crm_reports("hubspot", hub.crm_id("hubspot", "lead-1"), T0, {"revops_score": "62.5"})
    # Then it is recognized as an echo: nothing changes, nothing goes out
    record = hub.store.record("contact:lead-1")
    assert record is not None
    assert record.value("score") == "70"
    assert decided.notices == []
    assert decided.decisions[0].outcome.value == "echo"


def test_a_conflicting_email_change_is_flagged_not_applied_and_a_person_resolves_it(hub: Hub) -> None:
    # Given a lead synced to both CRMs
    captured(hub)
    hs_id = hub.crm_id("hubspot", "lead-1")
    sf_id = hub.crm_id("salesforce", "lead-1")
    # And Salesforce changed the email, applied by the hub but not yet written to HubSpot
    hub.crm_reports("salesforce", sf_id, T0 + timedelta(minutes=10), {"Email": "ana.silva@example.com"})
    # When HubSpot reports another email, changed there meanwhile
    decided = hub.crm_reports("hubspot", hs_id, T0 + timedelta(minutes=11), {"email": "ana@silva.dev"})
    # Then it is not applied: the record keeps Salesforce's, and a conflict waits for a person
    record = hub.store.record("contact:lead-1")
    assert record is not None
    assert record.value("email") == "ana.silva@example.com"
    open_conflicts = hub.store.conflicts(None).conflicts
    assert len(open_conflicts) == 1
    assert open_conflicts[0].crm_value == "ana@silva.dev"
    assert [e.event_type for e in decided.events] == [SyncEventType.CONFLICT_FLAGGED]
    # And the email goes to no CRM while it waits
    hub.drain()
    assert hub.in_crm("hubspot", "lead-1")["email"] == "ana@example.com"
    # When a person chooses HubSpot's value
    conflict = open_conflicts[0]
    resolved = hub.service.resolve(conflict.conflict_id, "ana@silva.dev", "user:sales-ops")
    hub.drain()
    # Then both CRMs get it, and the resolution is audited
    assert resolved.status.value == "resolved"
    assert hub.in_crm("hubspot", "lead-1")["email"] == "ana@silva.dev"
    assert hub.in_crm("salesforce", "lead-1")["Email"] == "ana@silva.dev"
    assert any(e.outcome == "resolved" and e.actor == "user:sales-ops" for e in hub.audit("lead-1"))
    # And resolving it again another way is refused
    with pytest.raises(ConflictClosed):
        hub.service.resolve(conflict.conflict_id, "ana@example.com", "user:other")


def test_hub_only_fields_edited_in_the_crm_are_put_back(hub: Hub) -> None:
    # Given a score the hub computes, synced
    captured(hub)
    # When a HubSpot user overwrites it by hand
    hub.crm_reports("hubspot", hub.crm_id("hubspot", "lead-1"), T0 + timedelta(minutes=3), {"revops_score": "99"})
    hub.drain()
    # Then the hub keeps its score and writes it back
    assert hub.in_crm("hubspot", "lead-1")["revops_score"] == "62.5"
    kept = next(e for e in hub.audit("lead-1") if e.losing_value == "99")
    assert kept.rule == "direction_hub_to_crm"


def test_a_crm_down_loses_nothing_and_recovers(hub: Hub) -> None:
    # Given HubSpot refusing every call for a while (rate limited)
    hub.crms["hubspot"].fail_calls = 3
    # When leads change during the outage
    for n in range(5):
        hub.hub_sets(f"lead-{n}", T0, email=f"p{n}@example.com", score=str(n * 10))
    hub.drain()
    # Then every lead is in HubSpot once it answers again, and Salesforce was not held back
    for n in range(5):
        assert hub.in_crm("hubspot", f"lead-{n}")["revops_score"] == str(n * 10)
        assert hub.in_crm("salesforce", f"lead-{n}")["RevOps_Score__c"] == str(n * 10)


def test_a_record_the_crm_refuses_is_reported_and_the_others_written(hub: Hub) -> None:
    # Given Salesforce refusing one lead's value
    hub.crms["salesforce"].refuse_values = {"bad@@example.com"}
    hub.hub_sets("lead-bad", T0, email="bad@@example.com")
    hub.hub_sets("lead-good", T0, email="good@example.com")
    # When the writer takes the notices
    report = hub.service.write(hub.queue.take(), hub.crms)
    # Then the good one is written and the bad one refused with the reason, not retried
    assert hub.in_crm("salesforce", "lead-good")["Email"] == "good@example.com"
    assert [(n.record_key, n.crm) for n, _ in report.refused] == [("contact:lead-bad", "salesforce")]
    assert "INVALID_VALUE" in report.refused[0][1]
    assert all(n.record_key != "contact:lead-bad" or n.crm != "salesforce" for n in report.retry)


def test_a_thousand_updates_go_out_in_few_batched_calls(hub: Hub) -> None:
    # Given 100 leads, each changed 10 times before the writer runs
    for round_ in range(10):
        for n in range(100):
            hub.hub_sets(f"lead-{n}", T0 + timedelta(seconds=round_), email=f"p{n}@example.com", score=str(round_))
    # When the writer takes the notices in one batch
    notices = hub.queue.take()
    report = hub.service.write(notices, hub.crms)
    # Then each CRM got one write per lead, in as few calls as its batch size allows
    assert report.calls == {"hubspot": 1, "salesforce": 1}
    assert hub.in_crm("hubspot", "lead-42")["revops_score"] == "9"


def test_notices_carry_no_values_so_their_order_does_not_matter(hub: Hub) -> None:
    # Given two changes of one lead whose notices arrive in reverse order
    hub.hub_sets("lead-1", T0, email="ana@example.com", score="10")
    hub.hub_sets("lead-1", T0 + timedelta(seconds=1), score="20")
    notices = list(reversed(hub.queue.take()))
    # When the writer takes them
    hub.service.write(notices, hub.crms)
    # Then the CRM holds the latest value
    assert hub.in_crm("hubspot", "lead-1")["revops_score"] == "20"


def test_a_crm_contact_the_hub_has_not_linked_is_found_through_the_lead_domain(hub: Hub) -> None:
    # Given a lead the hub synced, and a HubSpot contact the lead domain knows as that lead
    captured(hub)
    hub.directory.leads_by_crm_id[("hubspot", "999")] = "lead-1"
    hub.directory.profiles["lead-1"] = HubProfile({"email": ("ana@example.com", T0)})
    # When HubSpot reports a change of that contact
    decided = hub.crm_reports("hubspot", "999", T0 + timedelta(minutes=1), {"firstname": "Anna"})
    # Then it applies to the lead's record, and the link is kept
    assert decided.record_key == "contact:lead-1"
    assert hub.store.linked("hubspot", "contact", "999") == "contact:lead-1"


def test_a_change_notice_for_nothing_pending_writes_nothing(hub: Hub) -> None:
    captured(hub)
    calls = hub.crms["hubspot"].calls
    report = hub.service.write([ChangeNotice("hubspot", "contact:lead-1", 1)], hub.crms)
    assert hub.crms["hubspot"].calls == calls
    assert report.retry == []
    assert report.refused == []


def test_an_owner_only_salesforce_knows_stays_out_of_hubspot(hub: Hub) -> None:
    # Given a lead synced to both CRMs
    captured(hub)
    hubspot_owner = hub.in_crm("hubspot", "lead-1")["hubspot_owner_id"]
    # When Salesforce gives it to a user the mappings have no rep for
    hub.crm_reports("salesforce", hub.crm_id("salesforce", "lead-1"), T0 + timedelta(minutes=2), {"OwnerId": "005X"})
    hub.drain()
    # Then the hub holds Salesforce's user, qualified, and HubSpot keeps its owner rather than a foreign id
    record = hub.store.record("contact:lead-1")
    assert record is not None
    assert record.value("owner") == "salesforce:005X"
    assert hub.in_crm("hubspot", "lead-1")["hubspot_owner_id"] == hubspot_owner


def test_a_contact_a_crm_made_before_the_hub_knew_its_email_is_not_synced_and_merges_into_its_lead(hub: Hub) -> None:
    # Given a lead synced to HubSpot, and the lead domain's anonymous contact made of HubSpot's creation event
    captured(hub)
    hub.directory.leads_by_crm_id[("hubspot", "hs-new")] = "anonymous-1"
    # When HubSpot reports that contact before its email is known
    decided = hub.crm_reports("hubspot", "hs-new", T0 + timedelta(minutes=1), {"firstname": "Ana"})
    # Then nothing is synced for it
    assert decided.record_key is None
    # When the hub's own events made a record of it (score 0, no email) and the leads are found to be one
    hub.hub_sets("anonymous-1", T0 + timedelta(minutes=1), score="0", lifecycle_stage="Visitor")
    absorbed = hub.store.record("contact:anonymous-1")
    assert absorbed is not None
    hub.store.commit(absorbed, links=[Link("hubspot", "contact", "hs-new", "contact:anonymous-1")])
    hub.service.leads_merged("lead-1", "anonymous-1", "merge-1")
    hub.drain()
    # Then the absorbed record writes nothing any more, and HubSpot's reports of its contact go to the lead
    merged = hub.store.record("contact:anonymous-1")
    assert merged is not None
    assert merged.merged_into == "contact:lead-1"
    assert hub.in_crm("hubspot", "lead-1")["revops_score"] == "62.5"
    routed = hub.crm_reports("hubspot", "hs-new", T0 + timedelta(minutes=2), {"jobtitle": "CFO"})
    assert routed.record_key == "contact:lead-1"


# The conversion.attributed of HubSpot deal 7001, credited to three touches
KESTREL_CREDITED = {
    "event_id": "attr-1",
    "event_type": "conversion.attributed",
    "occurred_at": (T0 + timedelta(minutes=1)).isoformat(),
    "period": "2026-11",
    "company_currency": "USD",
    "deal_id": "hubspot:7001",
    "touches": 3,
    "first_touch_campaign": "webinar-q4",
    "last_touch_campaign": "demo-request",
    "company_amount": "48000.00",
}


def test_a_won_deals_attribution_summary_goes_to_the_crm_deal_it_came_from(hub: Hub) -> None:
    # Given a HubSpot deal the hub has heard of (its amount came in a webhook)
    hub.crms["hubspot"].records["7001"] = {"dealname": "Kestrel renewal", "amount": "48000"}
    hub.crms["hubspot"].kinds["7001"] = "deal"
    report = CrmReport("hubspot", "deal", "7001", {"amount": "48000"}, T0, None, None, "deal-ev", False)
    decided = hub.service.crm_changed(report)
    assert decided.record_key == "deal:hubspot:7001"
    # When attribution credits it
    detail = dict(KESTREL_CREDITED)
    hub.service.on_bus_event("revops.attribution", detail)
    hub.drain()
    # Then the deal in HubSpot carries the summary, and its amount (the CRM's) is the hub's too
    summary = hub.crms["hubspot"].records["7001"]["revops_attribution_summary"]
    assert summary == "3 touches; first: webinar-q4; last: demo-request; 48000.00 USD"
    record = hub.store.record("deal:hubspot:7001")
    assert record is not None
    assert record.value("amount") == "48000"


def test_a_superseded_conversion_leaves_its_crm_deals_summary_as_it_was(hub: Hub) -> None:
    # Given a HubSpot deal whose attribution summary the hub wrote when it was credited
    hub.crms["hubspot"].records["7001"] = {"dealname": "Kestrel renewal", "amount": "48000"}
    hub.crms["hubspot"].kinds["7001"] = "deal"
    hub.service.crm_changed(CrmReport("hubspot", "deal", "7001", {"amount": "48000"}, T0, None, None, "d-ev", False))
    credited = dict(KESTREL_CREDITED)
    hub.service.on_bus_event("revops.attribution", credited)
    hub.drain()
    # When attribution finds it is its Salesforce Opportunity and empties its conversion (counted by that one)
    emptied = credited | {
        "event_id": "attr-2",
        "occurred_at": (T0 + timedelta(minutes=2)).isoformat(),
        "touches": 0,
        "first_touch_campaign": None,
        "last_touch_campaign": None,
        "company_amount": "0.00",
        "superseded_by": "deal:salesforce:006A000001ABCDEAAA",
    }
    hub.service.on_bus_event("revops.attribution", emptied)
    hub.drain()
    # Then HubSpot's deal keeps the summary of its journey, not "0 touches"
    summary = hub.crms["hubspot"].records["7001"]["revops_attribution_summary"]
    assert summary == "3 touches; first: webinar-q4; last: demo-request; 48000.00 USD"


def test_an_accounts_health_reaches_the_crm_company_of_its_domain_and_no_account_without_one(hub: Hub) -> None:
    # Given a company HubSpot already has for a domain
    hub.crms["hubspot"].records["c-1"] = {"name": "Kestrel Labs", "domain": "kestrel.io"}
    hub.crms["hubspot"].kinds["c-1"] = "account"
    hub.directory.accounts["acct-1"] = HubProfile({"domain": ("kestrel.io", T0)})
    # When the hub's health of that account, and of an account it knows no domain of, change
    for tenant in ("acct-1", "acct-2"):
        detail = {
            "event_id": f"health-{tenant}",
            "event_type": "customer.health_changed",
            "occurred_at": T0.isoformat(),
            "tenant_id": tenant,
            "model_version": "2026.1",
            "score": 61.5,
            "band": "yellow",
            "cause": "signal",
        }
        hub.service.on_bus_event("revops.success", detail)
    hub.drain()
    # Then the existing company carries the health (matched by its domain, not created again)
    assert hub.crms["hubspot"].records["c-1"]["revops_health_score"] == "61.5"
    assert hub.crms["hubspot"].records["c-1"]["revops_health_band"] == "yellow"
    assert len([k for k, kind in hub.crms["hubspot"].kinds.items() if kind == "account"]) == 1
    # And the account without a domain is in no CRM
    record = hub.store.record("account:acct-2")
    assert record is not None
    assert all(copy.crm_id is None for copy in record.crms.values())


def test_reconciliation_reads_page_after_page_and_repairs_what_no_webhook_told(hub: Hub) -> None:
    # Given 250 synced leads, and a bulk edit in Salesforce whose webhooks never came, a second apart each
    for n in range(250):
        hub.hub_sets(f"lead-{n}", T0, email=f"p{n}@example.com")
    hub.drain()
    for n in range(250):
        sf_id = hub.crm_id("salesforce", f"lead-{n}")
        hub.crms["salesforce"].edit(sf_id, {"Title": "Bulk"}, T0 + timedelta(minutes=10, seconds=n))
    # When reconciliation runs
    run = hub.service.reconcile({"salesforce": hub.crms["salesforce"]}, "run-1")
    # Then every lead got the title, across pages, and the run says so
    assert all(hub.store.record(f"contact:lead-{n}").value("job_title") == "Bulk" for n in range(250))  # type: ignore[union-attr]
    assert run.counts["salesforce.contact"]["repaired"] == 250
    # And the next run compares nothing it compared already
    again = hub.service.reconcile({"salesforce": hub.crms["salesforce"]}, "run-2")
    assert again.counts["salesforce.contact"]["compared"] == 0


def test_a_field_in_conflict_is_held_for_the_person_whoever_changes_it_meanwhile(hub: Hub) -> None:
    # Given an email conflict flagged with HubSpot (as in the test above)
    captured(hub)
    hs_id, sf_id = hub.crm_id("hubspot", "lead-1"), hub.crm_id("salesforce", "lead-1")
    hub.crm_reports("salesforce", sf_id, T0 + timedelta(minutes=10), {"Email": "ana.silva@example.com"})
    hub.crm_reports("hubspot", hs_id, T0 + timedelta(minutes=11), {"email": "ana@silva.dev"})
    [conflict] = hub.store.conflicts(None).conflicts
    # When Salesforce and the hub change it again while it waits
    hub.crm_reports("salesforce", sf_id, T0 + timedelta(minutes=12), {"Email": "third@example.com"})
    hub.hub_sets("lead-1", T0 + timedelta(minutes=13), email="fourth@example.com")
    # Then nothing is applied, no second conflict is flagged, and both changes are in the trail as held
    record = hub.store.record("contact:lead-1")
    assert record is not None
    assert record.value("email") == "ana.silva@example.com"
    assert [c.conflict_id for c in hub.store.conflicts(None).conflicts] == [conflict.conflict_id]
    held = [e for e in hub.audit("lead-1") if e.rule == "conflict_open"]
    assert sorted(e.losing_value or "" for e in held) == ["fourth@example.com", "third@example.com"]
    # And two people resolving it at once: the second is told it was resolved already
    stale = hub.store.conflict(conflict.conflict_id)
    hub.service.resolve(conflict.conflict_id, "ana@silva.dev", "alice")
    hub.store.conflict = lambda _: stale  # type: ignore[method-assign]
    with pytest.raises(ConflictClosed):
        hub.service.resolve(conflict.conflict_id, "third@example.com", "bob")


def test_a_critical_field_both_sides_changed_is_flagged_whichever_change_arrives_first(hub: Hub) -> None:
    # Given a lead synced to both CRMs, whose owner HubSpot changed at 9:10 (applied first)
    captured(hub)
    hub.crm_reports(
        "hubspot", hub.crm_id("hubspot", "lead-1"), T0 + timedelta(minutes=10), {"hubspot_owner_id": "71000012"}
    )
    # When the hub's own change of the owner, made at 9:05, arrives after it
    hub.hub_sets("lead-1", T0 + timedelta(minutes=5), owner="sdr-jordan-reyes")
    # Then it is not settled by time alone: a person decides
    [conflict] = hub.store.conflicts(None).conflicts
    assert (conflict.hub_field, conflict.hub_value, conflict.crm, conflict.crm_value) == (
        "owner",
        "sdr-jordan-reyes",
        "hubspot",
        "ae-daniel-kim",
    )
    record = hub.store.record("contact:lead-1")
    assert record is not None
    assert record.value("owner") == "ae-daniel-kim"


def test_a_rate_limited_crm_has_its_notices_wait_and_one_that_never_stops_is_retried_as_failing(hub: Hub) -> None:
    # Given HubSpot answering 429
    hub.crms["hubspot"].fail_calls = 1
    hub.hub_sets("lead-1", T0, email="ana@example.com")
    # When the writer takes the notices
    report = hub.service.write(hub.queue.take(), hub.crms)
    # Then HubSpot's notice waits out the Retry-After (queued again, not failed), Salesforce's was written
    assert [(n.crm, n.throttled) for n in report.throttled] == [("hubspot", 0)]
    assert report.retry == []
    assert report.retry_after == 10
    # And a notice that waited as often as allowed counts as failing (retried, then dead-lettered)
    hub.crms["hubspot"].fail_calls = 1
    tired = replace(report.throttled[0], throttled=100)
    again = hub.service.write([tired], hub.crms)
    assert again.throttled == []
    assert again.retry == [tired]


def test_a_crm_that_said_to_wait_is_not_called_again_for_the_rest_of_the_batch(hub: Hub) -> None:
    # Given 150 leads changed at once (two HubSpot calls of 100 and 50), and HubSpot answering 429
    for n in range(150):
        hub.hub_sets(f"lead-{n}", T0, email=f"lead{n}@example.com")
    hub.crms["hubspot"].fail_calls = 1
    # When the writer takes the notices
    report = hub.service.write(hub.queue.take(), hub.crms)
    # Then HubSpot was called once: all 150 notices wait out its Retry-After, none was failed
    assert hub.crms["hubspot"].calls == 1
    assert report.calls["hubspot"] == 1
    assert len({n.record_key for n in report.throttled if n.crm == "hubspot"}) == 150
    assert report.retry == []
    # And Salesforce, which said nothing of the kind, took all 150 in one call
    assert report.written["salesforce"] == 150


def test_a_record_erased_while_a_crm_wrote_it_is_deleted_in_that_crm(hub: Hub) -> None:
    from shared.crm.erasure import ErasureNotice

    # Given a new lead whose notices reach the writer
    hub.hub_sets("lead-9", T0, email="ines@example.com", first_name="Ines")
    notices = hub.queue.take()
    hubspot = hub.crms["hubspot"]
    write = hubspot.write

    def erased_meanwhile(writes: Any) -> Any:
        # When the person is erased while HubSpot creates the contact (the erasure saw no HubSpot id to delete)
        answer = write(writes)
        hub.store._records.pop("contact:lead-9")
        return answer

    hubspot.write = erased_meanwhile  # type: ignore[method-assign]
    report = hub.service.write([n for n in notices if n.crm == "hubspot"], hub.crms)
    # Then the contact HubSpot created is to be deleted there, not written again, and the record stays gone
    (created,) = hubspot.records
    assert report.erased_meanwhile == [ErasureNotice("hubspot", "contact", created)]
    assert report.retry == []
    assert hub.store.record("contact:lead-9") is None
