"""An anonymous id (Segment's anonymousId: a browser, a device) is a weak identity. It merges an anonymous
visitor's history into the person who identifies on it, but never two people known by different emails or by
different ids of one vendor: on a shared laptop, the id moves to the person who identified on it last (their claim
takes it over), and the one before keeps what was done with it until then."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.events.canonical import EventType, Subject
from shared.events.lead_events import LeadEventType
from shared.leads.identity import identities
from tests.unit.test_lead_service import Leads, capture

LAPTOP = "segment-anonymous#laptop-1"


@pytest.fixture
def leads() -> Leads:
    return Leads()


def sign_in(leads: Leads, user: str, email: str | None) -> str | None:
    """`user` signs in on the shared laptop (a Segment identify naming the laptop's anonymous id)."""
    leads.clock.advance(timedelta(hours=1))
    subject = Subject(contact_id=f"segment:{user}", email=email)
    traits = {"email": email} if email else {}
    event = leads.event(
        EventType.CONTACT_UPSERTED, subject, {"user_id": user, "anonymous_id": "laptop-1", "traits": traits}
    )
    return leads.service.handle(event).contact_id


def laptop_owner(leads: Leads) -> str:
    return leads.repo.owners(identities(None, None, ["segment-anonymous:laptop-1"]))[LAPTOP]


def views(leads: Leads, contact_id: str) -> int:
    lines = leads.service.score_of(leads.contact(contact_id)).engagement_lines
    return len([line for line in lines if line.kind == "page_view"])


def test_two_known_people_on_one_laptop_are_not_merged(leads: Leads) -> None:
    # Given Ada and Bob, both captured by email
    ada, bob = capture(leads, "ada@acme.io"), capture(leads, "bob@acme.io")
    # When each signs in on the same laptop, Ada first
    sign_in(leads, "u-ada", "ada@acme.io")
    sign_in(leads, "u-bob", "bob@acme.io")
    # Then they are two leads still, and the laptop's id is Bob's, who signed in on it last
    assert leads.contact(bob).merged_into is None
    assert leads.contact(ada).members == []
    assert not leads.published(LeadEventType.MERGED)
    assert laptop_owner(leads) == bob
    assert LAPTOP in leads.contact(bob).identities
    assert LAPTOP not in leads.contact(ada).identities
    # and what is browsed on the laptop now counts for Bob
    leads.engage(Subject(contact_id="segment-anonymous:laptop-1"), "page_view", path="/pricing")
    assert (views(leads, bob), views(leads, ada)) == (1, 0)
    # until Ada signs in on it again
    sign_in(leads, "u-ada", "ada@acme.io")
    assert laptop_owner(leads) == ada
    assert leads.contact(ada).members == []


def test_someone_new_on_a_known_persons_laptop_is_a_new_lead(leads: Leads) -> None:
    # Given Ada, captured by email, signed in on the laptop
    ada = capture(leads, "ada@acme.io")
    sign_in(leads, "u-ada", "ada@acme.io")
    # When Bob, unknown so far, signs in on it
    bob = sign_in(leads, "u-bob", "bob@acme.io")
    # Then Bob is a lead of his own, with his email, and Ada is not given it
    assert bob is not None
    assert bob != ada
    assert leads.contact(bob).email == "bob@acme.io"
    assert leads.contact(ada).email == "ada@acme.io"
    assert "email#bob@acme.io" not in leads.contact(ada).identities
    assert laptop_owner(leads) == bob


def test_two_user_ids_on_one_laptop_are_not_merged(leads: Leads) -> None:
    # Given two signed-in users without emails on the same laptop
    first = sign_in(leads, "u-1", None)
    second = sign_in(leads, "u-2", None)
    # Then they are two leads
    assert first is not None
    assert second is not None
    assert first != second
    assert leads.contact(first).members == []
    assert leads.contact(second).merged_into is None


def test_the_anonymous_visitors_history_still_merges_into_whoever_identifies(leads: Leads) -> None:
    # Given Ada and Bob captured, and someone browsing anonymously on the laptop
    ada, bob = capture(leads, "ada@acme.io"), capture(leads, "bob@acme.io")
    leads.engage(Subject(contact_id="segment-anonymous:laptop-1"), "page_view", path="/blog")
    visitor = laptop_owner(leads)
    # When Ada signs in on it
    sign_in(leads, "u-ada", "ada@acme.io")
    # Then the visitor was Ada: merged into her, with the page view
    assert leads.contact(visitor).merged_into == ada
    assert views(leads, ada) == 1
    # and when Bob signs in on it next, he takes the laptop's id, not Ada's history
    sign_in(leads, "u-bob", "bob@acme.io")
    assert leads.contact(bob).merged_into is None
    assert leads.contact(ada).members == [visitor]
    assert laptop_owner(leads) == bob
    assert (views(leads, ada), views(leads, bob)) == (1, 0)
