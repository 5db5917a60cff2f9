"""The bus rule that brings Slack clicks to the handoff router (issue 10) takes the Slack vendor's clicks only:
a canonical `handoff.accepted` / `handoff.rejected` another webhook vendor delivered never reaches the router.
Matched with moto's EventBridge pattern matching, as the local hub delivers and replays events."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from moto.events.models import EventPattern

from shared.catalog import CATALOG
from shared.events.canonical import EventType
from tests.unit.test_handoff_clicks import click

CLICK_RULE = next(rule for rule in CATALOG.function("handoff_router").rules if rule.name == "handoffs-from-clicks")


def on_the_bus(vendor: str, kind: EventType) -> dict[str, Any]:
    """A canonical handoff click from `vendor`, as EventBridge matches it (the envelope around the detail)."""
    accepted = kind is EventType.HANDOFF_ACCEPTED
    envelope = click("0" * 32, "U0EXAMPLE04", vendor, accept=accepted)
    return envelope | {
        "version": "0",
        "id": str(uuid.uuid4()),
        "account": "123456789012",
        "time": envelope["detail"]["occurred_at"],
        "region": "us-east-1",
        "resources": [],
    }


def routed(event: dict[str, Any]) -> bool:
    return bool(EventPattern.load(json.dumps(CLICK_RULE.pattern)).matches_event(event))


@pytest.mark.parametrize("kind", [EventType.HANDOFF_ACCEPTED, EventType.HANDOFF_REJECTED])
def test_a_slack_click_reaches_the_router(kind: EventType) -> None:
    # Given a click Slack delivered / When it is on the bus / Then the click rule takes it
    assert routed(on_the_bus("slack", kind))


@pytest.mark.parametrize("kind", [EventType.HANDOFF_ACCEPTED, EventType.HANDOFF_REJECTED])
@pytest.mark.parametrize("vendor", ["standard", "hubspot", "segment"])
def test_a_handoff_click_another_vendor_delivered_never_reaches_the_router(vendor: str, kind: EventType) -> None:
    # Given a canonical handoff click naming a manager's Slack user, from a vendor that is not Slack
    # When it is on the bus
    # Then the click rule does not take it
    assert not routed(on_the_bus(vendor, kind))
