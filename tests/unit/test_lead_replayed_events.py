"""The lead processor under a replay (issue 15 §3) or EventBridge's at-least-once delivery: an event it applied
before changes nothing the second time, whatever time has passed (a rescore would move `score.as_of`, the
account's `updated_at` and version), and whatever merged since. Engagements were de-duplicated by their log
already; these are the events that log none: contact, deal, subscription, survey and account events."""

from __future__ import annotations

import copy
import itertools
from datetime import timedelta
from typing import Any

import pytest

from shared.events.canonical import CanonicalEvent, EventType, Subject
from shared.leads.capture import LeadCapture
from shared.leads.identity import identities
from shared.leads.ports import ConcurrentUpdate
from shared.leads.scoring_models import ScoringModels
from shared.leads.service import LeadService
from shared.scoring.model import load_model
from tests.canonical_events import canonical_event
from tests.fakes import FixedClock, InMemoryLeadRepository, RecordingPublisher

MODEL = load_model()
CRM = Subject(contact_id="hubspot:77", email="ada@acme.io")


class Leads:
    def __init__(self) -> None:
        self.clock = FixedClock()
        self.bus = RecordingPublisher()
        self.repo = InMemoryLeadRepository(self.bus)
        ids = itertools.count(1)
        self.service = LeadService(self.repo, ScoringModels(MODEL), self.clock, lambda: f"id-{next(ids):04d}")
        self._events = itertools.count(1)

    def event(
        self, event_type: EventType, subject: Subject, data: dict[str, Any], vendor: str = "hubspot"
    ) -> CanonicalEvent:
        n = next(self._events)
        return canonical_event(event_type, subject, data, at=self.clock.now(), n=n, series="replayed", vendor=vendor)

    def held(self) -> dict[str, Any]:
        """Everything the repository holds, and what was published."""
        repo = self.repo
        return copy.deepcopy(
            {
                "contacts": repo.contacts_by_id,
                "identities": repo.identity_owners,
                "logs": repo.logs,
                "consents": repo.consent_logs,
                "history": repo.entries,
                "accounts": repo.accounts,
                "account identities": repo.account_identities,
                "published": self.bus.published,
            }
        )


@pytest.fixture
def leads() -> Leads:
    leads = Leads()
    leads.service.capture(LeadCapture("ada@acme.io", "web form", company="Acme", job_title="VP Sales"))
    return leads


REPLAYED = {
    "deal stage": (EventType.DEAL_STAGE_CHANGED, {"stage": "presentation"}, "hubspot"),
    "deal won": (EventType.DEAL_WON, {"stage": "closedwon", "amount": "1200.00"}, "hubspot"),
    "deal lost": (EventType.DEAL_LOST, {"stage": "closedlost"}, "hubspot"),
    "survey": (EventType.SURVEY_RESPONDED, {"answers": {"nps": 10}}, "typeform"),
    "subscription": (EventType.SUBSCRIPTION_CHANGED, {"status": "active", "change": "updated"}, "stripe"),
    "contact": (EventType.CONTACT_UPSERTED, {"traits": {"title": "VP of Sales", "country": "US"}}, "hubspot"),
}


@pytest.mark.parametrize("kind", REPLAYED)
def test_an_event_applied_before_changes_nothing_when_it_comes_again(leads: Leads, kind: str) -> None:
    # Given an event applied to a lead
    event_type, data, vendor = REPLAYED[kind]
    event = leads.event(event_type, CRM, data, vendor)
    first = leads.service.handle(event)
    assert first.contact_id is not None
    before = leads.held()
    # When the same event comes again an hour later (a replay of the archive, or a redelivery)
    leads.clock.advance(timedelta(hours=1))
    again = leads.service.handle(event)
    # Then nothing the hub holds moved (not the score's as_of, not a version) and nothing was published
    assert leads.held() == before
    assert again.published == ()
    assert (again.contact_id, again.note) == (first.contact_id, "duplicate event; applied once already")


def test_an_event_is_recognised_under_the_contact_it_went_to_after_that_contact_was_merged_away(
    leads: Leads,
) -> None:
    # Given a visitor's own event (a Segment identify naming only the visitor) applied to that visitor
    visitor = Subject(contact_id="segment-anonymous:anon-7")
    said = leads.event(EventType.CONTACT_UPSERTED, visitor, {"traits": {"title": "CTO"}}, vendor="segment")
    assert leads.service.handle(said).contact_id is not None
    [visitor_id] = leads.repo.owners(identities(None, None, ["segment-anonymous:anon-7"])).values()
    # And the visitor merged into the known lead since (an identify naming both)
    identify = leads.event(
        EventType.CONTACT_UPSERTED,
        Subject(contact_id="segment:u-7", email="ada@acme.io"),
        {"anonymous_id": "anon-7", "user_id": "u-7"},
        vendor="segment",
    )
    leads.service.handle(identify)
    absorbed = leads.repo.contact(visitor_id)
    assert absorbed is not None
    assert absorbed.merged_into is not None
    before = leads.held()
    # When the visitor's event is replayed, and the identify too
    leads.clock.advance(timedelta(hours=1))
    replayed = [leads.service.handle(said), leads.service.handle(identify)]
    # Then neither rescored the survivor nor changed anything else
    assert leads.held() == before
    assert [outcome.note for outcome in replayed] == ["duplicate event; applied once already"] * 2


def test_a_replayed_account_event_leaves_the_account_and_its_contact_as_they_were(leads: Leads) -> None:
    # Given a company's account event (a Stripe customer naming the lead's email) applied
    customer = Subject(contact_id="stripe:cus_1", account_id="stripe:cus_1", email="ada@acme.io")
    event = leads.event(EventType.ACCOUNT_UPSERTED, customer, {"name": "Acme", "employees": 500}, vendor="stripe")
    leads.service.handle(event)
    [account] = leads.repo.accounts.values()
    assert account.profile.get("name") == "Acme"
    before = leads.held()
    # When it is replayed later
    leads.clock.advance(timedelta(hours=1))
    again = leads.service.handle(event)
    # Then the account keeps its version and updated_at, and the contact was not rescored
    assert leads.held() == before
    assert again.note == "duplicate account event; applied once already"


def test_a_later_event_of_the_same_kind_still_applies(leads: Leads) -> None:
    # Given a deal stage change applied
    leads.service.handle(leads.event(EventType.DEAL_STAGE_CHANGED, CRM, {"stage": "presentation"}))
    # When the deal is won (another event, not a replay)
    leads.clock.advance(timedelta(hours=1))
    won = leads.service.handle(leads.event(EventType.DEAL_WON, CRM, {"stage": "closedwon"}))
    # Then it applied: the lead is a customer now
    assert won.note == ""
    lead = leads.repo.contact(str(won.contact_id))
    assert lead is not None
    assert lead.stage.value == "Customer"


def test_two_deliveries_racing_apply_the_event_once(leads: Leads, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a delivery of a deal event that commits while another delivery of it is deciding
    event = leads.event(EventType.DEAL_WON, CRM, {"stage": "closedwon"})
    racing = Leads()
    racing.repo, racing.clock = leads.repo, leads.clock
    racing.service = LeadService(leads.repo, ScoringModels(MODEL), leads.clock)
    real_commit = leads.repo.commit
    raced = iter([True])

    def commit_after_the_other(change: Any) -> None:
        if next(raced, False):
            racing.service.handle(event)  # the other delivery commits first
        real_commit(change)

    monkeypatch.setattr(leads.repo, "commit", commit_after_the_other)
    # When this delivery commits: its marker's condition fails, it reads again
    outcome = leads.service.handle(event)
    # Then it found the event applied: one Customer transition, not two
    assert outcome.note == "duplicate event; applied once already"
    lead_id = str(outcome.contact_id)
    moves = [t.to_stage.value for t in leads.repo.history(lead_id).transitions]
    assert moves.count("Customer") == 1


def test_the_fake_refuses_a_marker_twice_as_the_table_does() -> None:
    from shared.leads.ports import ChangeSet

    repo = InMemoryLeadRepository()
    repo.commit(ChangeSet(applied=[("contact", "c-1", "e-1")]))
    assert repo.applied("contact", "c-1", "e-1")
    assert not repo.applied("account", "c-1", "e-1")
    with pytest.raises(ConcurrentUpdate):
        repo.commit(ChangeSet(applied=[("contact", "c-1", "e-1")]))
