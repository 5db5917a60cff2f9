"""A change of a known lead's profile alone (a new name, phone or company no fit rule reads) is published as
`lead.profile_changed`, so the CRM sync and the bus's other readers hear of it without waiting for the lead's
next score change (issue 14). It names the changed fields, never their values; its id is the lead's and the
cause's, so a redelivery, a redo or a replay that changes nothing publishes nothing new."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from shared.events.canonical import EventType, Subject
from shared.events.lead_events import LeadEvent, LeadEventType
from shared.leads.capture import LeadCapture
from shared.leads.crm_changes import CrmFieldChange
from shared.leads.model import PROFILE_FIELDS
from shared.leads.ports import ChangeSet, ConcurrentUpdate
from shared.leads.scoring_models import ScoringModels
from shared.leads.service import LeadService
from tests.unit.test_lead_service import MODEL, Leads, capture


@pytest.fixture
def leads() -> Leads:
    return Leads()


def _types(events: tuple[LeadEvent, ...] | list[LeadEvent]) -> list[LeadEventType]:
    return [event.event_type for event in events]


def _known_lead(leads: Leads) -> str:
    lead_id = capture(leads, first_name="Ada", last_name="Lovelace", phone="+44 20 7946 0000")
    leads.clock.advance(timedelta(hours=1))
    return lead_id


def test_a_new_last_name_alone_publishes_one_profile_changed_and_no_score_event(leads: Leads) -> None:
    # Given a captured lead, settled
    lead_id = _known_lead(leads)
    published_before = len(leads.bus.published)
    score_before = leads.contact(lead_id).score
    # When a Zendesk user record gives her a new last name, which no fit rule reads
    event = leads.event(
        EventType.CONTACT_UPSERTED,
        Subject(contact_id="zendesk:9001", email="ada@acme.io"),
        {"id": "9001", "email": "ada@acme.io", "name": "Ada King"},
        vendor="zendesk",
    )
    outcome = leads.service.handle(event)
    # Then the lead holds the new name, and its score did not move
    assert leads.contact(lead_id).profile.get("last_name") == "King"
    score_after = leads.contact(lead_id).score
    assert score_before is not None
    assert score_after is not None
    assert score_after.total == score_before.total
    # And exactly one lead event went out: the profile change, naming the field but not its value
    assert _types(outcome.published) == [LeadEventType.PROFILE_CHANGED]
    assert _types(leads.bus.published[published_before:]) == [LeadEventType.PROFILE_CHANGED]
    [changed] = outcome.published
    assert changed.lead_id == lead_id
    assert changed.changed_fields == ["last_name"]
    assert changed.cause_event_id == event.event_id
    assert changed.event_id == LeadEvent.id_for(lead_id, LeadEventType.PROFILE_CHANGED, event.event_id)
    assert "King" not in changed.model_dump_json()
    assert changed.email == "ada@acme.io"
    assert changed.score == score_before.total


def test_the_same_event_processed_again_publishes_nothing_new(leads: Leads) -> None:
    # Given a lead whose phone a Segment identify changed
    lead_id = _known_lead(leads)
    event = leads.event(
        EventType.CONTACT_UPSERTED,
        Subject(contact_id="segment:u-1", email="ada@acme.io"),
        {"traits": {"email": "ada@acme.io", "phone": "+44 20 7946 0999"}},
    )
    [first] = leads.service.handle(event).published
    assert (first.event_type, first.changed_fields) == (LeadEventType.PROFILE_CHANGED, ["phone"])
    published = list(leads.bus.published)
    # When the same event is delivered again (a retry, a replay)
    again = leads.service.handle(event)
    # Then nothing is published, and the lead is as it was
    assert again.published == ()
    assert leads.bus.published == published
    assert leads.contact(lead_id).profile.get("phone") == "+44 20 7946 0999"


def test_another_event_that_restates_the_profile_publishes_nothing(leads: Leads) -> None:
    # Given a lead whose name an identify set
    _known_lead(leads)
    subject = Subject(contact_id="segment:u-1", email="ada@acme.io")
    traits = {"email": "ada@acme.io", "first_name": "Ada", "last_name": "King"}
    leads.service.handle(leads.event(EventType.CONTACT_UPSERTED, subject, {"traits": traits}))
    leads.clock.advance(timedelta(minutes=5))
    # When another identify says the same (a new event id: not a duplicate, but nothing new)
    outcome = leads.service.handle(leads.event(EventType.CONTACT_UPSERTED, subject, {"traits": traits}))
    # Then no profile change is published
    assert LeadEventType.PROFILE_CHANGED not in _types(outcome.published)


def test_a_redo_after_a_concurrent_save_publishes_the_same_id(leads: Leads) -> None:
    # Given a lead, and a save of its name that loses a race the first time
    lead_id = _known_lead(leads)
    event = leads.event(
        EventType.CONTACT_UPSERTED,
        Subject(contact_id="segment:u-1", email="ada@acme.io"),
        {"traits": {"email": "ada@acme.io", "company": "Analytical Engines Ltd"}},
    )
    commit = leads.repo.commit
    attempts: list[list[LeadEvent]] = []

    def racing(change: ChangeSet) -> None:
        attempts.append(list(change.events))
        if len(attempts) == 1:
            raise ConcurrentUpdate("someone saved the lead meanwhile")
        commit(change)

    leads.repo.commit = racing  # type: ignore[method-assign]
    # When the processing is redone
    outcome = leads.service.handle(event)
    # Then both attempts made the one profile change with one id, and one went out
    first, second = (
        [e.event_id for e in events if e.event_type is LeadEventType.PROFILE_CHANGED] for events in attempts
    )
    assert len(first) == 1
    assert first == second
    assert [e.changed_fields for e in outcome.published] == [["company"]]
    assert [e.lead_id for e in leads.published(LeadEventType.PROFILE_CHANGED)] == [lead_id]


def test_a_capture_of_a_known_lead_with_a_new_phone_publishes_a_profile_change(leads: Leads) -> None:
    # Given a captured lead
    _known_lead(leads)
    # When the same person is captured again with another phone number
    outcome = leads.service.capture(
        LeadCapture("ada@acme.io", "partner", company="Acme", job_title="VP Sales", phone="+44 20 7946 0123")
    )
    # Then a profile change names the phone (the source too, which the capture changed)
    [changed] = [e for e in outcome.published if e.event_type is LeadEventType.PROFILE_CHANGED]
    assert changed.changed_fields == ["phone", "source"]
    assert changed.cause_event_id is None


def test_a_new_lead_is_told_by_its_first_score_not_by_a_profile_change(leads: Leads) -> None:
    # When a new person is captured
    outcome = leads.service.capture(LeadCapture("grace@navy.mil", "web form", first_name="Grace"))
    # Then its events are the first score and the stage, with no profile change
    assert LeadEventType.SCORE_CHANGED in _types(outcome.published)
    assert LeadEventType.PROFILE_CHANGED not in _types(outcome.published)


def test_a_crm_change_through_the_sync_is_published_as_a_profile_change(leads: Leads) -> None:
    # Given a lead whose last name the CRM sync keeps in step
    ids = itertools.count(100)
    leads.service = LeadService(
        leads.repo,
        ScoringModels(MODEL),
        leads.clock,
        lambda: f"lead-{next(ids):04d}",
        crm_synced_fields=frozenset({"last_name"}),
    )
    lead_id = _known_lead(leads)
    # When the sync says a HubSpot user changed it
    change = CrmFieldChange(lead_id, "last_name", "Byron", leads.clock.now(), "hubspot", "sync-event-1")
    outcome = leads.service.crm_field_changed(change)
    # Then the lead takes it and says so, its id derived from the sync event's
    [changed] = outcome.published
    assert (changed.event_type, changed.changed_fields) == (LeadEventType.PROFILE_CHANGED, ["last_name"])
    assert changed.event_id == LeadEvent.id_for(lead_id, LeadEventType.PROFILE_CHANGED, changed.reason or "")
    assert "sync-event-1" in (changed.reason or "")
    # And the same sync event again publishes nothing
    assert leads.service.crm_field_changed(change).published == ()


def test_the_changed_fields_description_names_every_profile_field() -> None:
    description = LeadEvent.model_fields["changed_fields"].description or ""
    assert all(f"`{name}`" in description for name in PROFILE_FIELDS)
