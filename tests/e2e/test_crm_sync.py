"""CRM sync on the running hub, as issue 14's "done when" reads, with the real SDKs talking to the hub's HubSpot
and Salesforce emulators and the emulators' webhooks coming back signed as the vendors sign them: a captured
lead appears in both CRMs with its score and stage; an owner change in Salesforce reaches the hub and HubSpot
with its audit entries; an older value arriving late loses; a conflicting email change is flagged, not applied,
and a person resolves it; both sides changing one record come to rest equal with a bounded number of writes; a
CRM outage followed by recovery loses nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.conftest import eventually, settle, started_hub, token
from tests.e2e.customers import Customer

HUBSPOT = "/_local/crm/hubspot"
SALESFORCE = "/_local/crm/salesforce"
DANIEL = {"hub": "ae-daniel-kim", "hubspot": "71000012", "salesforce": "005000000000012AAA"}
SALES_OPS_USER = "005000000000099AAA"  # a person in Salesforce, not the hub's integration user


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    state = tmp_path_factory.mktemp("crm") / "hub.json"
    with started_hub(Path(state)) as (url, _):
        yield url


def api(hub: str, method: str, path: str, group: str = "sales", **kwargs: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {token(group)}"}
    return requests.request(method, f"{hub}{path}", headers=headers, timeout=30, **kwargs)


class Lead:
    """A lead captured through the API, and where it is in the hub and in each CRM."""

    def __init__(self, hub: str, title: str = "VP Revenue") -> None:
        self.hub = hub
        run = uuid.uuid4().hex[:8]
        self.email = f"ana.silva.{run}@kestrel-{run}.io"
        body = {
            "email": self.email,
            "source": "webinar",
            "first_name": "Ana",
            "last_name": "Silva",
            "company": f"Kestrel {run}",
            "job_title": title,
            "employee_count": 800,
            "industry": "Software",
            "country": "US",
        }
        captured = api(hub, "POST", "/api/v1/integrations/sales/leads", group="marketing", json=body)
        assert captured.status_code in (200, 201), captured.text
        self.lead_id = captured.json()["lead_id"]

    @property
    def record(self) -> str:
        return f"contact:{self.lead_id}"

    def profile(self) -> dict[str, Any]:
        """The lead's profile as the lead API shows it (what scoring reads)."""
        view: dict[str, Any] = api(self.hub, "GET", f"/api/v1/leads/{self.lead_id}").json()
        return dict(view["profile"])

    def synced(self) -> dict[str, Any] | None:
        answer = api(self.hub, "GET", f"/api/v1/sync/records?record={self.record}")
        return answer.json() if answer.status_code == 200 else None

    def hub_value(self, field: str) -> str | None:
        synced = self.synced()
        return synced["fields"].get(field, {}).get("value") if synced else None

    def in_hubspot(self) -> dict[str, Any] | None:
        records = requests.get(f"{self.hub}{HUBSPOT}/_records/contacts", timeout=10).json()["records"]
        found = [r for r in records if r["properties"].get("email") in (self.email, self._email_now())]
        return found[0] if found else None

    def in_salesforce(self) -> dict[str, Any] | None:
        synced = self.synced()
        sf_id = synced["crms"].get("salesforce", {}).get("id") if synced else None
        if not sf_id:
            return None
        records = requests.get(f"{self.hub}{SALESFORCE}/_records/Lead", timeout=10).json()["records"]
        return next((r for r in records if r["Id"] == sf_id), None)

    def hubspot_id(self) -> str:
        synced = eventually(
            lambda: self.synced() if (self.synced() or {}).get("crms", {}).get("hubspot", {}).get("id") else None
        )
        return str(synced["crms"]["hubspot"]["id"])

    def salesforce_id(self) -> str:
        synced = eventually(
            lambda: self.synced() if (self.synced() or {}).get("crms", {}).get("salesforce", {}).get("id") else None
        )
        return str(synced["crms"]["salesforce"]["id"])

    def audit(self) -> list[dict[str, Any]]:
        answer = api(self.hub, "GET", f"/api/v1/sync/audit?record={self.record}&limit=200")
        assert answer.status_code == 200, answer.text
        return list(answer.json()["items"])

    def _email_now(self) -> str | None:
        return self.hub_value("email")


def salesforce_edit(hub: str, lead: Lead, fields: dict[str, Any], modified_at: datetime | None = None) -> None:
    body: dict[str, Any] = {
        "sobject": "Lead",
        "id": lead.salesforce_id(),
        "fields": fields,
        "modified_by": SALES_OPS_USER,
    }
    if modified_at is not None:
        body["modified_at"] = modified_at.isoformat()
    answer = requests.post(f"{hub}{SALESFORCE}/_edits", json=body, timeout=10)
    assert answer.status_code == 200, answer.text


def hubspot_edit(hub: str, lead: Lead, properties: dict[str, Any], occurred_at: datetime | None = None) -> None:
    body: dict[str, Any] = {"object": "contacts", "id": lead.hubspot_id(), "properties": properties, "user_id": 4321}
    if occurred_at is not None:
        body["occurred_at"] = occurred_at.isoformat()
    answer = requests.post(f"{hub}{HUBSPOT}/_edits", json=body, timeout=10)
    assert answer.status_code == 200, answer.text


def outage(hub: str, crm: str, down: bool) -> None:
    path = HUBSPOT if crm == "hubspot" else SALESFORCE
    assert requests.post(f"{hub}{path}/_faults", json={"outage": down}, timeout=10).status_code == 200


def test_a_captured_lead_appears_in_both_crms_with_its_score_and_stage(hub: str) -> None:
    # When a lead is captured
    lead = Lead(hub)
    # Then HubSpot has the contact, with the hub's score and stage in its own values
    contact = eventually(lambda: (c := lead.in_hubspot()) and c["properties"].get("revops_score") and c)
    assert contact["properties"]["firstname"] == "Ana"
    assert contact["properties"]["lifecyclestage"] in ("lead", "marketingqualifiedlead", "subscriber")
    # And Salesforce has the Lead, with the same score and stage
    sf = eventually(lambda: (r := lead.in_salesforce()) and r.get("RevOps_Score__c") is not None and r)
    assert sf["Email"] == lead.email
    assert str(sf["RevOps_Score__c"]).rstrip("0").rstrip(".") == contact["properties"]["revops_score"].rstrip(
        "0"
    ).rstrip(".")
    assert sf["RevOps_Lifecycle_Stage__c"] == lead.hub_value("lifecycle_stage")
    # And the lead's own view shows its CRM ids and the audit of what the hub set
    view = api(hub, "GET", f"/api/v1/leads/{lead.lead_id}", group="sales").json()
    assert view["crm_sync"]["crm_ids"]["hubspot"] == contact["id"]
    assert {e["field"] for e in view["crm_sync"]["audit"]} >= {"email", "score", "lifecycle_stage"}
    # And Salesforce making the hub's integration user the new Lead's owner (the creator owns what it creates) is
    # no owner change: once quiet, no audit entry names an owner from Salesforce
    settle(hub)
    assert [e for e in lead.audit() if e["field"] == "owner" and e["source"] == "salesforce"] == []


def test_an_owner_change_in_salesforce_reaches_the_hub_and_hubspot_with_its_audit_entries(hub: str) -> None:
    # Given a lead synced to both CRMs
    lead = Lead(hub)
    eventually(lambda: (c := lead.in_hubspot()) and c["properties"].get("revops_score"))
    # When a sales ops user gives the Lead to Daniel in Salesforce
    salesforce_edit(hub, lead, {"OwnerId": DANIEL["salesforce"]})
    # Then the hub's record names Daniel, from Salesforce
    eventually(lambda: lead.hub_value("owner") == DANIEL["hub"])
    # And HubSpot's contact is Daniel's
    eventually(lambda: (c := lead.in_hubspot()) and c["properties"].get("hubspot_owner_id") == DANIEL["hubspot"])
    # And the audit trail says who changed it, where, by which rule
    entry = next(e for e in lead.audit() if e["field"] == "owner" and e["source"] == "salesforce")
    assert (entry["outcome"], entry["rule"], entry["new_value"]) == ("applied", "last_modified_wins", DANIEL["hub"])
    assert entry["actor"] == f"salesforce:{SALES_OPS_USER}"
    # And the change was published for the hub's other domains
    events = requests.get(f"{hub}/_local/events?detail-type=sync.field_changed", timeout=10).json()
    assert any(e["detail"]["record"] == lead.record and e["detail"]["field"] == "owner" for e in events)


def test_an_older_value_arriving_late_loses(hub: str) -> None:
    # Given a lead whose title a Salesforce user changed just now
    lead = Lead(hub)
    eventually(lambda: (c := lead.in_hubspot()) and c["properties"].get("revops_score"))
    salesforce_edit(hub, lead, {"Title": "Chief Revenue Officer"})
    eventually(lambda: lead.hub_value("job_title") == "Chief Revenue Officer")
    eventually(lambda: lead.profile()["job_title"] == "Chief Revenue Officer")  # through sync.field_changed
    eventually(lambda: (c := lead.in_hubspot()) and c["properties"].get("jobtitle") == "Chief Revenue Officer")
    # When HubSpot reports a title change a user made an hour ago, arriving only now
    hubspot_edit(hub, lead, {"jobtitle": "Sales Manager"}, occurred_at=datetime.now(UTC) - timedelta(hours=1))
    # Then it loses: the later title stands in the hub (the lead itself too) and goes back to HubSpot
    kept = eventually(lambda: [e for e in lead.audit() if e["outcome"] == "kept" and e["field"] == "job_title"])
    assert kept[0]["losing_value"] == "Sales Manager"
    assert kept[0]["new_value"] == "Chief Revenue Officer"
    assert lead.hub_value("job_title") == "Chief Revenue Officer"
    settle(hub)
    assert lead.profile()["job_title"] == "Chief Revenue Officer"
    eventually(lambda: (c := lead.in_hubspot()) and c["properties"].get("jobtitle") == "Chief Revenue Officer")


def test_a_stage_a_hubspot_user_sets_moves_the_lead_and_reaches_salesforce(hub: str) -> None:
    # Given a lead synced to both CRMs at stage Lead
    lead = Lead(hub, title="Intern")
    eventually(lambda: (r := lead.in_salesforce()) and r.get("RevOps_Lifecycle_Stage__c") == "Lead")
    # When a HubSpot user marks the contact sales-qualified
    hubspot_edit(hub, lead, {"lifecyclestage": "salesqualifiedlead"})
    # Then the hub's lead is an SQL, set in HubSpot, and Salesforce's Lead says SQL too
    view = eventually(lambda: (v := api(hub, "GET", f"/api/v1/leads/{lead.lead_id}").json())["stage"] == "SQL" and v)
    assert view["stage"] == "SQL"
    changed = requests.get(f"{hub}/_local/events?detail-type=lead.stage_changed", timeout=10).json()
    [moved] = [e for e in changed if e["detail"]["lead_id"] == lead.lead_id and e["detail"]["stage"] == "SQL"]
    assert "set in hubspot, through the CRM sync" in moved["detail"]["reason"]
    eventually(lambda: (r := lead.in_salesforce()) and r.get("RevOps_Lifecycle_Stage__c") == "SQL")
    # And once quiet, the stage came back to the CRMs as nothing new: HubSpot keeps it, no conflict is open
    settle(hub)
    assert (lead.in_hubspot() or {})["properties"]["lifecyclestage"] == "salesqualifiedlead"
    assert api(hub, "GET", f"/api/v1/leads/{lead.lead_id}").json()["crm_sync"]["open_conflicts"] == {}


def test_a_conflicting_email_change_is_flagged_not_applied_and_resolved_by_a_person(hub: str) -> None:
    # Given a lead synced to both CRMs, and HubSpot unreachable for a while
    lead = Lead(hub)
    eventually(lambda: (c := lead.in_hubspot()) and c["properties"].get("revops_score"))
    hubspot_id = lead.hubspot_id()
    outage(hub, "hubspot", True)
    try:
        # And a Salesforce user changed the email (the hub takes it; HubSpot cannot hear of it yet)
        salesforce_email = f"ana@silva-{uuid.uuid4().hex[:6]}.dev"
        salesforce_edit(hub, lead, {"Email": salesforce_email})
        eventually(lambda: lead.hub_value("email") == salesforce_email)
        eventually(lambda: lead.profile()["email"] == salesforce_email)  # the lead too, through the sync
        # When a HubSpot user changes the email to another address meanwhile
        hubspot_email = f"ana.silva@other-{uuid.uuid4().hex[:6]}.dev"
        requests.post(
            f"{hub}{HUBSPOT}/_edits",
            json={"object": "contacts", "id": hubspot_id, "properties": {"email": hubspot_email}, "user_id": 4321},
            timeout=10,
        ).raise_for_status()
        # Then a conflict is flagged for a person and published, and nothing is applied
        conflict = eventually(
            lambda: next(
                (
                    c
                    for c in api(hub, "GET", "/api/v1/sync/conflicts?status=open").json()["items"]
                    if c["record"] == lead.record
                ),
                None,
            )
        )
        assert (conflict["field"], conflict["crm"]["value"], conflict["hub"]["value"]) == (
            "email",
            hubspot_email,
            salesforce_email,
        )
        assert lead.hub_value("email") == salesforce_email
        flagged = requests.get(f"{hub}/_local/events?detail-type=sync.conflict_flagged", timeout=10).json()
        assert any(e["detail"]["conflict_id"] == conflict["conflict_id"] for e in flagged)
    finally:
        outage(hub, "hubspot", False)
    # And once HubSpot answers again, the email waits: HubSpot keeps its user's address
    settle(hub)
    assert requests.get(f"{hub}{HUBSPOT}/_records/contacts", timeout=10).json()
    assert lead.synced()["open_conflicts"] == {"email": conflict["conflict_id"]}
    # And the lead itself kept the hub's address (HubSpot's webhook reached the lead processor too)
    assert lead.profile()["email"] == salesforce_email
    # When sales ops keeps the hub's (Salesforce's) address
    path = f"/api/v1/sync/conflicts/{conflict['conflict_id']}/resolve"
    assert api(hub, "POST", path, group="marketing", json={"choose": "hub"}).status_code == 403
    resolved = api(hub, "POST", path, json={"choose": "hub"})
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["status"] == "resolved"
    # Then both CRMs get it
    eventually(
        lambda: any(
            r["id"] == hubspot_id and r["properties"].get("email") == salesforce_email
            for r in requests.get(f"{hub}{HUBSPOT}/_records/contacts", timeout=10).json()["records"]
        )
    )
    assert api(hub, "POST", path, json={"value": "someone@else.dev"}).status_code == 409
    settle(hub)
    assert lead.profile()["email"] == salesforce_email


def test_both_sides_changing_one_record_come_to_rest_equal_with_bounded_writes(hub: str) -> None:
    # Given a lead synced to both CRMs
    lead = Lead(hub)
    eventually(lambda: (c := lead.in_hubspot()) and c["properties"].get("revops_score"))
    lead.salesforce_id()
    settle(hub)
    before = _calls(hub)
    # When people in both CRMs keep changing its title and name, one after the other, quickly
    titles = ["Head of Sales", "CRO", "VP Sales", "Sales Director", "COO", "CEO"]
    for n, title in enumerate(titles):
        if n % 2:
            hubspot_edit(hub, lead, {"jobtitle": title, "firstname": f"Ana{n}"})
        else:
            salesforce_edit(hub, lead, {"Title": title, "FirstName": f"Ana{n}"})
    # Then everything comes to rest with both CRMs and the hub equal (which change stands depends on when each
    # CRM's webhook lands: changes seconds apart in two CRMs are a race that last-modified-wins settles)
    settle(hub)

    def equal() -> bool:
        hubspot, salesforce = lead.in_hubspot(), lead.in_salesforce()
        if not hubspot or not salesforce:
            return False
        titles_now = {hubspot["properties"].get("jobtitle"), salesforce.get("Title"), lead.hub_value("job_title")}
        names = {hubspot["properties"].get("firstname"), salesforce.get("FirstName"), lead.hub_value("first_name")}
        return len(titles_now) == 1 and len(names) == 1

    eventually(equal)
    assert lead.hub_value("job_title") in titles
    # And the hub wrote a bounded number of times: at most once per change per CRM, no echo loop
    settle(hub)
    after = _calls(hub)
    writes = {crm: after[crm] - before[crm] for crm in after}
    assert writes["hubspot"] <= len(titles) + 2, writes
    assert writes["salesforce"] <= len(titles) + 2, writes
    settle(hub)
    assert _calls(hub) == after  # at rest: nothing more is written


def test_a_crm_outage_followed_by_recovery_loses_nothing(hub: str) -> None:
    # Given Salesforce down
    outage(hub, "salesforce", True)
    try:
        # When three leads are captured meanwhile
        leads = [Lead(hub, title=f"Director {n}") for n in range(3)]
        eventually(lambda: all(lead.in_hubspot() for lead in leads))
        assert all(lead.in_salesforce() is None for lead in leads)
    finally:
        # And Salesforce comes back
        outage(hub, "salesforce", False)
    # Then every lead reaches it, with its title
    for lead in leads:
        eventually(lambda lead=lead: (r := lead.in_salesforce()) and r.get("Title") == lead_title(lead) and r)
    # And nothing was dead-lettered
    dead = requests.post(f"{hub}/_local/redrive/crm-sync-changes-dlq", timeout=10).json()
    assert dead.get("redriven", 0) == 0, dead


def lead_title(lead: Lead) -> str | None:
    return lead.hub_value("job_title")


def _calls(hub: str) -> dict[str, int]:
    """The CRM API calls each emulator has served (its counter of every call)."""
    return {
        "hubspot": requests.get(f"{hub}{HUBSPOT}/_calls", timeout=10).json()["count"],
        "salesforce": sum(
            1 for c in requests.get(f"{hub}{SALESFORCE}/_calls", timeout=10).json()["calls"] if not c.get("token")
        ),
    }


def test_the_sync_routes_refuse_callers_without_a_group_that_may(hub: str) -> None:
    assert requests.get(f"{hub}/api/v1/sync/conflicts", timeout=10).status_code == 401
    assert api(hub, "GET", "/api/v1/sync/conflicts", group="finance").status_code == 403
    assert api(hub, "GET", "/api/v1/sync/records?record=contact:nobody").status_code == 404
    bad = api(hub, "POST", "/api/v1/sync/conflicts/abc123/resolve", json={"choose": "hub", "value": "x"})
    assert bad.status_code in (404, 422)


def test_an_accounts_expansion_signal_becomes_one_task_on_it_in_each_crm(hub: str) -> None:
    # Given a customer using 19 of its 20 seats across six features, and a promoter: ready to expand
    osprey = Customer(hub)
    osprey.stripe(
        "customer.created", {"object": "customer", "id": osprey.customer, "email": osprey.email, "name": "Osprey"}
    )
    eventually(lambda: osprey.known_as(osprey.domain))
    answer = osprey.usage(
        "usage-1", active=19, seats=20, features=6, names=["reports", "dashboards", "alerts", "api", "sso", "exports"]
    )
    assert answer.status_code == 201
    osprey.nps(9)
    settle(hub)
    (signal,) = osprey.success_events("customer.expansion_signal")
    signal_id = signal["detail"]["event_id"]
    record = f"expansion:{signal_id}"
    # When the sync has written it (the account first, where the hub holds it)
    synced = eventually(
        lambda: (
            (view := api(hub, "GET", f"/api/v1/sync/records?record={record}")).status_code == 200
            and all((view.json()["crms"].get(crm) or {}).get("id") for crm in ("hubspot", "salesforce"))
            and view.json()
        )
    )
    account = api(hub, "GET", f"/api/v1/sync/records?record=account:{signal['detail']['tenant_id']}").json()
    # Then HubSpot has one task for the signal, associated with the account's company
    tasks = requests.get(f"{hub}{HUBSPOT}/_records/tasks", timeout=10).json()["records"]
    [task] = [t for t in tasks if t["properties"].get("revops_signal_id") == signal_id]
    assert task["id"] == synced["crms"]["hubspot"]["id"]
    assert task["properties"]["hs_task_status"] == "NOT_STARTED"
    assert task["properties"]["hs_task_subject"].startswith("Expansion: ")
    # And Salesforce one Task related to the account's Account
    sf_tasks = requests.get(f"{hub}{SALESFORCE}/_records/Task", timeout=10).json()["records"]
    [sf_task] = [t for t in sf_tasks if t["RevOps_Signal_Id__c"] == signal_id]
    assert sf_task["WhatId"] == account["crms"]["salesforce"]["id"]


def test_a_hubspot_users_company_for_a_contact_becomes_its_leads_account_through_the_sync(hub: str) -> None:
    # Given a lead synced to HubSpot, and a company in HubSpot the lead is not at
    lead = Lead(hub)
    eventually(lambda: (c := lead.in_hubspot()) and c["properties"].get("revops_score"))
    before = api(hub, "GET", f"/api/v1/leads/{lead.lead_id}").json()["account_id"]
    run = uuid.uuid4().hex[:8]
    company = requests.post(
        f"{hub}{HUBSPOT}/crm/v3/objects/companies",
        json={"properties": {"name": f"Heron {run}", "domain": f"heron-{run}.io"}},
        headers={"Authorization": "Bearer pat-local-hubspot-dev-only"},
        timeout=10,
    )
    assert company.status_code == 201, company.text
    company_id = str(company.json()["id"])
    # HubSpot's webhooks of the new company make its account in the hub (a company the hub had not heard of would
    # join the lead's own domain account instead, as the webhook naming it always made it)
    settle(hub)
    # When a HubSpot user makes it the contact's company (its associatedcompanyid), and the hub did not move it
    hubspot_edit(hub, lead, {"associatedcompanyid": company_id})
    # Then the sync applies it (a critical field only HubSpot changed), audited, and the lead takes it from there
    moved = eventually(
        lambda: (account := api(hub, "GET", f"/api/v1/leads/{lead.lead_id}").json()["account_id"]) != before and account
    )
    settle(hub)
    assert lead.hub_value("account") in (moved, f"hubspot:{company_id}")
    [entry] = [e for e in lead.audit() if e["field"] == "account" and e["source"] == "hubspot"]
    assert (entry["outcome"], entry["rule"]) == ("applied", "last_modified_wins")
    assert lead.synced()["open_conflicts"] == {}


def _profile_changes(hub: str, lead: Lead) -> list[dict[str, Any]]:
    """The lead.profile_changed events the hub published about the lead (their `detail`)."""
    events = requests.get(f"{hub}/_local/events?detail-type=lead.profile_changed", timeout=10).json()
    return [e["detail"] for e in events if e["detail"]["lead_id"] == lead.lead_id]


def test_a_new_last_name_from_zendesk_reaches_both_crms(hub: str) -> None:
    # Given a lead synced to both CRMs
    lead = Lead(hub)
    eventually(lambda: (c := lead.in_hubspot()) and c["properties"].get("revops_score"))
    eventually(lambda: (r := lead.in_salesforce()) and r.get("LastName") == "Silva")
    settle(hub)
    # When Zendesk reports her as a user with a new last name (which moves neither her score nor her stage)
    requester = str(uuid.uuid4().int % 10**9)
    detail = {"id": requester, "email": lead.email, "name": "Ana Moreira", "role": "end-user"}
    Customer(hub).zendesk("user.created", datetime.now(UTC), detail)
    # Then the lead holds it, and HubSpot's contact and Salesforce's Lead get the new name
    eventually(lambda: lead.profile().get("last_name") == "Moreira")
    eventually(lambda: (c := lead.in_hubspot()) and c["properties"].get("lastname") == "Moreira")
    eventually(lambda: (r := lead.in_salesforce()) and r.get("LastName") == "Moreira")
    assert lead.hub_value("last_name") == "Moreira"
    # And the hub told the bus which field changed, not to what
    [told] = _profile_changes(hub, lead)
    assert told["changed_fields"] == ["last_name"]
    assert "Moreira" not in str(told)


def test_a_name_change_made_in_hubspot_reaches_salesforce_and_does_not_bounce_back_into_hubspot(hub: str) -> None:
    # Given a lead synced to both CRMs, the hub at rest
    lead = Lead(hub)
    eventually(lambda: (c := lead.in_hubspot()) and c["properties"].get("revops_score"))
    eventually(lambda: (r := lead.in_salesforce()) and r.get("LastName") == "Silva")
    settle(hub)
    before = _calls(hub)
    # When a HubSpot user changes her last name
    hubspot_edit(hub, lead, {"lastname": "Moreira"})
    # Then the lead takes it through the sync, and tells the bus of its new profile
    eventually(lambda: lead.profile().get("last_name") == "Moreira")
    [told] = eventually(lambda: _profile_changes(hub, lead))
    assert told["changed_fields"] == ["last_name"]
    # And Salesforce's Lead gets it
    eventually(lambda: (r := lead.in_salesforce()) and r.get("LastName") == "Moreira")
    # And once quiet, the hub never wrote HubSpot: the lead's profile change is HubSpot's own value, no echo
    settle(hub)
    after = _calls(hub)
    assert after["hubspot"] == before["hubspot"], after
    assert (lead.in_hubspot() or {})["properties"]["lastname"] == "Moreira"
    hub_writes = [e for e in lead.audit() if e["field"] == "last_name" and e["source"] == "hub"]
    assert [e["new_value"] for e in hub_writes if e["new_value"] == "Moreira"] == []
