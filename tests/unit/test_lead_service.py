"""Leads over in-memory adapters: identity resolution, merges and unmerges, event-sourced explainable scores,
lifecycle moves and the events they publish."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.events.canonical import CanonicalEvent, EventType, Subject
from shared.events.lead_events import LeadEventType
from shared.leads.capture import LeadCapture
from shared.leads.identity import identities
from shared.leads.model import Stage
from shared.leads.ports import ConcurrentUpdate
from shared.leads.scoring_models import ScoringModels
from shared.leads.service import CannotUnmerge, LeadService
from shared.scoring.model import load_model
from tests.canonical_events import canonical_event
from tests.fakes import FixedClock, InMemoryLeadRepository, RecordingPublisher

MODEL = load_model()


class Leads:
    def __init__(self) -> None:
        self.clock = FixedClock()
        self.bus = RecordingPublisher()
        self.repo = InMemoryLeadRepository(self.bus)
        counter = itertools.count(1)
        self.service = LeadService(self.repo, ScoringModels(MODEL), self.clock, lambda: f"lead-{next(counter):04d}")
        self._events = itertools.count(1)

    def event(
        self, event_type: EventType, subject: Subject, data: dict[str, Any] | None = None, vendor: str = "segment"
    ) -> CanonicalEvent:
        return canonical_event(
            event_type, subject, data or {}, at=self.clock.now(), n=next(self._events), series="test", vendor=vendor
        )

    def engage(self, subject: Subject, kind: str, **data: Any) -> CanonicalEvent:
        event = self.event(EventType.ENGAGEMENT_RECORDED, subject, {"kind": kind, **data})
        self.service.handle(event)
        return event

    def published(self, kind: LeadEventType) -> list:
        return [e for e in self.bus.published if e.event_type is kind]

    def contact(self, contact_id: str):  # type: ignore[no-untyped-def]
        contact = self.repo.contact(contact_id)
        assert contact is not None
        return contact


@pytest.fixture
def leads() -> Leads:
    return Leads()


def capture(leads: Leads, email: str = "ada@acme.io", **fields: Any) -> str:
    lead = LeadCapture(email=email, source="web form", company="Acme", job_title="VP Sales", **fields)
    outcome = leads.service.capture(lead)
    assert outcome.contact_id
    return outcome.contact_id


def make_icp(leads: Leads, email: str) -> Subject:
    """An ICP contact: software company of 500 people, a VP in the US."""
    subject = Subject(contact_id="hubspot:501", email=email)
    traits = {"email": email, "industry": "Software", "employees": 500, "title": "VP of Sales", "country": "US"}
    leads.service.handle(leads.event(EventType.CONTACT_UPSERTED, subject, {"traits": traits}, vendor="hubspot"))
    return subject


def qualify(leads: Leads, subject: Subject) -> None:
    """Engagement meeting every MQL criterion: 6 email clicks on 6 days (a click scores 15, at most 30 a
    day, half gone in 30 days), 3 content pieces, 5 sessions."""
    for _ in range(6):
        leads.engage(subject, "email_click")
        leads.clock.advance(timedelta(days=1))
    for piece in ("RevOps guide", "Pipeline report", "Attribution 101"):
        leads.engage(subject, "content_download", name=piece)
    for _ in range(5):
        leads.engage(subject, "page_view", path="/blog")
        leads.clock.advance(timedelta(hours=2))


def test_a_captured_lead_is_created_once_and_found_again_by_email(leads: Leads) -> None:
    # Given a new person captured from a form
    first = leads.service.capture(LeadCapture("ada@acme.io", "web form", company="Acme", job_title="CTO"))
    # When the same person is captured again, with different capitalisation
    again = leads.service.capture(LeadCapture("ADA@Acme.io ", "partner", company="Acme", job_title="CTO"))
    # Then it is one lead, at stage Lead, and the move was published
    assert (first.created, again.created) == (True, False)
    assert first.contact_id == again.contact_id
    assert leads.contact(first.contact_id).stage is Stage.LEAD
    [moved] = leads.published(LeadEventType.STAGE_CHANGED)
    assert (moved.previous_stage, moved.stage) == ("Visitor", "Lead")


def test_an_anonymous_visitor_who_identifies_brings_their_engagement_along(leads: Leads) -> None:
    # Given a lead captured by email, and an anonymous visitor browsing
    known = capture(leads)
    visitor = Subject(contact_id="segment-anonymous:anon-7")
    for path in ("/blog/a", "/blog/b"):
        leads.engage(visitor, "page_view", path=path)
    anonymous = leads.repo.owners([*identities(None, None, ["segment-anonymous:anon-7"])])
    [anonymous_id] = anonymous.values()
    assert anonymous_id != known
    # When the visitor identifies with that email (Segment identify: userId + anonymousId + email)
    identify = leads.event(
        EventType.CONTACT_UPSERTED,
        Subject(contact_id="segment:u-1", email="ada@acme.io"),
        {"traits": {"email": "ada@acme.io"}, "anonymous_id": "anon-7", "user_id": "u-1"},
    )
    leads.service.handle(identify)
    # Then the two are merged into the known lead, with the cause recorded, and the views count for it
    survivor, absorbed = leads.contact(known), leads.contact(anonymous_id)
    assert absorbed.merged_into == known
    assert survivor.members == [anonymous_id]
    [merge] = leads.repo.history(known).merges
    assert "segment" in merge.cause
    page_views = [line for line in leads.service.score_of(survivor).engagement_lines if line.kind == "page_view"]
    assert len(page_views) == 2
    assert leads.published(LeadEventType.MERGED)


def test_unmerge_restores_both_contacts_and_keeps_them_apart(leads: Leads) -> None:
    # Given a visitor merged into a known lead
    known = capture(leads)
    visitor = Subject(contact_id="segment-anonymous:anon-9")
    leads.engage(visitor, "page_view", path="/blog/x")
    identify = leads.event(
        EventType.CONTACT_UPSERTED,
        Subject(contact_id="segment:u-9", email="ada@acme.io"),
        {"anonymous_id": "anon-9", "user_id": "u-9"},
    )
    leads.service.handle(identify)
    merged_score = leads.contact(known).score
    [absorbed] = leads.contact(known).members
    # When the merge is undone
    leads.service.unmerge(known)
    # Then each has its own log and score again, the merge is marked undone, and they are never re-merged
    survivor, visitor_contact = leads.contact(known), leads.contact(absorbed)
    assert survivor.members == []
    assert visitor_contact.merged_into is None
    assert leads.service.score_of(visitor_contact).engagement_lines
    assert not [line for line in leads.service.score_of(survivor).engagement_lines if line.kind == "page_view"]
    assert survivor.score is not None
    assert merged_score is not None
    assert survivor.score.total < merged_score.total
    [merge] = leads.repo.history(known).merges
    assert merge.undone_at is not None
    leads.service.handle(identify)
    assert leads.contact(known).members == []
    with pytest.raises(CannotUnmerge):
        leads.service.unmerge(known)


def test_placeholder_ids_never_match_anyone(leads: Leads) -> None:
    # Given two different visitors whose tool put a placeholder where the id goes
    leads.engage(Subject(contact_id="segment:anonymous"), "page_view")
    leads.engage(Subject(contact_id="segment:00000"), "page_view")
    # Then no contact was made from them, so nobody was merged on them
    assert leads.repo.contacts_by_id == {}


def test_the_same_engagement_twice_scores_once(leads: Leads) -> None:
    # Given a lead and an email click
    lead = capture(leads)
    subject = Subject(email="ada@acme.io")
    click = leads.engage(subject, "email_click")
    score_after_one = leads.contact(lead).score
    # When the same event is handled again (EventBridge delivers at least once)
    outcome = leads.service.handle(click)
    # Then the score does not move and nothing is published
    assert leads.contact(lead).score == score_after_one
    assert outcome.published == ()


def test_crossing_the_mql_line_publishes_the_move_and_mql_reached(leads: Leads) -> None:
    # Given an ICP lead
    subject = make_icp(leads, "grace@acme.io")
    # When they engage enough to meet every MQL criterion
    qualify(leads, subject)
    # Then they are an MQL, with the transition stored and lead.mql_reached published once
    [lead_id] = leads.repo.owners(identities("grace@acme.io")).values()
    contact = leads.contact(lead_id)
    assert contact.stage is Stage.MQL, leads.service.score_of(contact).to_dict()["mql"]
    assert [t.to_stage for t in leads.repo.history(lead_id).transitions] == [Stage.LEAD, Stage.MQL]
    [reached] = leads.published(LeadEventType.MQL_REACHED)
    assert reached.lead_id == lead_id


def test_a_demo_request_asks_for_a_priority_handoff_once(leads: Leads) -> None:
    # Given a known lead whose captured company makes them an ICP fit
    lead = capture(leads, industry="Software", employee_count=500, country="US")
    # When they request a demo, twice
    leads.engage(Subject(email="ada@acme.io"), "demo_request")
    leads.engage(Subject(email="ada@acme.io"), "demo_request")
    # Then one priority handoff is requested, naming why
    [handoff] = leads.published(LeadEventType.HANDOFF_REQUESTED)
    assert (handoff.lead_id, handoff.priority) == (lead, "priority")
    assert "demo_request" in (handoff.reason or "")


def test_a_recycled_lead_is_handed_off_again_by_a_buying_signal_after_the_recycle(leads: Leads) -> None:
    # Given an ICP lead handed off for its demo request, then recycled by sales (handed back to marketing)
    lead = capture(leads, industry="Software", employee_count=500, country="US")
    leads.engage(Subject(email="ada@acme.io"), "demo_request")
    leads.clock.advance(timedelta(days=2))
    recycled = leads.service.handoff_recycled(lead, leads.clock.now())
    assert recycled.note is None or "already" not in recycled.note
    # When the lead is rescored by what sales saw already (another page view), and the same recycle comes again
    leads.clock.advance(timedelta(hours=1))
    leads.engage(Subject(email="ada@acme.io"), "page_view")
    assert leads.service.handoff_recycled(lead, leads.clock.now() - timedelta(hours=1)).note == "recycled already"
    # Then no new handoff is requested
    assert len(leads.published(LeadEventType.HANDOFF_REQUESTED)) == 1
    # When they request a demo again, after the recycle
    leads.clock.advance(timedelta(days=3))
    leads.engage(Subject(email="ada@acme.io"), "demo_request")
    # Then the priority handoff is requested again, once, for the new request
    first, again = leads.published(LeadEventType.HANDOFF_REQUESTED)
    assert (again.lead_id, again.priority) == (lead, "priority")
    assert again.occurred_at > first.occurred_at
    # And it is another event, not the first again: a consumer de-duplicating on event ids takes it
    assert again.event_id != first.event_id
    leads.engage(Subject(email="ada@acme.io"), "pricing_page_visit")
    assert len(leads.published(LeadEventType.HANDOFF_REQUESTED)) == 2


def test_a_rescore_that_brings_a_score_back_to_a_total_it_had_is_another_event(leads: Leads) -> None:
    from shared.scoring.model import parse_model

    # Given an ICP lead, and a candidate model that doubles the industry points
    lead = capture(leads, industry="Software", employee_count=500, country="US")
    document = MODEL.model_dump(mode="json")
    document["version"], document["fit"]["rules"][0]["points"] = "2026.2", 30
    candidate = parse_model(document)
    # When the candidate is applied, rolled back, and applied again (`make rescore` each time)
    for model in (candidate, MODEL, candidate):
        leads.clock.advance(timedelta(hours=1))
        leads.service.rescore(lead, cause=f"rescored with model {model.version}", model=model)
    # Then each rescore that moved the score is its own event, though the first and the last share cause and total
    changes = [e for e in leads.published(LeadEventType.SCORE_CHANGED) if e.reason and "rescored" in e.reason]
    assert len(changes) == 3
    assert changes[0].score == changes[2].score
    assert len({e.event_id for e in changes}) == 3


def test_an_anonymous_visitor_on_the_pricing_page_is_not_handed_off(leads: Leads) -> None:
    leads.engage(Subject(contact_id="segment-anonymous:anon-1"), "pricing_page_visit")
    assert leads.published(LeadEventType.HANDOFF_REQUESTED) == []


def test_deals_move_leads_to_opportunity_and_customer_and_promoters_to_advocate(leads: Leads) -> None:
    # Given a lead known to the CRM
    lead = capture(leads, email="ada@acme.io")
    crm = Subject(contact_id="hubspot:77", email="ada@acme.io")
    # When their deal progresses, is won, and they answer an NPS survey with 10
    leads.service.handle(leads.event(EventType.DEAL_STAGE_CHANGED, crm, {"stage": "presentation"}, "hubspot"))
    leads.service.handle(leads.event(EventType.DEAL_WON, crm, {"stage": "closedwon"}, "hubspot"))
    leads.service.handle(leads.event(EventType.SURVEY_RESPONDED, crm, {"answers": {"nps": 10}}, "typeform"))
    # Then each stage was reached in order
    stages = [t.to_stage for t in leads.repo.history(lead).transitions]
    assert stages == [Stage.LEAD, Stage.OPPORTUNITY, Stage.CUSTOMER, Stage.ADVOCATE]


def test_a_concurrent_save_is_redone_from_fresh_state(leads: Leads, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a repository that loses the first save to a concurrent writer
    lead = capture(leads)
    real_commit = leads.repo.commit
    losses = iter([True])

    def flaky(*args: Any, **kwargs: Any) -> None:
        if next(losses, False):
            raise ConcurrentUpdate("someone else saved first")
        real_commit(*args, **kwargs)

    monkeypatch.setattr(leads.repo, "commit", flaky)
    # When an engagement is handled
    leads.engage(Subject(email="ada@acme.io"), "email_click")
    # Then it was retried and applied once
    assert len(leads.service.score_of(leads.contact(lead)).engagement_lines) == 1


def test_the_stored_breakdown_explains_the_stored_score(leads: Leads) -> None:
    subject = make_icp(leads, "grace@acme.io")
    qualify(leads, subject)
    [lead_id] = leads.repo.owners(identities("grace@acme.io")).values()
    contact = leads.contact(lead_id)
    assert contact.score is not None
    result = leads.service.score_of(contact, as_of=contact.score.as_of)
    assert result.breakdown_hundredths() == result.total_hundredths
    assert result.total == contact.score.total


KINDS = ["email_open", "email_click", "page_view", "content_download", "webinar_attended", "pricing_page_visit"]


@given(
    steps=st.lists(
        st.tuples(st.sampled_from(KINDS), st.integers(min_value=0, max_value=72), st.booleans()),
        min_size=1,
        max_size=25,
    )
)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_recomputing_from_the_log_reproduces_every_stored_score(steps: list[tuple[str, int, bool]]) -> None:
    # Given any sequence of engagements over days, some delivered twice
    leads = Leads()
    lead = capture(leads)
    subject = Subject(email="ada@acme.io")
    for kind, hours, duplicate in steps:
        leads.clock.advance(timedelta(hours=hours))
        event = leads.engage(subject, kind, name=f"{kind}-{hours}", path="/blog")
        if duplicate:
            leads.service.handle(event)
        # When the score is recomputed from the log as of the moment it was stored
        contact = leads.contact(lead)
        assert contact.score is not None
        result = leads.service.score_of(contact, as_of=contact.score.as_of)
        # Then it is exactly the stored score, and its breakdown sums to it
        assert result.total == contact.score.total
        assert result.breakdown_hundredths() == result.total_hundredths
