"""segment-analytics-python, pointed at the local hub with its `host` option, delivers events through the
Segment-compatible tracking API and they become canonical events."""

from __future__ import annotations

import json
import uuid

import pytest
import requests
from segment.analytics.client import Client
from segment.analytics.request import APIError

from local_runtime.example import local_secret
from shared.webhooks.vendors import segment
from tests.e2e.conftest import bus_events, settle, wait_for_event

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


def test_a_message_sent_to_the_tracking_api_and_forwarded_by_segment_is_handled_once(hub: str) -> None:
    # Given analytics.js sending straight to the hub, and Segment forwarding the same source to its webhook
    client = Client(WRITE_KEY, host=hub, sync_mode=True, max_retries=0)
    run = uuid.uuid4().hex[:8]
    user, identified, download = f"both-ways-{run}", f"identify-{run}", f"download-{run}"
    downloaded = {"event": "Content Downloaded", "properties": {"title": "RevOps guide"}}
    # When a visitor identifies and downloads a guide (15 points each time) through the tracking API
    client.identify(user, {"email": f"{user}@example.com"}, message_id=identified)
    client.track(user, downloaded["event"], downloaded["properties"], message_id=download)
    client.flush()
    # And Segment's webhook destination delivers the same two messages
    answers = [
        forwarded_by_segment(hub, {"type": "identify", "messageId": identified, "userId": user, "traits": {}}),
        forwarded_by_segment(hub, {"type": "track", "messageId": download, "userId": user, **downloaded}),
    ]
    # Then Segment is told each is a duplicate
    assert [(a.status_code, a.json()["status"]) for a in answers] == [(200, "duplicate")] * 2
    # And each message is one canonical event on the bus, from the tracking API, under the ids Segment was told of
    scored_for_it = lambda e: e["detail-type"] == "lead.score_changed" and download in (e["detail"].get("reason") or "")  # noqa: E731
    wait_for_event(hub, scored_for_it)
    settle(hub)
    events = bus_events(hub)
    canonical = [e["detail"] for e in events if e["detail"].get("vendor_event_id") in (identified, download)]
    assert sorted((e["vendor_event_id"], e["source_vendor"]) for e in canonical) == [
        (download, "segment_api"),
        (identified, "segment_api"),
    ]
    ids = {e["vendor_event_id"]: e["event_id"] for e in canonical}
    assert [a.json()["event_ids"] for a in answers] == [[ids[identified]], [ids[download]]]
    # And the lead is scored for the download once
    [scored] = [e["detail"] for e in events if scored_for_it(e)]
    assert scored["engagement_score"] == 15


def forwarded_by_segment(hub: str, message: dict) -> requests.Response:
    """`message` as Segment's webhook destination delivers it, signed with the hub's local secret."""
    body = json.dumps(message).encode()
    headers = {"X-Signature": segment.sign(local_secret("segment"), body), "Content-Type": "application/json"}
    return requests.post(f"{hub}/webhooks/segment", data=body, headers=headers, timeout=10)
