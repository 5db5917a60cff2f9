"""A change whose commit is lost after its lead events were published (they go out before the commit): the
contacts it created and told the bus of are stored by its redo, as the contact the redo creates or merged into
the one it finds, so no consumer (the CRM sync's record, a handoff, attribution) is left naming a contact the
lead store never had, which no erasure of the person would find."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
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


class RacingBus(RecordingPublisher):
    """Runs `meanwhile` once, right after a publish: what another function commits between this change's
    publish and its commit."""

    def __init__(self) -> None:
        super().__init__()
        self.meanwhile: Any = None

    def publish(self, events: Sequence[Any]) -> Any:
        answer = super().publish(events)
        if self.meanwhile is not None:
            run, self.meanwhile = self.meanwhile, None
            run()
        return answer


@pytest.fixture
def repo() -> InMemoryLeadRepository:
    return InMemoryLeadRepository()


@pytest.fixture
def bus() -> RacingBus:
    return RacingBus()


@pytest.fixture
def service(repo: InMemoryLeadRepository, bus: RacingBus) -> LeadService:
    ids = itertools.count(1)
    return LeadService(repo, bus, ScoringModels(load_model()), FixedClock(), lambda: f"lead-{next(ids):04d}")


def identify(n: int = 1) -> Any:
    subject = Subject(contact_id="segment:user-7", email=EMAIL)
    data = {"user_id": "user-7", "traits": {"email": EMAIL, "first_name": "Erin"}}
    return canonical_event(EventType.CONTACT_UPSERTED, subject, data, at=FixedClock().now(), n=n, series="lost-commit")


def test_an_identify_that_lost_to_a_capture_stores_the_contact_it_told_of_merged_into_hers(
    service: LeadService, repo: InMemoryLeadRepository, bus: RacingBus
) -> None:
    # Given a capture of her email committing between the publish and the commit of an identify of her
    bus.meanwhile = lambda: service.capture(LeadCapture(EMAIL, "web form", job_title="VP of Sales"))
    # When the identify is handled (its first attempt loses the email's claim, and is redone)
    outcome = service.handle(identify())
    # Then every lead the bus was told of is stored: the identify's first contact merged into the capture's
    told = {event.lead_id for event in bus.published}
    assert len(told) == 2
    assert outcome.contact_id in told
    [told_of] = told - {outcome.contact_id}
    stored = repo.contact(told_of)
    assert stored is not None
    assert stored.merged_into == outcome.contact_id
    survivor = repo.contact(outcome.contact_id or "")
    assert survivor is not None
    assert told_of in survivor.members
    assert f"email#{EMAIL}" in survivor.identities
    assert not stored.identities
    # And the merge was told too (the CRM sync hands the told-of record's CRM copies to hers)
    [merged] = [e for e in bus.published if e.event_type is LeadEventType.MERGED]
    assert (merged.lead_id, merged.other_lead_id) == (outcome.contact_id, told_of)
    # And she is one person by her email
    found = service.find_by_email(EMAIL)
    assert found is not None
    assert found.contact_id == outcome.contact_id


def test_a_redo_that_creates_again_creates_the_contact_it_told_of(
    service: LeadService, repo: InMemoryLeadRepository, bus: RacingBus, monkeypatch: pytest.MonkeyPatch
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
    # Then the contact stored is the one the first attempt told the bus of, and no other was told of
    assert {event.lead_id for event in bus.published} == {outcome.contact_id}
    assert outcome.created
    assert repo.contact(outcome.contact_id or "") is not None
    assert [c for c in repo.contacts_by_id.values() if c.merged_into] == []


def test_a_commit_lost_before_anything_was_created_is_redone_as_before(
    service: LeadService, repo: InMemoryLeadRepository, bus: RacingBus, monkeypatch: pytest.MonkeyPatch
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
