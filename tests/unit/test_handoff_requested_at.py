"""When a lead handoff was requested (issue 10, speed to lead): the time of the `lead.handoff_requested` event,
not the time the router got to it, so "requested -> assigned" measures how long the lead waited for a rep. A
request stamped after the router's clock (clocks skew) counts as requested when it was assigned, never after."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.handoffs.metrics import speed_to_lead
from shared.handoffs.model import HandoffStatus, Priority
from shared.handoffs.service import LeadNotCaughtUp
from tests.unit.test_handoff_service import T0, World, new_world


@pytest.fixture
def world() -> World:
    """The handoff service over in-memory fakes at T0, as `test_handoff_service` builds it."""
    return new_world()


def test_a_handoff_is_requested_when_its_request_event_happened(world: World) -> None:
    # Given a lead whose handoff request event happened 90 seconds before the router handles it (at T0)
    lead = world.lead("lead-1")
    asked = T0 - timedelta(seconds=90)
    # When the router handles it
    handoff = world.service.request(lead, Priority.PRIORITY, "demo_request", "cause-1", asked).handoff
    # Then the handoff was requested at the event's time and assigned now
    assert handoff is not None
    stored = world.repository.handoff(handoff.handoff_id)
    assert stored is not None
    assert (stored.requested_at, stored.assigned_at) == (asked, T0)
    assert [(e.status, e.at) for e in stored.history[:2]] == [
        (HandoffStatus.REQUESTED, asked),
        (HandoffStatus.ASSIGNED, T0),
    ]
    # And speed to lead counts the 90 seconds the lead waited for a rep
    assert speed_to_lead([stored], T0).requested_to_assigned == [90.0]


def test_a_request_stamped_after_the_routers_clock_counts_as_requested_when_assigned(world: World) -> None:
    # Given a request event stamped a minute ahead of the router's clock
    lead = world.lead("lead-1")
    # When the router handles it
    handoff = world.service.request(lead, Priority.PRIORITY, "demo_request", "cause-1", T0 + timedelta(minutes=1))
    # Then it was requested no later than it was assigned
    assert handoff.handoff is not None
    stored = world.repository.handoff(handoff.handoff.handoff_id)
    assert stored is not None
    assert stored.requested_at == stored.assigned_at == T0
    assert speed_to_lead([stored], T0).requested_to_assigned == [0.0]


def test_a_request_naming_an_email_the_lead_store_does_not_show_yet_is_retried_not_dropped(world: World) -> None:
    # Given a lead the store still shows without an email (its write redone after its request went out)
    lead = world.lead("lead-2", email=None)
    # When the request, which names the lead's email, reaches the router
    # Then it is retried (the store is behind the event), not dropped as waiting for an identification
    with pytest.raises(LeadNotCaughtUp, match="lead-2"):
        world.service.request(lead, Priority.PRIORITY, "trial_signup", "c-2", T0, "sam@acme.io")
    assert world.published() == []
    # And once the store shows the email, the retry routes it
    world.lead("lead-2", email="sam@acme.io")
    routed = world.service.request(lead, Priority.PRIORITY, "trial_signup", "c-2", T0, "sam@acme.io").handoff
    assert routed is not None
    # And a request naming no email for a lead without one still waits, as the gate says
    world.lead("lead-3", email=None)
    waits = world.service.request("lead-3", Priority.PRIORITY, "pricing", "c-3", T0, None)
    assert (waits.handoff, "has no email yet" in waits.note) == (None, True)
