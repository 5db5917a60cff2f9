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
from tests.unit.test_handoff_service import ROUTER, World, assignee, new_world


def click(handoff_id: str, slack_user_id: str, vendor: str, accept: bool = True) -> dict[str, Any]:
    """A canonical click as the webhook gateway puts it on the bus, from `vendor`."""
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
        data={"handoff_id": handoff_id, "slack_user_id": slack_user_id, "slack_user_name": "someone"},
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
