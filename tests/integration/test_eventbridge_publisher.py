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


# What a retry can fix, and what it cannot (issue 8) ---------------------------------------------------------


def _answer_put_events(client, codes: dict[int, str]) -> None:  # type: ignore[no-untyped-def]
    """The next PutEvents answered with `codes` for the entries at those positions (others accepted)."""
    from botocore.awsrequest import AWSResponse, HTTPHeaders

    calls = [codes]

    def answer(params, **_):  # type: ignore[no-untyped-def]
        if not calls:
            return None
        refused = calls.pop()
        entries = json.loads(params["body"])["Entries"]
        results = [
            {"ErrorCode": refused[n], "ErrorMessage": "injected"} if n in refused else {"EventId": f"ok-{n}"}
            for n in range(len(entries))
        ]
        return AWSResponse("", 200, HTTPHeaders(), None), {"FailedEntryCount": len(refused), "Entries": results}

    client.meta.events.register("before-call.events.PutEvents", answer)


def test_refusals_are_told_apart_by_whether_a_retry_can_fix_them(aws) -> None:
    # Given EventBridge refusing four entries: throttled, failed inside, malformed, and an invalid argument
    client = boto3.client("events", region_name="us-east-1")
    _answer_put_events(
        client, {0: "ThrottlingException", 1: "InternalFailure", 2: "MalformedDetail", 3: "InvalidArgument"}
    )
    publisher = EventBridgePublisher(client, aws.bus_name, WEBHOOK_EVENT_SOURCE)
    # When five events are published
    result = publisher.publish([event(n) for n in range(5)])
    # Then all four are failed, and only the malformed and invalid ones are permanent
    assert set(result.failed) == {event(n).event_id for n in range(4)}
    assert result.permanent == {event(2).event_id, event(3).event_id}


def test_an_event_that_cannot_be_written_as_json_is_refused_for_good_and_the_rest_published(aws) -> None:
    # Given two events, one holding a lone surrogate no UTF-8 can encode
    publisher = EventBridgePublisher(boto3.client("events", region_name="us-east-1"), aws.bus_name, "revops.webhooks")
    broken = event(1, {"name": "Ada \ud800"})
    # When both are published
    result = publisher.publish([event(0), broken])
    # Then the broken one is a permanent failure, and the other is on the bus
    assert set(result.failed) == {broken.event_id}
    assert result.permanent == {broken.event_id}
    assert [m["detail"]["vendor_event_id"] for m in drain(aws.all_events_url)] == ["evt_0"]


def test_a_whole_call_refused_as_invalid_is_narrowed_down_to_its_entry(aws) -> None:
    # Given EventBridge refusing any call holding one particular entry with a ValidationException
    from botocore.exceptions import ClientError

    client = boto3.client("events", region_name="us-east-1")
    bad = event(7)

    def refuse(params, **_):  # type: ignore[no-untyped-def]
        if any(bad.event_id in entry["Detail"] for entry in json.loads(params["body"])["Entries"]):
            raise ClientError({"Error": {"Code": "ValidationException", "Message": "invalid"}}, "PutEvents")

    client.meta.events.register("before-call.events.PutEvents", refuse)
    publisher = EventBridgePublisher(client, aws.bus_name, WEBHOOK_EVENT_SOURCE)
    # When ten events including it are published
    result = publisher.publish([event(n) for n in range(10)])
    # Then only that one failed, for good, and the other nine are on the bus
    assert result.failed.keys() == {bad.event_id}
    assert result.permanent == {bad.event_id}
    assert len(drain(aws.all_events_url)) == 9


def test_an_unreachable_bus_fails_the_rest_retryably_and_keeps_what_was_published(aws) -> None:
    # Given a bus that takes the first call and then becomes unreachable
    from botocore.exceptions import EndpointConnectionError

    client = boto3.client("events", region_name="us-east-1")
    calls: list[int] = []

    def unreachable(params, **_):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) > 1:
            raise EndpointConnectionError(endpoint_url="https://events.example")

    client.meta.events.register("before-call.events.PutEvents", unreachable)
    publisher = EventBridgePublisher(client, aws.bus_name, WEBHOOK_EVENT_SOURCE)
    # When 25 events are published (three calls)
    result = publisher.publish([event(n) for n in range(25)])
    # Then the first ten are on the bus, the other fifteen failed and may be retried
    assert len(drain(aws.all_events_url)) == 10
    assert result.failed.keys() == {event(n).event_id for n in range(10, 25)}
    assert result.permanent == frozenset()
