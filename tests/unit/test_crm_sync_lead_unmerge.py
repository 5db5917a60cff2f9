"""CRM sync after an unmerge (lead.unmerged), decided in memory: the lead that comes back writes to the CRMs again,
to the CRM records it had before the merge, or to new ones where its survivor took its record over; the survivor
loses the profile values it held only from the other; in either order with the returning lead's
lead.profile_changed, and a replay changes nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from shared.crm.ports import HubProfile, Link
from shared.events.lead_events import LEAD_EVENT_SOURCE, LeadEvent, LeadEventType
from tests.unit.test_crm_sync import T0, Hub, captured

UNMERGED_AT = T0 + timedelta(hours=1)


@pytest.fixture
def hub() -> Hub:
    return Hub()


def lead_event(
    lead_id: str, event_type: LeadEventType, at: datetime, other: str | None = None, **extra: Any
) -> dict[str, Any]:
    return LeadEvent(
        event_id=LeadEvent.id_for(lead_id, event_type, at.isoformat()),
        event_type=event_type,
        occurred_at=at,
        lead_id=lead_id,
        stage="MQL",
        score=62.5,
        fit_score=40,
        engagement_score=22.5,
        other_lead_id=other,
        **extra,
    ).model_dump(mode="json")


def profile(at: datetime, **values: str) -> HubProfile:
    return HubProfile({name: (value, at) for name, value in values.items()})


def bea_captured(hub: Hub) -> None:
    hub.hub_sets(
        "lead-2",
        T0,
        email="bea@example.org",
        first_name="Bea",
        last_name="Costa",
        lifecycle_stage="MQL",
        score="62.5",
    )
    hub.drain()


def merged_then_unmerged(hub: Hub, profile_first: bool) -> None:
    """Bea (lead-2) merged into Ana (lead-1); while merged, Ana's profile took Bea's job title; then the unmerge,
    with Bea's lead.profile_changed before or after its lead.unmerged events."""
    hub.service.on_bus_event(LEAD_EVENT_SOURCE, lead_event("lead-1", LeadEventType.MERGED, T0, other="lead-2"))
    hub.hub_sets("lead-1", T0 + timedelta(minutes=5), job_title="Buyer")
    hub.drain()
    # the lead store after the unmerge: each side's own profile
    hub.directory.profiles["lead-1"] = profile(T0, email="ana@example.com", first_name="Ana", last_name="Silva")
    hub.directory.profiles["lead-2"] = profile(
        UNMERGED_AT, email="bea@example.org", first_name="Bea", last_name="Costa", job_title="Buyer"
    )
    changed = lead_event("lead-2", LeadEventType.PROFILE_CHANGED, UNMERGED_AT, changed_fields=["job_title"])
    if profile_first:
        hub.service.on_bus_event(LEAD_EVENT_SOURCE, changed)
    for one, other in (("lead-1", "lead-2"), ("lead-2", "lead-1")):
        hub.service.on_bus_event(LEAD_EVENT_SOURCE, lead_event(one, LeadEventType.UNMERGED, UNMERGED_AT, other))
    if not profile_first:
        hub.service.on_bus_event(LEAD_EVENT_SOURCE, changed)
    hub.drain()


@pytest.mark.parametrize("profile_first", [True, False], ids=["profile-change-first", "unmerge-first"])
def test_the_lead_an_unmerge_brings_back_writes_its_own_crm_records_again(hub: Hub, profile_first: bool) -> None:
    # Given Ana and Bea, each in both CRMs, Bea merged into Ana, and the merge undone
    captured(hub)
    bea_captured(hub)
    bea_hubspot, bea_salesforce = hub.crm_id("hubspot", "lead-2"), hub.crm_id("salesforce", "lead-2")
    merged_then_unmerged(hub, profile_first)
    # Then Bea's record is hers again, and her CRM records (the ones she had) have her profile
    bea = hub.store.record("contact:lead-2")
    assert bea is not None
    assert bea.merged_into is None
    assert (hub.crm_id("hubspot", "lead-2"), hub.crm_id("salesforce", "lead-2")) == (bea_hubspot, bea_salesforce)
    assert hub.in_crm("hubspot", "lead-2")["jobtitle"] == "Buyer"
    assert hub.in_crm("salesforce", "lead-2")["Title"] == "Buyer"
    assert hub.in_crm("hubspot", "lead-2")["email"] == "bea@example.org"
    # and Ana's records keep her own profile, without the title that was Bea's
    assert hub.in_crm("hubspot", "lead-1")["email"] == "ana@example.com"
    assert hub.in_crm("hubspot", "lead-1").get("jobtitle") in (None, "")
    assert hub.in_crm("salesforce", "lead-1").get("Title") in (None, "")
    # and what HubSpot reports of Bea's contact is hers again
    routed = hub.crm_reports("hubspot", bea_hubspot, UNMERGED_AT + timedelta(minutes=1), {"lastname": "Costa-Reis"})
    assert routed.record_key == "contact:lead-2"


def test_a_crm_record_the_survivor_took_over_stays_its_and_the_lead_that_comes_back_is_created_anew(
    hub: Hub,
) -> None:
    # Given Bea, made by HubSpot (her contact there) before the hub synced Ana there, merged into Ana
    captured(hub)
    bea_captured(hub)
    ana = hub.store.record("contact:lead-1")
    assert ana is not None
    hubspot_id = ana.copy_in("hubspot").crm_id
    assert hubspot_id is not None
    bea = hub.store.record("contact:lead-2")
    assert bea is not None
    # (as if Ana had no HubSpot contact of her own: the merge hands her Bea's)
    hub.store.commit(ana.with_copy("hubspot", type(ana.copy_in("hubspot"))()))
    merged_then_unmerged(hub, profile_first=False)
    # Then Ana keeps the HubSpot contact she took over, and Bea is created anew there, with her own email
    assert hub.crm_id("hubspot", "lead-1") == bea.copy_in("hubspot").crm_id
    assert hub.crm_id("hubspot", "lead-2") != hub.crm_id("hubspot", "lead-1")
    assert hub.in_crm("hubspot", "lead-2")["email"] == "bea@example.org"
    assert hub.in_crm("hubspot", "lead-2")["jobtitle"] == "Buyer"
    assert hub.in_crm("hubspot", "lead-1")["email"] == "ana@example.com"
    # and in Salesforce, where Ana had her own, Bea's own is hers again
    assert hub.crm_id("salesforce", "lead-2") == bea.copy_in("salesforce").crm_id
    assert hub.store.linked("hubspot", "contact", hub.crm_id("hubspot", "lead-2")) == "contact:lead-2"


def test_a_replayed_unmerge_changes_nothing(hub: Hub) -> None:
    # Given an unmerge the sync decided
    captured(hub)
    bea_captured(hub)
    merged_then_unmerged(hub, profile_first=False)
    # When its lead.unmerged events are replayed (after a CRM user changed Bea's title again)
    hub.crm_reports("hubspot", hub.crm_id("hubspot", "lead-2"), UNMERGED_AT + timedelta(minutes=2), {"jobtitle": "CTO"})
    hub.drain()
    before = {key: hub.store.record(key) for key in ("contact:lead-1", "contact:lead-2")}
    writes = hub.writes
    for one, other in (("lead-1", "lead-2"), ("lead-2", "lead-1")):
        decided = hub.service.on_bus_event(
            LEAD_EVENT_SOURCE, lead_event(one, LeadEventType.UNMERGED, UNMERGED_AT, other)
        )
        assert not decided.notices
    hub.drain()
    # Then nothing changed, and nothing was written
    assert {key: hub.store.record(key) for key in before} == before
    assert hub.writes == writes
    bea = hub.store.record("contact:lead-2")
    assert bea is not None
    assert bea.value("job_title") == "CTO"
    assert bea.merged_into is None


def test_an_unmerge_of_leads_the_sync_never_merged_changes_nothing(hub: Hub) -> None:
    captured(hub)
    bea_captured(hub)
    hub.store.commit(
        hub.store.record("contact:lead-2") or pytest.fail("no record"),
        links=[Link("hubspot", "contact", "never", "contact:lead-2")],
    )
    before = hub.store.record("contact:lead-2")
    decided = hub.service.on_bus_event(
        LEAD_EVENT_SOURCE, lead_event("lead-2", LeadEventType.UNMERGED, UNMERGED_AT, "lead-1")
    )
    assert not decided.notices
    assert hub.store.record("contact:lead-2") == before


def test_a_merge_replayed_after_its_unmerge_merges_nothing_again(hub: Hub) -> None:
    # Given Bea merged into Ana, and the merge undone
    captured(hub)
    bea_captured(hub)
    merged_then_unmerged(hub, profile_first=False)
    before = hub.store.record("contact:lead-2")
    # When the lead.merged event is replayed
    merged = lead_event("lead-1", LeadEventType.MERGED, T0, other="lead-2")
    decided = hub.service.on_bus_event(LEAD_EVENT_SOURCE, merged)
    # Then Bea stays her own
    assert not decided.notices
    assert hub.store.record("contact:lead-2") == before
