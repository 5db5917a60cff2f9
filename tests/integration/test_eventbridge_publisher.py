"""Canonical events reach the bus; entries EventBridge refuses come back as failures, not silence."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3

from shared.adapters.eventbridge_publisher import EventBridgePublisher
from shared.events.canonical import WEBHOOK_EVENT_SOURCE, CanonicalEvent, EventType
from tests.integration.conftest import drain, refuse_put_events


def event(n: int, data: dict | None = None) -> CanonicalEvent:
    return CanonicalEvent(
        event_id=CanonicalEvent.id_for("stripe", f"evt_{n}"),
        event_type=EventType.PAYMENT_SUCCEEDED,
        occurred_at=datetime(2026, 11, 25, tzinfo=UTC),
        received_at=datetime(2026, 11, 25, tzinfo=UTC),
        source_vendor="stripe",
        vendor_event_id=f"evt_{n}",
        vendor_event_type="invoice.paid",
        data=data or {"amount_minor": n},
        correlation_id="r",
        delivery_id="d",
    )


def test_events_arrive_on_the_bus_in_batches_of_ten(aws) -> None:
    # Given 23 canonical events and a publisher counting its PutEvents calls
    client = boto3.client("events", region_name="us-east-1")
    calls = []
    client.meta.events.register("before-call.events.PutEvents", lambda **kw: calls.append(kw))
    publisher = EventBridgePublisher(client, aws.bus_name, WEBHOOK_EVENT_SOURCE)
    # When they are published
    result = publisher.publish([event(n) for n in range(23)])
    # Then all arrive, as detail-type = event type, in three calls
    assert result.failed == {}
    assert len(calls) == 3
    delivered = drain(aws.all_events_url)
    assert len(delivered) == 23
    assert {message["detail-type"] for message in delivered} == {"payment.succeeded"}
    assert {message["source"] for message in delivered} == {WEBHOOK_EVENT_SOURCE}
    assert sorted(message["detail"]["vendor_event_id"] for message in delivered) == sorted(
        f"evt_{n}" for n in range(23)
    )


def test_entries_the_bus_refuses_are_reported_by_event_id(aws) -> None:
    # Given EventBridge answers FailedEntryCount=1 for the second entry
    client = boto3.client("events", region_name="us-east-1")
    refuse_put_events(client, refused={1})
    publisher = EventBridgePublisher(client, aws.bus_name, WEBHOOK_EVENT_SOURCE)
    # When three events are published
    result = publisher.publish([event(0), event(1), event(2)])
    # Then exactly the refused one is reported failed, and the other two were delivered
    assert result.failed == {event(1).event_id: "InternalFailure: injected by PutEventsFaults"}
    assert sorted(m["detail"]["vendor_event_id"] for m in drain(aws.all_events_url)) == ["evt_0", "evt_2"]


def test_an_event_too_large_for_the_bus_travels_by_reference(aws) -> None:
    # Given an event whose data alone exceeds an EventBridge entry
    publisher = EventBridgePublisher(boto3.client("events", region_name="us-east-1"), aws.bus_name, "revops.webhooks")
    big = event(1, {"blob": "x" * 300_000})
    # When it is published
    result = publisher.publish([big])
    # Then it arrives without its data, pointing at the stored delivery
    assert result.failed == {}
    [message] = drain(aws.all_events_url)
    assert message["detail"]["data_by_reference"] is True
    assert message["detail"]["data"] == {}
    assert message["detail"]["delivery_id"] == "d"
    assert len(json.dumps(message["detail"])) < 2000
