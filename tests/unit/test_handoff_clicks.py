"""Slack Accept / Reject clicks applied to handoffs (issue 10): only a click the Slack vendor delivered acts in
a rep's name. Another vendor's canonical `handoff.accepted` naming a Slack user (anyone holding that vendor's
webhook secret can send one) is ignored with a note, never applied and never retried."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.events.canonical import WEBHOOK_EVENT_SOURCE, CanonicalEvent, EventType
from shared.handoffs.clicks import apply_click
from shared.handoffs.model import HandoffStatus, Priority
from tests.unit.test_handoff_service import ROUTER, World, as_rep, assignee, new_world


def click(
    handoff_id: str, slack_user_id: str, vendor: str, accept: bool = True, value: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A canonical click as the webhook gateway puts it on the bus, from `vendor`; `value`: what else the
    clicked button carried (a button sent before buttons named their assignment carries the handoff id only)."""
    kind = EventType.HANDOFF_ACCEPTED if accept else EventType.HANDOFF_REJECTED
    now = datetime.now(UTC)
    detail = CanonicalEvent(
        event_id=str(uuid.uuid4()),
        event_type=kind,
        occurred_at=now,
        received_at=now,
        source_vendor=vendor,
        vendor_event_id=None,
        vendor_event_type="block_actions" if vendor == "slack" else kind.value,
        data={"handoff_id": handoff_id, **(value or {}), "slack_user_id": slack_user_id, "slack_user_name": "someone"},
        correlation_id="r-1",
        delivery_id="d-1",
    )
    return {"source": WEBHOOK_EVENT_SOURCE, "detail-type": kind.value, "detail": detail.model_dump(mode="json")}


@pytest.fixture
def world() -> World:
    """The handoff service over in-memory fakes at T0, as `test_handoff_service` builds it."""
    return new_world()


def assigned(world: World) -> str:
    """A lead handoff assigned to an AMER SDR: its id."""
    handoff = world.service.request(world.lead("lead-1"), Priority.PRIORITY, "demo_request", "c-1").handoff
    assert handoff is not None
    return handoff.handoff_id


def slack_id_of(rep_id: str) -> str:
    slack_user = ROUTER.rep(rep_id).slack_user_id
    assert slack_user is not None
    return slack_user


def test_a_slack_click_from_the_assignee_accepts_the_handoff(world: World) -> None:
    # Given an assigned handoff
    handoff_id = assigned(world)
    # When its assignee clicks Accept in Slack
    outcome = apply_click(world.service, click(handoff_id, slack_id_of(assignee(world, handoff_id)), "slack"))
    # Then it is accepted
    assert outcome.handoff is not None
    assert world.repository.handoff(handoff_id).status is HandoffStatus.ACCEPTED  # type: ignore[union-attr]


@pytest.mark.parametrize("accept", [True, False], ids=["accepted", "rejected"])
@pytest.mark.parametrize("vendor", ["standard", "segment", "SLACK"])
def test_a_click_another_vendor_delivered_is_ignored_with_a_note(world: World, vendor: str, accept: bool) -> None:
    # Given an assigned handoff, and its team's manager's Slack user id (a manager may act on any handoff)
    handoff_id = assigned(world)
    manager = ROUTER.team("sdr-amer").manager
    before = world.repository.handoff(handoff_id)
    world.bus.published.clear()
    # When a canonical handoff click naming the manager arrives from a vendor other than Slack
    outcome = apply_click(world.service, click(handoff_id, slack_id_of(manager), vendor, accept))
    # Then nothing changes, nothing is published, and the note says why (no exception: it is not retried)
    assert outcome.handoff is None
    assert "not from Slack" in outcome.note
    assert world.repository.handoff(handoff_id) == before
    assert world.bus.published == []


def about(world: World, handoff_id: str) -> dict[str, Any]:
    """What the buttons of a message about the handoff's current assignment carry, besides its id."""
    handoff = world.repository.handoff(handoff_id)
    assert handoff is not None
    return {"assignment": handoff.reassignments, "assignee": handoff.rep_id, "lead_id": handoff.lead_id}


@pytest.mark.parametrize("carries_assignment", [True, False], ids=["button", "button-sent-before"])
def test_a_managers_reject_click_delivered_twice_rejects_once(world: World, carries_assignment: bool) -> None:
    # Given an assigned handoff, and its team's manager's Reject click on the rep's message, applied
    handoff_id = assigned(world)
    first_rep = assignee(world, handoff_id)
    manager = ROUTER.team("sdr-amer").manager
    value = about(world, handoff_id) if carries_assignment else None
    reject = click(handoff_id, slack_id_of(manager), "slack", accept=False, value=value)
    apply_click(world.service, reject)
    moved = world.repository.handoff(handoff_id)
    assert moved is not None
    assert moved.rep_id != first_rep
    published = list(world.bus.published)
    # When the bus delivers the very same click again (at least once delivery, a redrive)
    outcome = apply_click(world.service, reject)
    # Then nothing changes: the next rep keeps it, nothing is published, and the note says why
    assert world.repository.handoff(handoff_id) == moved
    assert world.bus.published == published
    assert outcome.note == "already applied"


def test_a_click_on_a_message_of_an_earlier_assignment_is_not_applied_to_the_next(world: World) -> None:
    # Given a handoff its first rep (A) rejected, now with B, and the Reject button of A's message
    handoff_id = assigned(world)
    a = assignee(world, handoff_id)
    on_as_message = about(world, handoff_id)
    world.service.reject(handoff_id, as_rep(a), "not mine")
    b = assignee(world, handoff_id)
    before = world.repository.handoff(handoff_id)
    published = list(world.bus.published)
    manager = slack_id_of(ROUTER.team("sdr-amer").manager)
    # When the manager clicks Reject, and then Accept, on A's old message
    rejected = apply_click(world.service, click(handoff_id, manager, "slack", accept=False, value=on_as_message))
    accepted = apply_click(world.service, click(handoff_id, manager, "slack", accept=True, value=on_as_message))
    # Then neither is applied to B's assignment: B keeps it, unaccepted, nothing is published
    assert world.repository.handoff(handoff_id) == before
    assert world.bus.published == published
    assert before is not None
    assert (before.rep_id, before.status) == (b, HandoffStatus.ASSIGNED)
    # And each note says the click was about another assignment
    for outcome in (rejected, accepted):
        assert outcome.handoff is None
        assert "click not applied" in outcome.note
        assert f"about assignment 0 of handoff {handoff_id} (to {a})" in outcome.note


def test_a_click_on_the_current_assignments_message_is_applied(world: World) -> None:
    # Given a handoff the first rep rejected, now with B, and B's own message
    handoff_id = assigned(world)
    world.service.reject(handoff_id, as_rep(assignee(world, handoff_id)), "not mine")
    b = assignee(world, handoff_id)
    # When B clicks Accept on it
    apply_click(world.service, click(handoff_id, slack_id_of(b), "slack", value=about(world, handoff_id)))
    # Then it is accepted, and the acceptance records the click
    handoff = world.repository.handoff(handoff_id)
    assert handoff is not None
    assert (handoff.status, handoff.rep_id) == (HandoffStatus.ACCEPTED, b)
    assert handoff.history[-1].cause_event_id is not None


def test_a_click_on_a_button_sent_before_buttons_named_their_assignment_acts_on_the_current_one(
    world: World,
) -> None:
    # Given a handoff the first rep (A) rejected, now with B, and a button of A's that carries the handoff only
    handoff_id = assigned(world)
    a = assignee(world, handoff_id)
    world.service.reject(handoff_id, as_rep(a), "not mine")
    b = assignee(world, handoff_id)
    # When A clicks Accept on it
    outcome = apply_click(world.service, click(handoff_id, slack_id_of(a), "slack"))
    # Then it is not applied: A is told it moved on (B keeps it)
    assert "moved on" in outcome.note
    assert assignee(world, handoff_id) == b
    # And when B clicks such a button, it acts on B's assignment, as such buttons always did
    apply_click(world.service, click(handoff_id, slack_id_of(b), "slack"))
    assert world.repository.handoff(handoff_id).status is HandoffStatus.ACCEPTED  # type: ignore[union-attr]
