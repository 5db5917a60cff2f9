"""What the hub's events restate does not undo a CRM user's later change: every lead event carries the lead's
stage and every handoff event its rep, and a restatement timed at the event would win over a change a CRM
user made since (last modified wins) and write the old value back to both CRMs. A restatement of the value the
hub told last is nothing new; a real change of the hub's still goes out."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared.crm.hub_changes import hub_update
from shared.events.handoff_events import HANDOFF_EVENT_SOURCE
from shared.events.lead_events import LEAD_EVENT_SOURCE
from tests.unit.test_crm_sync import DANIEL_SF, T0, Hub, captured


def lead_event(at_minutes: int, stage: str, event_id: str) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "event_type": "lead.score_changed",
        "occurred_at": (T0 + timedelta(minutes=at_minutes)).isoformat(),
        "lead_id": "lead-1",
        "email": "ana@example.com",
        "stage": stage,
        "score": 64.5,
        "fit_score": 40,
        "engagement_score": 24.5,
    }


def handoff_event(at_minutes: int, event_type: str, rep_id: str, event_id: str) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "event_type": event_type,
        "occurred_at": (T0 + timedelta(minutes=at_minutes)).isoformat(),
        "handoff_id": "h-1",
        "kind": "lead",
        "lead_id": "lead-1",
        "priority": "priority",
        "status": event_type.removeprefix("handoff."),
        "rep_id": rep_id,
        "team": "sdr-na",
        "actor": rep_id,
        "reason": "test",
    }


def made_an_sql_in_salesforce() -> Hub:
    """A lead synced as an MQL, then made an SQL by a Salesforce user."""
    hub = Hub()
    captured(hub)
    sf_id = hub.crm_id("salesforce", "lead-1")
    hub.crm_reports("salesforce", sf_id, T0 + timedelta(minutes=5), {"RevOps_Lifecycle_Stage__c": "SQL"})
    hub.drain()
    return hub


def hub_changed(hub: Hub, detail: dict[str, Any]) -> None:
    """A lead event of the hub's decided by the sync, and the writer drained."""
    update = hub_update(LEAD_EVENT_SOURCE, detail, hub.directory)
    assert update is not None
    hub.service.hub_changed(update)
    hub.drain()


def test_a_lead_event_restating_the_stage_does_not_undo_a_crm_users_later_stage_change() -> None:
    # Given a lead synced as an MQL, and a Salesforce user who then made it an SQL
    hub = made_an_sql_in_salesforce()
    # When the lead's next score change restates its stage (still MQL in the hub)
    hub_changed(hub, lead_event(10, "MQL", "lead-ev-9"))
    # Then the record keeps the user's SQL, HubSpot has it, Salesforce is not written back to; the score goes out
    record = hub.store.record("contact:lead-1")
    assert record is not None
    assert (record.value("lifecycle_stage"), record.fields["lifecycle_stage"].source) == ("SQL", "salesforce")
    assert record.copy_in("salesforce").agreed["lifecycle_stage"] == "SQL"
    assert record.open_conflicts == {}
    assert hub.in_crm("hubspot", "lead-1")["lifecyclestage"] == "salesqualifiedlead"
    assert hub.in_crm("hubspot", "lead-1")["revops_score"] == "64.5"


def test_a_handoff_event_that_assigns_nobody_does_not_undo_a_crm_users_reassignment() -> None:
    # Given a lead synced with Maya as its owner, then given to Daniel by a Salesforce user
    hub = Hub()
    captured(hub)
    sf_id = hub.crm_id("salesforce", "lead-1")
    hub.crm_reports("salesforce", sf_id, T0 + timedelta(minutes=5), {"OwnerId": DANIEL_SF})
    hub.drain()
    # When Maya's acceptance of the handoff (an event naming her) arrives
    accepted = hub_update(
        HANDOFF_EVENT_SOURCE, handoff_event(10, "handoff.accepted", "sdr-maya-chen", "h-ev-2"), hub.directory
    )
    assert accepted is not None
    hub.service.hub_changed(accepted)
    hub.drain()
    # Then Daniel stays the owner everywhere
    record = hub.store.record("contact:lead-1")
    assert record is not None
    assert record.value("owner") == "ae-daniel-kim"
    assert record.copy_in("salesforce").agreed["owner"] == "ae-daniel-kim"
    assert hub.in_crm("hubspot", "lead-1")["hubspot_owner_id"] == "71000012"
    # And an assignment still changes the owner
    assigned = hub_update(
        HANDOFF_EVENT_SOURCE, handoff_event(20, "handoff.assigned", "sdr-maya-chen", "h-ev-3"), hub.directory
    )
    assert assigned is not None
    assert assigned.values["owner"][0] == "sdr-maya-chen"


def test_a_real_stage_change_of_the_hubs_after_the_users_still_goes_out() -> None:
    # Given a lead synced as an MQL, made an SQL by a Salesforce user, then restated as an MQL by the hub
    hub = made_an_sql_in_salesforce()
    hub_changed(hub, lead_event(10, "MQL", "lead-ev-9"))
    # When the lead really moves on in the hub (an opportunity), later
    hub_changed(hub, lead_event(20, "Opportunity", "lead-ev-10"))
    # Then that change wins and reaches both CRMs
    record = hub.store.record("contact:lead-1")
    assert record is not None
    assert (record.value("lifecycle_stage"), record.fields["lifecycle_stage"].source) == ("Opportunity", "hub")
    assert hub.in_crm("salesforce", "lead-1")["RevOps_Lifecycle_Stage__c"] == "Opportunity"
    assert hub.in_crm("hubspot", "lead-1")["lifecyclestage"] == "opportunity"
