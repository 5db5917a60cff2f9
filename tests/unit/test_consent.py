"""Consent kept per contact and honoured, over in-memory adapters: what each vendor's events state, which
statements change the log, and what a withdrawn consent does to scoring (explained, summing exactly,
recomputable) and to nurture; re-granting restores what was collected under consent."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.events.canonical import CanonicalEvent, EventType, Subject
from shared.events.lead_events import LeadEventType
from shared.leads.capture import LeadCapture
from shared.leads.consent import (
    CaptureConsent,
    ConsentStatement,
    ConsentTimeline,
    new_records,
    statements_of_event,
)
from shared.leads.consent_policy import load_consent_policy
from shared.leads.model import ConsentRecord, Contact, EngagementRecord, ScoreSnapshot
from shared.leads.nurture import rescore_nurtured
from shared.leads.scoring_models import ScoringModels
from shared.leads.service import LeadService
from shared.scoring.model import load_model
from tests.canonical_events import canonical_event
from tests.fakes import FixedClock, InMemoryLeadRepository, RecordingPublisher

POLICY = load_consent_policy()
MODEL = load_model()
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def event(vendor: str, event_type: EventType, data: dict[str, Any], n: int = 1, at: datetime = T0) -> CanonicalEvent:
    return canonical_event(event_type, Subject(contact_id=f"{vendor}:1"), data, at=at, n=n, series="c", vendor=vendor)


def segment_consent(**categories: Any) -> dict[str, Any]:
    return {"consent": {"categoryPreferences": categories}}


# -------------------------------------------------------------------------------------- what events state


def test_segment_categories_state_the_purposes_they_map_to() -> None:
    # Given a Segment call whose consent object withdraws Marketing, grants Advertising and Analytics
    said = statements_of_event(
        event(
            "segment_api",
            EventType.ENGAGEMENT_RECORDED,
            segment_consent(Marketing=False, Advertising=True, Analytics=True, Functional=True),
        ),
        POLICY,
    )
    # Then marketing is withdrawn (every category of a purpose must grant it) and analytics granted
    assert {(s.purpose, s.granted, s.source) for s in said} == {
        ("marketing", False, "segment"),
        ("analytics", True, "segment"),
    }
    marketing = next(s for s in said if s.purpose == "marketing")
    assert "categoryPreferences.Marketing = false" in marketing.detail
    assert "categoryPreferences.Advertising = true" in marketing.detail


@pytest.mark.parametrize(
    "data",
    [{}, {"consent": {}}, {"consent": {"categoryPreferences": {}}}, segment_consent(Functional=False)],
)
def test_a_segment_call_without_a_mapped_category_states_nothing(data: dict[str, Any]) -> None:
    assert statements_of_event(event("segment", EventType.CONTACT_UPSERTED, data), POLICY) == []


def test_crm_opt_out_flags_withdraw_when_true() -> None:
    hubspot = event("hubspot", EventType.CONTACT_UPSERTED, {"property": "hs_email_optout", "value": "true"})
    salesforce = event(
        "salesforce", EventType.CONTACT_UPSERTED, {"sobject_type": "Lead", "fields": {"HasOptedOutOfEmail": "true"}}
    )
    [from_hubspot] = statements_of_event(hubspot, POLICY)
    [from_salesforce] = statements_of_event(salesforce, POLICY)
    assert (from_hubspot.purpose, from_hubspot.granted, from_hubspot.detail) == (
        "marketing",
        False,
        "hs_email_optout = true",
    )
    assert (from_salesforce.granted, from_salesforce.opt_out_flag, from_salesforce.source) == (
        False,
        True,
        "salesforce",
    )


@pytest.mark.parametrize(
    "crm_event",
    [
        event("hubspot", EventType.CONTACT_UPSERTED, {"property": "email", "value": "a@b.io"}),
        event("hubspot", EventType.CONTACT_UPSERTED, {"property": "hs_email_optout", "value": "perhaps"}),
        event("salesforce", EventType.ACCOUNT_UPSERTED, {"fields": {"HasOptedOutOfEmail": "true"}}),
        event("stripe", EventType.CONTACT_UPSERTED, segment_consent(Marketing=False)),
    ],
)
def test_other_fields_vendors_and_records_state_nothing(crm_event: CanonicalEvent) -> None:
    assert statements_of_event(crm_event, POLICY) == []


# ------------------------------------------------------------------------------------ what the log keeps


def said(granted: bool, at: datetime, source: str = "segment", n: int = 1, opt_out: bool = False) -> ConsentStatement:
    return ConsentStatement("marketing", granted, at, source, f"said {granted}", f"event-{n}", opt_out)


def test_only_changes_of_a_sources_own_statement_are_kept() -> None:
    # Given Segment withdrawing, then repeating itself, then granting, then an older call arriving late
    log: list[ConsentRecord] = []
    for statement in [
        said(False, T0, n=1),
        said(False, T0 + timedelta(hours=1), n=2),  # a repeat: Segment sends consent on every call
        said(True, T0 + timedelta(hours=2), n=3),
        said(False, T0 + timedelta(minutes=30), n=4),  # stale: older than Segment's last word
    ]:
        log += new_records([statement], log, "lead-1", T0 + timedelta(days=1))
    # Then the log holds the withdrawal and the grant only, each under its event and purpose
    assert [(r.granted, r.record_id) for r in log] == [(False, "event-1:marketing"), (True, "event-3:marketing")]


def test_a_crms_false_opt_out_grants_only_after_that_crm_withdrew() -> None:
    # Given Segment withdrew, and Salesforce's every message says HasOptedOutOfEmail = false
    log = new_records([said(False, T0)], [], "lead-1", T0)
    log += new_records([said(True, T0 + timedelta(hours=1), "salesforce", 2, opt_out=True)], log, "lead-1", T0)
    # Then Salesforce's "not opted out" grants nothing
    assert len(log) == 1
    # When Salesforce opts the person out and back in
    log += new_records([said(False, T0 + timedelta(hours=2), "salesforce", 3, opt_out=True)], log, "lead-1", T0)
    log += new_records([said(True, T0 + timedelta(hours=3), "salesforce", 4, opt_out=True)], log, "lead-1", T0)
    # Then both are kept: its false grants again what it withdrew
    assert [(r.source, r.granted) for r in log] == [("segment", False), ("salesforce", False), ("salesforce", True)]


def record(granted: bool, at: datetime, n: int, source: str = "segment") -> ConsentRecord:
    return ConsentRecord(f"e{n}:marketing", "lead-1", "marketing", granted, at, source, "x", at, f"e{n}")


def tracked(at: datetime, kind: str = "page_view", vendor: str = "segment_api") -> EngagementRecord:
    return EngagementRecord(f"eng-{kind}-{at.isoformat()}", "lead-1", at, kind, vendor)


def test_tracked_engagement_is_withheld_while_withdrawn_and_for_what_was_collected_while_withdrawn() -> None:
    # Given marketing withdrawn at T0+1h and granted again at T0+3h
    timeline = ConsentTimeline(
        POLICY, [record(False, T0 + timedelta(hours=1), 1), record(True, T0 + timedelta(hours=3), 2)]
    )
    before, during, after = (tracked(T0 + timedelta(hours=h)) for h in (0, 2, 4))
    # Then, as of the withdrawal, every tracked engagement is withheld
    withdrawn_at = T0 + timedelta(hours=2)
    assert all(timeline.withheld_reason(e, withdrawn_at) for e in (before, during))
    assert "excluded: consent withdrawn (marketing withdrawn by segment" in str(
        timeline.withheld_reason(before, withdrawn_at)
    )
    # And after the grant, what came under consent counts again, what came while withdrawn never does
    regranted = T0 + timedelta(hours=5)
    assert timeline.withheld_reason(before, regranted) is None
    assert timeline.withheld_reason(after, regranted) is None
    assert str(timeline.withheld_reason(during, regranted)).startswith(
        "excluded: collected while consent was withdrawn"
    )
    # And what the person asked sales for, or what did not come from tracking, is never withheld
    assert timeline.withheld_reason(tracked(T0 + timedelta(hours=2), "demo_request"), withdrawn_at) is None
    assert timeline.withheld_reason(tracked(T0 + timedelta(hours=2), vendor="calendly"), withdrawn_at) is None


def test_at_one_instant_a_withdrawal_wins_and_no_statement_is_the_default() -> None:
    timeline = ConsentTimeline(POLICY, [record(True, T0, 1, "capture"), record(False, T0, 2)])
    assert not timeline.state("marketing", T0).granted
    assert timeline.state("marketing", T0 - timedelta(seconds=1)).granted  # the default: granted
    assert timeline.state("marketing", T0 - timedelta(seconds=1)).record is None


# ---------------------------------------------------------------------------------- honoured by the lead


class Hub:
    def __init__(self) -> None:
        self.clock = FixedClock(T0)
        self.bus = RecordingPublisher()
        self.repo = InMemoryLeadRepository(self.bus)
        ids = itertools.count(1)
        self.service = LeadService(self.repo, ScoringModels(MODEL), self.clock, lambda: f"l{next(ids):04d}")
        self._n = itertools.count(1)

    def send(self, vendor: str, event_type: EventType, subject: Subject, data: dict[str, Any]) -> CanonicalEvent:
        sent = canonical_event(
            event_type, subject, data, at=self.clock.now(), n=next(self._n), series="hub", vendor=vendor
        )
        self.service.handle(sent)
        return sent

    def page(self, user: str, **consent: bool) -> None:
        data = {"kind": "page_view", "path": "/blog", **(segment_consent(**consent) if consent else {})}
        self.send("segment_api", EventType.ENGAGEMENT_RECORDED, Subject(contact_id=f"segment:{user}"), data)

    def lead(self, email: str) -> Contact:
        contact = self.service.find_by_email(email)
        assert contact is not None
        return contact

    def snapshot(self, email: str) -> ScoreSnapshot:
        score = self.lead(email).score
        assert score is not None
        return score

    def check_recomputable(self, email: str) -> None:
        contact = self.lead(email)
        assert contact.score is not None
        explained = self.service.score_of(contact, as_of=contact.score.as_of)
        assert explained.total == contact.score.total
        assert explained.breakdown_hundredths() == explained.total_hundredths


@pytest.fixture
def hub() -> Hub:
    return Hub()


def identify(hub: Hub, user: str, email: str, **consent: bool) -> None:
    data = {"traits": {"email": email}, **(segment_consent(**consent) if consent else {})}
    hub.send("segment_api", EventType.CONTACT_UPSERTED, Subject(contact_id=f"segment:{user}", email=email), data)


def test_a_segment_withdrawal_keeps_later_tracking_from_scoring_and_explains_why(hub: Hub) -> None:
    # Given a person who browsed with consent, then identified withdrawing Marketing
    identify(hub, "u1", "ada@acme.io")
    hub.page("u1")
    hub.clock.advance(timedelta(hours=1))
    scored_before = hub.snapshot("ada@acme.io").total
    identify(hub, "u1", "ada@acme.io", Marketing=False)
    withdrawn_score = hub.snapshot("ada@acme.io").total
    # When they keep browsing, in sessions hours apart
    for _ in range(3):
        hub.clock.advance(timedelta(hours=2))
        hub.page("u1", Marketing=False)
    # Then the withdrawal took the earlier page view's points away, and later ones add nothing
    contact = hub.lead("ada@acme.io")
    assert scored_before > withdrawn_score
    assert hub.snapshot("ada@acme.io").total == withdrawn_score
    # And the breakdown shows every page view at 0 with the reason, still summing exactly to the score
    lines = [line for line in hub.service.score_of(contact).engagement_lines if line.kind == "page_view"]
    assert len(lines) == 4
    assert all(line.points_hundredths == 0 and line.excluded for line in lines)
    assert all("consent withdrawn" in str(line.excluded) for line in lines)
    assert all(line.raw_hundredths == 200 for line in lines)  # the rule they matched, what they would have earned
    hub.check_recomputable("ada@acme.io")
    # And the lead's consent says so, with the statement and its history
    timeline = hub.service.consent_of(contact)
    assert not timeline.state("marketing", hub.clock.now()).granted
    assert [(r.purpose, r.granted, r.source) for r in timeline.records] == [("marketing", False, "segment")]


def test_sales_relevant_engagement_counts_whatever_the_consent(hub: Hub) -> None:
    # Given an ICP lead captured refusing marketing
    outcome = hub.service.capture(
        LeadCapture(
            "ada@acme.io",
            "web form",
            company="Acme",
            job_title="VP Revenue Operations",
            industry="Software",
            employee_count=450,
            country="US",
            consent=CaptureConsent({"marketing": False}, "web form"),
        )
    )
    # When they request a demo through tracking, a minute later
    hub.clock.advance(timedelta(minutes=1))
    data = {"kind": "demo_request", "name": "Demo Requested", **segment_consent(Marketing=False)}
    hub.send("segment_api", EventType.ENGAGEMENT_RECORDED, Subject(contact_id="segment:u1", email="ada@acme.io"), data)
    # Then the demo request scores and hands them off with priority
    contact = hub.lead("ada@acme.io")
    assert contact.contact_id == outcome.contact_id
    [demo] = [line for line in hub.service.score_of(contact).engagement_lines if line.kind == "demo_request"]
    assert (demo.points_hundredths, demo.excluded) == (10_000, None)
    handoffs = [e for e in hub.bus.published if e.event_type is LeadEventType.HANDOFF_REQUESTED]
    assert [h.priority for h in handoffs] == ["priority"]
    # And the lead's consent keeps the form's refusal and Segment's, each with its source
    records = hub.service.consent_of(contact).records
    assert [(r.source, r.granted, r.detail) for r in records] == [
        ("capture", False, "captured marketing = false (web form)"),
        ("segment", False, "context.consent.categoryPreferences.Marketing = false"),
    ]


def test_a_hubspot_opt_out_withdraws_and_its_opt_in_restores_what_came_under_consent(hub: Hub) -> None:
    # Given a lead known to HubSpot who browsed
    hubspot = Subject(contact_id="hubspot:501")
    hub.send(
        "hubspot",
        EventType.CONTACT_UPSERTED,
        Subject(contact_id="hubspot:501", email="ada@acme.io"),
        {"property": "email", "value": "ada@acme.io"},
    )
    identify(hub, "u1", "ada@acme.io")
    hub.page("u1")
    browsing = hub.snapshot("ada@acme.io").total
    # When HubSpot reports them unsubscribed from all email
    hub.clock.advance(timedelta(minutes=10))
    hub.send("hubspot", EventType.CONTACT_UPSERTED, hubspot, {"property": "hs_email_optout", "value": "true"})
    withdrawn = hub.lead("ada@acme.io")
    # Then their consent is withdrawn, by HubSpot, and the tracking no longer scores
    state = hub.service.consent_of(withdrawn).state("marketing", hub.clock.now())
    assert (state.granted, state.record and state.record.detail) == (False, "hs_email_optout = true")
    assert hub.snapshot("ada@acme.io").total < browsing
    # When they browse again while withdrawn, then HubSpot reports them subscribed again
    hub.clock.advance(timedelta(hours=2))
    hub.page("u1")
    hub.clock.advance(timedelta(minutes=10))
    hub.send("hubspot", EventType.CONTACT_UPSERTED, hubspot, {"property": "hs_email_optout", "value": "false"})
    # Then the browsing from before the opt-out counts again; the browsing while opted out does not
    restored = hub.lead("ada@acme.io")
    assert hub.snapshot("ada@acme.io").total == browsing
    lines = [line for line in hub.service.score_of(restored).engagement_lines if line.kind == "page_view"]
    assert [line.excluded is None for line in lines] == [True, False]
    hub.check_recomputable("ada@acme.io")


def test_a_consent_statement_alone_changes_the_lead_and_a_repeat_changes_nothing(hub: Hub) -> None:
    identify(hub, "u1", "ada@acme.io")
    identify(hub, "u1", "ada@acme.io", Marketing=False)
    logged = hub.repo.consents([hub.lead("ada@acme.io").contact_id])
    identify(hub, "u1", "ada@acme.io", Marketing=False)  # Segment repeats itself on every call
    assert hub.repo.consents([hub.lead("ada@acme.io").contact_id]) == logged
    assert len(logged) == 1


def test_an_opt_out_of_a_crm_record_not_yet_known_is_kept_for_the_person_it_turns_out_to_be(hub: Hub) -> None:
    # Given HubSpot reports an opt-out on a contact before saying who it is
    hub.send(
        "hubspot",
        EventType.CONTACT_UPSERTED,
        Subject(contact_id="hubspot:777"),
        {"property": "hs_email_optout", "value": "true"},
    )
    # When its email arrives, and that person is a captured lead already... or becomes one
    hub.send(
        "hubspot",
        EventType.CONTACT_UPSERTED,
        Subject(contact_id="hubspot:777", email="bo@acme.io"),
        {"property": "email", "value": "bo@acme.io"},
    )
    # Then the lead's consent is withdrawn
    contact = hub.lead("bo@acme.io")
    assert not hub.service.consent_of(contact).state("marketing", hub.clock.now()).granted


def test_a_merge_combines_consent_and_an_unmerge_gives_each_side_its_own(hub: Hub) -> None:
    # Given an anonymous visitor who refused marketing, and a known lead
    hub.send(
        "segment_api",
        EventType.ENGAGEMENT_RECORDED,
        Subject(contact_id="segment-anonymous:a1"),
        {"kind": "page_view", "path": "/blog", **segment_consent(Marketing=False)},
    )
    known = hub.service.capture(LeadCapture("ada@acme.io", "web form", company="Acme", job_title="CTO"))
    # When the visitor identifies as the lead
    hub.send(
        "segment_api",
        EventType.CONTACT_UPSERTED,
        Subject(contact_id="segment-anonymous:a1", email="ada@acme.io"),
        {"traits": {"email": "ada@acme.io"}},
    )
    # Then the lead's consent is the visitor's withdrawal
    survivor = hub.lead("ada@acme.io")
    assert survivor.contact_id == known.contact_id
    assert survivor.members
    assert not hub.service.consent_of(survivor).state("marketing", hub.clock.now()).granted
    # When they are unmerged, the lead is back at the default and the visitor keeps its refusal
    hub.service.unmerge(survivor.contact_id)
    separated = hub.lead("ada@acme.io")
    visitor = hub.repo.contact(survivor.members[0])
    assert visitor is not None
    assert hub.service.consent_of(separated).state("marketing", hub.clock.now()).granted
    assert not hub.service.consent_of(visitor).state("marketing", hub.clock.now()).granted


def test_a_lead_who_withdrew_is_not_nurtured_nor_handed_off_for_nurturing(hub: Hub) -> None:
    # Given an ICP MQL (engagement from a CRM's emails and Calendly, which tracking consent does not govern)...
    qualified_mql(hub, "ada@acme.io")
    # ... who then opts out in HubSpot
    hub.send(
        "hubspot",
        EventType.CONTACT_UPSERTED,
        Subject(contact_id="hubspot:501"),
        {"property": "hs_email_optout", "value": "true"},
    )
    # When the lead has been in nurture for over 14 days and the nurture clock runs
    hub.clock.advance(timedelta(days=9))
    summary = rescore_nurtured(hub.service)
    # Then the lead was not enrolled, and no standard handoff fired
    assert (summary["not_enrolled"], summary["rescored"], summary["handoffs"]) == (1, 0, 0)
    assert hub.service.nurture_withheld(hub.lead("ada@acme.io"))
    assert hub.service.score_of(hub.lead("ada@acme.io")).handoff_level is None
    # When they opt in again, the clock enrols them and the standard handoff fires
    hub.send(
        "hubspot",
        EventType.CONTACT_UPSERTED,
        Subject(contact_id="hubspot:501"),
        {"property": "hs_email_optout", "value": "false"},
    )
    standard = [e for e in hub.bus.published if e.event_type is LeadEventType.HANDOFF_REQUESTED]
    assert [e.priority for e in standard] == ["standard"]


def qualified_mql(hub: Hub, email: str) -> None:
    subject = Subject(contact_id="hubspot:501", email=email)
    traits = {"email": email, "industry": "Software", "employees": 500, "title": "VP of Sales", "country": "US"}
    hub.send("hubspot", EventType.CONTACT_UPSERTED, subject, {"traits": traits})
    for _ in range(6):  # two clicks a day (the rule's daily cap): email engagement stays past 70 for weeks
        hub.send("standard", EventType.ENGAGEMENT_RECORDED, subject, {"kind": "email_click"})
        hub.send("standard", EventType.ENGAGEMENT_RECORDED, subject, {"kind": "email_click"})
        hub.clock.advance(timedelta(days=1))
    for piece in ("RevOps guide", "Pipeline report", "Attribution 101"):
        hub.send("standard", EventType.ENGAGEMENT_RECORDED, subject, {"kind": "content_download", "name": piece})
    for _ in range(5):
        hub.send("standard", EventType.ENGAGEMENT_RECORDED, subject, {"kind": "page_view", "path": "/blog"})
        hub.clock.advance(timedelta(hours=2))
    assert hub.snapshot(email).mql
