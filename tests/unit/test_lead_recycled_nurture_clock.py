"""A lead sales recycle goes back to nurture as any lead entering it does: its nurturing starts again at the
recycle, the hourly nurture clock rescores it (a recycled SQL too, though it stays an SQL), and an MQL's standard
handoff comes due 14 days of nurturing after the recycle, without waiting for the lead's next event."""

from __future__ import annotations

from datetime import timedelta

from shared.events.canonical import Subject
from shared.events.lead_events import LeadEvent, LeadEventType
from shared.leads.model import Stage
from shared.leads.nurture import rescore_nurtured
from tests.lead_fakes import InMemoryNurtureCursors
from tests.unit.test_lead_nurture_clock import leads_captured, mqls, rescored_since, standard_handoffs
from tests.unit.test_lead_service import Leads

NURTURE = timedelta(days=14)


def handoffs(leads: Leads) -> list[LeadEvent]:
    return leads.published(LeadEventType.HANDOFF_REQUESTED)


def recycled_sql(leads: Leads) -> str:
    """An MQL handed off by the clock after 14 days of nurturing, accepted by sales (an SQL), recycled 2 days on."""
    [lead] = mqls(leads, 1)
    leads.clock.advance(timedelta(days=8))
    rescore_nurtured(leads.service)
    [first] = handoffs(leads)
    assert (first.lead_id, first.priority) == (lead, "standard")
    leads.service.handoff_accepted(lead, first.event_id)
    assert leads.contact(lead).stage is Stage.SQL
    leads.clock.advance(timedelta(days=2))
    leads.service.handoff_recycled(lead, leads.clock.now())
    return lead


def test_the_clock_rescores_a_recycled_sql_and_waits_14_days_of_nurturing_from_the_recycle() -> None:
    # Given an SQL sales recycled, and another SQL sales keep
    leads = Leads()
    lead = recycled_sql(leads)
    [kept] = leads_captured(leads, 1)
    leads.service.handoff_accepted(kept, "h-kept")
    # When the clock runs an hour after the recycle
    leads.clock.advance(timedelta(hours=1))
    summary = rescore_nurtured(leads.service)
    # Then the recycled SQL is rescored, and the SQL sales keep is not
    assert rescored_since(leads, [lead, kept], leads.clock.now()) == {lead}
    assert summary["rescored"] == 1
    # but it is not handed off yet: it has been nurtured for an hour since the recycle, not 14 days
    assert len(handoffs(leads)) == 1
    assert leads.contact(lead).stage is Stage.SQL


def test_a_recycled_sql_still_an_mql_is_handed_off_again_by_the_clock_14_days_after_the_recycle() -> None:
    # Given an SQL sales recycled, that still meets the MQL criteria
    leads = Leads()
    lead = recycled_sql(leads)
    recycled_at = leads.clock.now()
    cursors = InMemoryNurtureCursors()
    # When the hourly clock runs through the 14 days after the recycle, and no event comes
    leads.clock.advance(NURTURE - timedelta(hours=1))
    rescore_nurtured(leads.service, cursors=cursors)
    assert len(handoffs(leads)) == 1
    leads.clock.advance(timedelta(hours=1))
    summary = rescore_nurtured(leads.service, cursors=cursors)
    # Then its standard handoff is requested again once they are up, as another event than the first
    first, again = handoffs(leads)
    assert (again.lead_id, again.priority, again.occurred_at) == (lead, "standard", recycled_at + NURTURE)
    assert again.event_id != first.event_id
    assert summary["handoffs"] == 1
    assert standard_handoffs(leads) == [lead, lead]
    # And, handed to sales again, it is off the clock until they recycle it again
    leads.clock.advance(timedelta(hours=1))
    assert rescore_nurtured(leads.service, cursors=cursors)["rescored"] == 0
    assert len(handoffs(leads)) == 2


def test_a_recycled_sql_first_handed_off_by_a_buying_signal_is_not_handed_off_at_once_by_time() -> None:
    # Given an MQL handed off for a demo request, accepted, and recycled when its first nurturing is 16 days old
    leads = Leads()
    [lead] = mqls(leads, 1)
    subject = leads.contact(lead)
    leads.engage(subject_of(subject.email), "demo_request")
    [first] = handoffs(leads)
    assert first.priority == "priority"
    leads.service.handoff_accepted(lead, first.event_id)
    leads.clock.advance(timedelta(days=10))
    leads.service.handoff_recycled(lead, leads.clock.now())
    # When, an hour after the recycle, the person reads a blog post and the clock runs
    leads.clock.advance(timedelta(hours=1))
    leads.engage(subject_of(subject.email), "page_view", path="/blog/after")
    rescore_nurtured(leads.service)
    # Then no standard handoff is requested: its nurturing started again at the recycle
    assert standard_handoffs(leads) == []
    # until 14 days of it are up, when the clock hands it off
    leads.clock.advance(NURTURE)
    rescore_nurtured(leads.service)
    assert standard_handoffs(leads) == [lead]


def subject_of(email: str | None) -> Subject:
    assert email is not None
    return Subject(email=email)
