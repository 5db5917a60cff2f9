"""A lead event tells of its lead as the change that made it leaves it: lead.merged and lead.unmerged carry the
score and stage after the rescore that follows, and a lead.score_changed that reaches MQL says MQL. Their ids
stay what they were (derived from the merge, the unmerge, the score), so a redo publishes the same ids."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.events.canonical import EventType, Subject
from shared.events.lead_events import LeadEvent, LeadEventType
from shared.leads.model import Contact
from tests.unit.test_lead_service import Leads, capture, make_icp, qualify


@pytest.fixture
def leads() -> Leads:
    return Leads()


def told_as(event: LeadEvent, contact: Contact) -> None:
    assert contact.score is not None
    assert (event.stage, event.score, event.fit_score, event.engagement_score, event.model_version) == (
        contact.stage.value,
        contact.score.total,
        contact.score.fit,
        contact.score.engagement,
        contact.score.model_version,
    )


def merged_visitor(leads: Leads) -> tuple[str, LeadEvent]:
    """A visitor with three page views merged into a captured lead, and the lead.merged that told it."""
    known = capture(leads)
    for path in ("/a", "/b", "/c"):
        leads.engage(Subject(contact_id="segment-anonymous:anon-7"), "page_view", path=path)
    identify = {"anonymous_id": "anon-7", "user_id": "u-1", "traits": {"email": "ada@acme.io"}}
    leads.service.handle(
        leads.event(EventType.CONTACT_UPSERTED, Subject(contact_id="segment:u-1", email="ada@acme.io"), identify)
    )
    [merged] = leads.published(LeadEventType.MERGED)
    return known, merged


def test_lead_merged_carries_the_score_the_merge_leads_to(leads: Leads) -> None:
    # Given a captured lead scored without the visitor's page views
    # When the visitor identifies with its email and the two merge
    known, merged = merged_visitor(leads)
    # Then lead.merged tells the survivor's score with the page views, as stored
    survivor = leads.contact(known)
    [rescored] = [e for e in leads.published(LeadEventType.SCORE_CHANGED) if e.lead_id == known][-1:]
    assert rescored.previous_score is not None
    assert rescored.score > rescored.previous_score
    told_as(merged, survivor)
    # and its id is still the merge's own
    [merge] = leads.repo.history(known).merges
    assert merged.event_id == LeadEvent.id_for(known, LeadEventType.MERGED, merge.merge_id)


def test_lead_unmerged_carries_each_sides_score_after_the_unmerge(leads: Leads) -> None:
    # Given a visitor merged into a captured lead
    known, _ = merged_visitor(leads)
    merged_total = leads.contact(known).score.total
    [visitor] = leads.contact(known).members
    # When the merge is undone
    leads.clock.advance(timedelta(minutes=5))
    leads.service.unmerge(known)
    # Then each side's lead.unmerged tells its score without the other's log, as stored
    survivor = leads.contact(known)
    assert survivor.score is not None
    assert survivor.score.total != merged_total
    events = {e.lead_id: e for e in leads.published(LeadEventType.UNMERGED)}
    told_as(events[known], survivor)
    told_as(events[visitor], leads.contact(visitor))


def test_the_score_change_that_reaches_mql_says_mql(leads: Leads) -> None:
    # Given an ICP lead
    subject = make_icp(leads, "ada@acme.io")
    # When engagement qualifies them
    qualify(leads, subject)
    # Then the score change that reached MQL tells the stage it reached
    [reached] = leads.published(LeadEventType.MQL_REACHED)
    [scored] = [
        e
        for e in leads.published(LeadEventType.SCORE_CHANGED)
        if e.cause_event_id == reached.cause_event_id and e.lead_id == reached.lead_id
    ]
    assert scored.stage == "MQL"
