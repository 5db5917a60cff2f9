"""A shared laptop over the DynamoDB lead repository (moto) and the in-memory fake alike: the person who signs in
on it last takes its anonymous id over (their claim replaces the one before), and two known people are never
merged through it."""

from __future__ import annotations

from datetime import timedelta

from shared.events.canonical import EventType, Subject
from shared.leads.capture import LeadCapture
from shared.leads.identity import identities
from tests.integration.test_lead_merge_nested_unmerge import Hub, hub  # noqa: F401  (fixture)


def test_the_laptops_id_moves_to_whoever_signed_in_last(hub: Hub) -> None:  # noqa: F811
    # Given Ada and Bob, both captured by email
    ada, bob = (
        hub.service.capture(LeadCapture(email, "web form", company="Acme", job_title="VP")).contact_id
        for email in ("ada@acme.io", "bob@acme.io")
    )
    assert ada
    assert bob
    # When each signs in on the same laptop, Ada first, then Bob, then Ada again
    for user, email in (("u-ada", "ada@acme.io"), ("u-bob", "bob@acme.io"), ("u-ada", "ada@acme.io")):
        hub.segment(
            EventType.CONTACT_UPSERTED,
            Subject(contact_id=f"segment:{user}", email=email),
            {"user_id": user, "anonymous_id": "laptop-1"},
        )
        [owner] = hub.repo.owners(identities(None, None, ["segment-anonymous:laptop-1"])).values()
        # Then the laptop's id is always the one who signed in last, and the other does not hold it
        signed_in, other = (ada, bob) if user == "u-ada" else (bob, ada)
        assert owner == signed_in
        assert "segment-anonymous#laptop-1" not in hub.contact(other).identities
        hub.clock.advance(timedelta(minutes=1))
    # and they were never merged
    assert hub.contact(ada).members == []
    assert hub.contact(bob).members == []
    assert hub.contact(ada).merged_into is None
    assert hub.contact(bob).merged_into is None
