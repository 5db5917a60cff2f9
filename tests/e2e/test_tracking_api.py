"""segment-analytics-python, pointed at the local hub with its `host` option, delivers events through the
Segment-compatible tracking API and they become canonical events."""

from __future__ import annotations

import uuid

import pytest
from segment.analytics.client import Client
from segment.analytics.request import APIError

from tests.e2e.conftest import bus_events, wait_for_event

WRITE_KEY = "local-write-key-dev-only"


def test_the_segment_sdk_delivers_identify_page_and_track(hub: str) -> None:
    # Given the real Segment SDK pointed at the hub
    errors: list[Exception] = []
    client = Client(WRITE_KEY, host=hub, sync_mode=True, max_retries=0, on_error=lambda e, _: errors.append(e))
    user = f"user-{uuid.uuid4().hex[:8]}"
    # When a visitor identifies, views the pricing page and requests a demo
    client.identify(user, {"email": f"{user}@example.com", "company": "Acme"})
    client.page(user, category="Marketing", name="Pricing", properties={"url": "https://acme.example/pricing"})
    client.track(user, "Demo Requested", {"plan": "enterprise"})
    client.flush()
    # Then every call was accepted and became a canonical event about that visitor
    assert errors == []
    mine = lambda e: e["detail"].get("subject", {}).get("contact_id") == f"segment:{user}"  # noqa: E731
    wait_for_event(hub, lambda e: mine(e) and e["detail"]["data"].get("kind") == "demo_request")
    kinds = sorted((e["detail-type"], e["detail"]["data"].get("kind")) for e in bus_events(hub) if mine(e))
    assert kinds == [
        ("contact.upserted", None),
        ("engagement.recorded", "demo_request"),
        ("engagement.recorded", "pricing_page_visit"),
    ]


def test_a_wrong_write_key_is_refused_and_the_sdk_reports_it(hub: str) -> None:
    # Given an SDK configured with a key the hub never issued
    client = Client("not-a-key", host=hub, sync_mode=True, max_retries=0)
    # When it sends an event
    with pytest.raises(APIError) as refused:
        client.track("someone", "Demo Requested")
    # Then the hub refuses it with Segment's error shape, which the SDK understands
    assert (refused.value.status, refused.value.code) == (401, "unauthorized")
