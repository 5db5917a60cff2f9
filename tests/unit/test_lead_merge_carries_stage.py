"""A merge keeps how far the person got: the survivor takes the furthest stage of the two (recorded as any stage
move is: a transition and a lead.stage_changed), the earliest start of nurturing and the latest recycle."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.events.canonical import EventType, Subject
from shared.events.lead_events import LeadEventType
from shared.leads.identity import identities
from shared.leads.model import Stage
from tests.unit.test_lead_service import Leads, capture, qualify


@pytest.fixture
def leads() -> Leads:
    return Leads()


def owner(leads: Leads, qualified_id: str) -> str:
    [found] = leads.repo.owners(identities(None, None, [qualified_id])).values()
    return found


def test_a_customer_absorbed_into_an_older_lead_makes_it_a_customer(leads: Leads) -> None:
    # Given a lead captured by email, and later a signed-in user (no email yet) whose deal is won
    known = capture(leads)
    leads.clock.advance(timedelta(hours=1))
    user = Subject(contact_id="segment:u-9")
    leads.service.handle(leads.event(EventType.CONTACT_UPSERTED, user, {"user_id": "u-9"}))
    leads.clock.advance(timedelta(hours=1))
    leads.service.handle(leads.event(EventType.DEAL_WON, user, {}))
    customer = owner(leads, "segment:u-9")
    won_at = leads.contact(customer).stage_entered_at
    assert leads.contact(customer).stage is Stage.CUSTOMER
    leads.clock.advance(timedelta(hours=1))
    # When the user identifies with the captured email: the two merge into the older lead
    identify = leads.event(EventType.CONTACT_UPSERTED, Subject(contact_id="segment:u-9", email="ada@acme.io"), {})
    leads.service.handle(identify)
    # Then the survivor is a Customer since the deal was won, and its history and the bus say so
    survivor = leads.contact(known)
    assert customer in survivor.members
    assert (survivor.stage, survivor.stage_entered_at) == (Stage.CUSTOMER, won_at)
    last = leads.repo.history(known).transitions[-1]
    assert (last.from_stage, last.to_stage, last.at) == (Stage.LEAD, Stage.CUSTOMER, won_at)
    [moved] = [e for e in leads.published(LeadEventType.STAGE_CHANGED) if e.lead_id == known and e.stage == "Customer"]
    assert moved.previous_stage == "Lead"
    assert customer in (moved.reason or "")
    # and no MQL is told again for the person (it never was one; a stage never moves back)
    mqls = len(leads.published(LeadEventType.MQL_REACHED))
    qualify(leads, Subject(email="ada@acme.io"))
    assert leads.contact(known).stage is Stage.CUSTOMER
    assert len(leads.published(LeadEventType.MQL_REACHED)) == mqls


def test_the_survivor_keeps_the_earliest_start_of_nurturing_and_the_latest_recycle(leads: Leads) -> None:
    # Given an anonymous visitor (the oldest contact), then a captured lead that sales recycled
    leads.engage(Subject(contact_id="segment-anonymous:anon-5"), "page_view", path="/blog")
    visitor = owner(leads, "segment-anonymous:anon-5")
    leads.clock.advance(timedelta(hours=1))
    captured = capture(leads)
    lead_since = leads.contact(captured).lead_since
    leads.clock.advance(timedelta(minutes=30))
    recycled = leads.clock.now()
    leads.service.handoff_recycled(captured, recycled)
    # and the visitor signs in (a known user since now, so a Lead from now)
    leads.clock.advance(timedelta(hours=1))
    leads.service.handle(
        leads.event(
            EventType.CONTACT_UPSERTED, Subject(contact_id="segment:u-5"), {"user_id": "u-5", "anonymous_id": "anon-5"}
        )
    )
    assert leads.contact(visitor).lead_since == leads.clock.now()
    # When the user gives the captured email: the two merge into the older one, the visitor
    leads.clock.advance(timedelta(hours=1))
    leads.service.handle(
        leads.event(
            EventType.CONTACT_UPSERTED, Subject(contact_id="segment:u-5", email="ada@acme.io"), {"user_id": "u-5"}
        )
    )
    # Then it has been nurtured since the captured lead was, and was recycled when that one was
    survivor = leads.contact(visitor)
    assert captured in survivor.members
    assert (survivor.lead_since, survivor.recycled_at) == (lead_since, recycled)
