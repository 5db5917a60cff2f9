"""An unmerge tells each side's profile change: the lead that had been merged away comes back with its own profile
(its name, phone, ...), which is not the profile of the person it was part of, so it gets its lead.profile_changed
as the survivor does, in the unmerge's own change (the lead outbox), so the CRM sync hears of both."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.events.canonical import EventType, Subject
from shared.events.lead_events import LeadEvent, LeadEventType
from shared.leads.capture import LeadCapture
from tests.unit.test_lead_service import Leads


@pytest.fixture
def leads() -> Leads:
    return Leads()


def _device_user(leads: Leads, email: str) -> None:
    """A CDP's contact event naming one device user (`segment:u-1`) with `email`: two emails on it merge."""
    subject = Subject(contact_id="segment:u-1", email=email)
    leads.service.handle(leads.event(EventType.CONTACT_UPSERTED, subject, {}))


def _bob_and_alice_merged(leads: Leads) -> tuple[str, str]:
    """Bob (with a phone), and Alice merged into him later: her newer name and email win in the merged profile."""
    bob = LeadCapture("bob@example.org", "web form", first_name="Bob", job_title="CTO", phone="+1 555 0100")
    bob_id = str(leads.service.capture(bob).contact_id)
    leads.clock.advance(timedelta(minutes=1))
    _device_user(leads, "bob@example.org")
    leads.clock.advance(timedelta(minutes=1))
    alice = LeadCapture("alice@example.net", "web form", first_name="Alice", job_title="VP Sales")
    alice_id = str(leads.service.capture(alice).contact_id)
    leads.clock.advance(timedelta(minutes=1))
    _device_user(leads, "alice@example.net")
    assert leads.contact(alice_id).merged_into == bob_id
    assert leads.contact(bob_id).profile.get("first_name") == "Alice"
    leads.clock.advance(timedelta(minutes=1))
    return bob_id, alice_id


def _profile_changes(events: tuple[LeadEvent, ...]) -> dict[str, LeadEvent]:
    return {e.lead_id: e for e in events if e.event_type is LeadEventType.PROFILE_CHANGED}


def test_an_unmerge_tells_the_lead_that_comes_back_of_its_own_profile(leads: Leads) -> None:
    # Given Alice merged into Bob
    bob_id, alice_id = _bob_and_alice_merged(leads)
    published_before = len(leads.bus.published)
    # When the merge is undone from Bob's side
    outcome = leads.service.unmerge(bob_id)
    # Then the unmerge's own change tells both leads' profile changes
    told = _profile_changes(outcome.published)
    assert set(told) == {bob_id, alice_id}
    # Bob's name, email and title are his own again
    assert told[bob_id].changed_fields == ["email", "first_name", "job_title"]
    # Alice is no longer the merged person: Bob's phone is not hers
    assert told[alice_id].changed_fields == ["phone"]
    assert told[alice_id].email == "alice@example.net"
    assert told[alice_id].stage == leads.contact(alice_id).stage.value
    # and they went out on the bus with it (through the outbox), once each
    assert _profile_changes(tuple(leads.bus.published[published_before:])) == told


def test_an_unmerge_from_the_side_merged_away_tells_both_sides_too(leads: Leads) -> None:
    # Given Alice merged into Bob
    bob_id, alice_id = _bob_and_alice_merged(leads)
    # When the merge is undone from Alice's side
    outcome = leads.service.unmerge(alice_id)
    # Then both leads' profile changes are told with it
    told = _profile_changes(outcome.published)
    assert set(told) == {bob_id, alice_id}
    assert told[alice_id].changed_fields == ["phone"]


def test_a_field_the_lead_merged_away_set_while_merged_is_told_though_the_merged_person_held_it(
    leads: Leads,
) -> None:
    # Given Alice merged into Bob, and then a new title of hers (by her own id) that the merged person shows
    bob_id, alice_id = _bob_and_alice_merged(leads)
    subject = Subject(contact_id="hubspot:77", email="alice@example.net")
    traits = {"email": "alice@example.net", "title": "CRO"}
    leads.service.handle(leads.event(EventType.CONTACT_UPSERTED, subject, {"traits": traits}, vendor="hubspot"))
    leads.clock.advance(timedelta(minutes=1))
    assert leads.contact(bob_id).profile.get("job_title") == "CRO"
    # When the merge is undone
    outcome = leads.service.unmerge(bob_id)
    # Then Alice's change names her title too: her own lead last told "VP Sales", before the merge
    told = _profile_changes(outcome.published)
    assert leads.contact(alice_id).profile.get("job_title") == "CRO"
    assert told[alice_id].changed_fields == ["job_title", "phone"]
