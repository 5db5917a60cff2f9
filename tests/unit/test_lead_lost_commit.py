"""A change whose commit is lost tells no one: its lead events are committed with it (the repository's outbox) and
go on the bus only once stored, so a lost attempt leaves no consumer (the CRM sync's record, a handoff,
attribution) naming a contact the lead store never had, and its redo's events are the only ones out."""

from __future__ import annotations

import itertools
from collections import Counter
from typing import Any

import pytest

from shared.events.canonical import EventType, Subject
from shared.events.lead_events import LeadEventType
from shared.leads.capture import LeadCapture
from shared.leads.ports import ConcurrentUpdate
from shared.leads.scoring_models import ScoringModels
from shared.leads.service import LeadService
from shared.scoring.model import load_model
from tests.canonical_events import canonical_event
from tests.fakes import FixedClock, InMemoryLeadRepository, RecordingPublisher

EMAIL = "erin@fjord.io"


@pytest.fixture
def bus() -> RecordingPublisher:
    return RecordingPublisher()


@pytest.fixture
def repo(bus: RecordingPublisher) -> InMemoryLeadRepository:
    return InMemoryLeadRepository(bus)


@pytest.fixture
def service(repo: InMemoryLeadRepository) -> LeadService:
    ids = itertools.count(1)
    return LeadService(repo, ScoringModels(load_model()), FixedClock(), lambda: f"lead-{next(ids):04d}")


def identify(n: int = 1) -> Any:
    subject = Subject(contact_id="segment:user-7", email=EMAIL)
    data = {"user_id": "user-7", "traits": {"email": EMAIL, "first_name": "Erin"}}
    return canonical_event(EventType.CONTACT_UPSERTED, subject, data, at=FixedClock().now(), n=n, series="lost-commit")


def losing_first_commit(repo: InMemoryLeadRepository, monkeypatch: pytest.MonkeyPatch, meanwhile: Any) -> None:
    """The store runs `meanwhile` (another function's change) just before the next commit lands."""
    commit, first = repo.commit, iter([True])

    def racing(change: Any) -> None:
        if next(first, False):
            meanwhile()
        commit(change)

    monkeypatch.setattr(repo, "commit", racing)


def test_an_identify_that_lost_to_a_capture_told_no_one_of_the_contact_it_would_have_made(
    service: LeadService, repo: InMemoryLeadRepository, bus: RecordingPublisher, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a capture of her email committing while an identify of her is about to commit
    losing_first_commit(repo, monkeypatch, lambda: service.capture(LeadCapture(EMAIL, "web form", job_title="VP")))
    # When the identify is handled (its first attempt loses the email's claim, and is redone)
    outcome = service.handle(identify())
    # Then every lead event on the bus is about her one contact: the lost attempt's contact was never told of
    assert {event.lead_id for event in bus.published} == {outcome.contact_id}
    assert [e for e in bus.published if e.event_type is LeadEventType.MERGED] == []
    # And the store holds that one contact, with her email
    assert list(repo.contacts_by_id) == [outcome.contact_id]
    found = service.find_by_email(EMAIL)
    assert found is not None
    assert found.contact_id == outcome.contact_id


def test_a_capture_whose_first_commit_is_lost_publishes_its_events_once(
    service: LeadService, repo: InMemoryLeadRepository, bus: RecordingPublisher, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a store that loses the first commit of a capture of a new person to a concurrent writer
    commit, losses = repo.commit, iter([True])

    def flaky(change: Any) -> None:
        if next(losses, False):
            raise ConcurrentUpdate("someone else saved first")
        commit(change)

    monkeypatch.setattr(repo, "commit", flaky)
    # When she is captured
    outcome = service.capture(LeadCapture(EMAIL, "web form"))
    # Then the events on the bus are the redo's, each once, about the contact stored
    assert bus.published, "the capture's events went out"
    assert {event.lead_id for event in bus.published} == {outcome.contact_id}
    assert max(Counter(event.event_id for event in bus.published).values()) == 1
    assert outcome.created
    assert repo.contact(outcome.contact_id or "") is not None
    assert repo.outbox == bus.published


def test_a_commit_lost_before_anything_was_created_is_redone_as_before(
    service: LeadService, repo: InMemoryLeadRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given her contact, and a store that loses the next commit
    first = service.capture(LeadCapture(EMAIL, "web form"))
    commit, losses = repo.commit, iter([True])

    def flaky(change: Any) -> None:
        if next(losses, False):
            raise ConcurrentUpdate("someone else saved first")
        commit(change)

    monkeypatch.setattr(repo, "commit", flaky)
    # When she identifies
    outcome = service.handle(identify())
    # Then it is applied to her contact, and no other contact exists
    assert outcome.contact_id == first.contact_id
    assert list(repo.contacts_by_id) == [first.contact_id]
