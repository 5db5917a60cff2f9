"""A lead sales accepted (an SQL) and then recycled goes back to marketing nurture: a buying signal after the
recycle hands it off again, though the lead stays an SQL (stages are milestones and never move back)."""

from __future__ import annotations

from datetime import timedelta

from shared.events.canonical import Subject
from shared.events.lead_events import LeadEventType
from shared.leads.model import Stage
from tests.unit.test_lead_service import Leads, capture

ADA = Subject(email="ada@acme.io")


def accepted_then_recycled(leads: Leads) -> str:
    """An ICP lead handed off for a demo request, accepted by sales (an SQL), then recycled two days later."""
    lead = capture(leads, industry="Software", employee_count=500, country="US")
    leads.engage(ADA, "demo_request")
    [first] = leads.published(LeadEventType.HANDOFF_REQUESTED)
    leads.service.handoff_accepted(lead, first.event_id)
    assert leads.contact(lead).stage is Stage.SQL
    leads.clock.advance(timedelta(days=2))
    leads.service.handoff_recycled(lead, leads.clock.now())
    return lead


def test_an_accepted_lead_recycled_by_sales_is_handed_off_again_by_a_later_buying_signal() -> None:
    # Given a lead sales accepted and then recycled (sent back to nurture)
    leads = Leads()
    lead = accepted_then_recycled(leads)
    # When the person requests a demo again, three days after the recycle
    leads.clock.advance(timedelta(days=3))
    leads.engage(ADA, "demo_request")
    # Then a new priority handoff is requested for it, as another event than the first
    first, again = leads.published(LeadEventType.HANDOFF_REQUESTED)
    assert (again.lead_id, again.priority) == (lead, "priority")
    assert again.event_id != first.event_id
    assert again.occurred_at == leads.clock.now()
    # And the lead stays an SQL: the recycle moved no stage back
    assert leads.contact(lead).stage is Stage.SQL
    assert [e.stage for e in leads.published(LeadEventType.STAGE_CHANGED)] == ["Lead", "SQL"]


def test_a_recycled_sql_is_not_handed_off_again_by_what_sales_saw_already() -> None:
    # Given a lead sales accepted and then recycled
    leads = Leads()
    accepted_then_recycled(leads)
    # When it is rescored by engagement that is no buying signal (the demo request sales saw is still in the log)
    leads.clock.advance(timedelta(hours=1))
    leads.engage(ADA, "page_view", path="/blog")
    # Then no new handoff is requested
    assert len(leads.published(LeadEventType.HANDOFF_REQUESTED)) == 1


def test_an_accepted_sql_is_not_handed_off_again_until_sales_recycle_it() -> None:
    # Given a lead sales accepted (an SQL), never recycled
    leads = Leads()
    lead = capture(leads, industry="Software", employee_count=500, country="US")
    leads.engage(ADA, "demo_request")
    leads.service.handoff_accepted(lead, "h-1")
    # When the person requests a demo again
    leads.clock.advance(timedelta(days=3))
    leads.engage(ADA, "demo_request")
    # Then no second handoff is requested: sales have the lead already
    assert len(leads.published(LeadEventType.HANDOFF_REQUESTED)) == 1


def test_a_recycled_sql_handed_off_again_is_not_handed_off_a_third_time_before_another_recycle() -> None:
    # Given a recycled SQL handed off again for a new demo request
    leads = Leads()
    lead = accepted_then_recycled(leads)
    leads.clock.advance(timedelta(days=3))
    leads.engage(ADA, "demo_request")
    assert len(leads.published(LeadEventType.HANDOFF_REQUESTED)) == 2
    # When another buying signal follows before sales recycle it again
    leads.clock.advance(timedelta(days=1))
    leads.engage(ADA, "pricing_page_visit")
    # Then nothing more is requested: the new handoff is sales' again
    assert len(leads.published(LeadEventType.HANDOFF_REQUESTED)) == 2
    # When sales recycle it again and the person visits pricing afterwards
    leads.clock.advance(timedelta(days=1))
    leads.service.handoff_recycled(lead, leads.clock.now())
    leads.clock.advance(timedelta(hours=2))
    leads.engage(ADA, "pricing_page_visit")
    # Then it is handed off a third time
    assert len(leads.published(LeadEventType.HANDOFF_REQUESTED)) == 3
