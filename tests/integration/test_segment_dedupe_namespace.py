"""Segment's two ways in share one de-duplication namespace in the DynamoDB delivery ledger: a message is
claimed once whichever way it came first, the table's stream hands the publisher one event under the id both
ways give it, and a claim stored before the namespaces were shared still reads back under the id it had: the
namespace is the tracking API's own (`segment_api`), so its claims are those it always had, and a claim the webhook
destination stored before (`EVENT#segment#...`) keeps its id for the publisher and privacy."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import boto3
import pytest

from local_runtime.lambda_events import LocalLambdaContext, rest_proxy_event
from shared.adapters.dynamodb_ledger import DynamoDbDeliveryLedger, outbox_entry
from shared.adapters.dynamodb_privacy_deliveries import DeliveriesPrivacy
from shared.catalog import WEBHOOK_DELIVERIES, physical_name
from shared.events.ids import event_id
from shared.privacy.model import Person
from shared.webhooks.model import (
    ClaimStatus,
    DeliveryAttempt,
    DeliveryQuery,
    Disposition,
    EventRecord,
    Outcome,
    StoredEvent,
)
from shared.webhooks.ports import DeliveryLedger
from shared.webhooks.subjects import subject_of_event
from shared.webhooks.vendors.segment import sign
from tests.fakes import FixedClock, InMemoryLedger
from tests.integration.conftest import STAGE, drain, handler_module

TABLE = physical_name(STAGE, WEBHOOK_DELIVERIES.name)
LOCAL_SEGMENT_SECRET = "local-segment-shared-secret-dev-only"
WRITE_KEY = "local-write-key-dev-only"
WAYS = ("segment", "segment_api")
NAMESPACE = "segment_api"  # Segment's one de-duplication namespace: the tracking API's own
SHARED_ID = event_id(NAMESPACE, "m-1")  # the id of message m-1 whichever way it comes


def way_in(vendor: str, key: str = "m-1") -> StoredEvent:
    """Message `key` as the receiver stores it when it arrives through `vendor`."""
    return StoredEvent(vendor, key, event_id(NAMESPACE, key), dedupe_namespace=NAMESPACE)


def attempt_of(attempt_id: str, at: datetime, events: list[StoredEvent], vendor: str) -> DeliveryAttempt:
    """An accepted delivery of `events` through `vendor`, as the receiver hands it to the ledger."""
    body = json.dumps([event.dedupe_key for event in events]).encode()
    return DeliveryAttempt(
        attempt_id=attempt_id,
        vendor=vendor,
        received_at=at,
        outcome=Outcome.ACCEPTED,
        status_code=202,
        body=body,
        body_sha256="abc",
        body_size=len(body),
        content_type="application/json",
        user_agent="analytics-python",
        source_ip="203.0.113.9",
        events=[EventRecord(e.dedupe_key, "identify", e.event_id, Disposition.ACCEPTED) for e in events],
        url="https://hub.example.com/v1/batch",
        request_id="req-1",
    )


def stream_records(client: Any) -> list[dict[str, Any]]:
    """Every record of the table's stream so far."""
    streams = boto3.client("dynamodbstreams", region_name="us-east-1")
    arn = client.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    records: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")
        records += streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
    return records


@pytest.fixture(params=["dynamodb", "in-memory"])
def ledger_and_clock(request: pytest.FixtureRequest) -> Iterator[tuple[DeliveryLedger, FixedClock]]:
    clock = FixedClock()
    if request.param == "in-memory":
        yield InMemoryLedger(), clock
        return
    request.getfixturevalue("aws")
    yield DynamoDbDeliveryLedger(boto3.client("dynamodb", region_name="us-east-1"), TABLE, clock.now), clock


# ------------------------------------------------------------------------------------------------ the ledger


@pytest.mark.parametrize(("first_way", "second_way"), [WAYS, WAYS[::-1]])
def test_a_message_claimed_one_way_is_a_duplicate_the_other_way(  # type: ignore[no-untyped-def]
    ledger_and_clock, first_way: str, second_way: str
) -> None:
    ledger, clock = ledger_and_clock
    first, second = way_in(first_way), way_in(second_way)
    # When the message is stored through one way in, then arrives through the other
    stored = ledger.accept(attempt_of("a1", clock.now(), [first], vendor=first_way), [first])
    again = ledger.accept(attempt_of("a2", clock.now(), [second], vendor=second_way), [second])
    # Then the first stores it and the second is a duplicate that stores nothing
    assert (stored, again) == ({"m-1": ClaimStatus.NEW}, {"m-1": ClaimStatus.DUPLICATE})
    [logged] = ledger.list_attempts(DeliveryQuery()).attempts
    assert (logged.attempt_id, logged.vendor) == ("a1", first_way)


@pytest.mark.parametrize(("first_way", "second_way"), [WAYS, WAYS[::-1]])
def test_the_stream_hands_the_publisher_the_message_once_under_its_shared_id(
    aws: Any, first_way: str, second_way: str
) -> None:
    client = boto3.client("dynamodb", region_name="us-east-1")
    ledger = DynamoDbDeliveryLedger(client, TABLE, FixedClock().now)
    now = FixedClock().now()
    # Given the message stored one way as a one-event delivery, and then in a batch the other way
    first, second, other = way_in(first_way), way_in(second_way), way_in(second_way, "m-2")
    ledger.accept(attempt_of("one", now, [first], vendor=first_way), [first])
    statuses = ledger.accept(attempt_of("batch", now, [second, other], vendor=second_way), [second, other])
    # When the table's stream is read as the publisher's trigger reads it
    claims = [
        outbox_entry(record)
        for record in stream_records(client)
        if record["eventName"] == "INSERT" and record["dynamodb"]["NewImage"]["kind"]["S"] == "claim"
    ]
    # Then the message is there once, from the way it came first, under the id either way gives it
    assert statuses == {"m-1": ClaimStatus.DUPLICATE, "m-2": ClaimStatus.NEW}
    assert sorted((e.dedupe_key, e.vendor, e.event_id) for e in claims) == [
        ("m-1", first_way, SHARED_ID),
        ("m-2", second_way, event_id(NAMESPACE, "m-2")),
    ]
    # And the batch's log entry records it as a duplicate of that event
    logged = {a.attempt_id: a for a in ledger.list_attempts(DeliveryQuery()).attempts}
    assert [(r.event_id, r.disposition) for r in logged["batch"].events] == [
        (SHARED_ID, Disposition.DUPLICATE),
        (event_id(NAMESPACE, "m-2"), Disposition.ACCEPTED),
    ]


ADA = Person(email="ada@example.com", identity_keys=("email#ada@example.com", "segment#u-1"))
OLD_MESSAGE = {"type": "identify", "messageId": "m-old", "userId": "u-1", "traits": {"email": "ada@example.com"}}


def stored_by_the_webhook_destination_before(client: Any) -> None:
    """Message m-old (about Ada) as the webhook destination stored it before Segment's two ways in shared a
    namespace: claimed under its own name, `EVENT#segment#m-old`, with the id drawn from it."""
    body = json.dumps(OLD_MESSAGE).encode()
    now = FixedClock().now()
    attempt = DeliveryAttempt(
        attempt_id="a-old",
        vendor="segment",
        received_at=now,
        outcome=Outcome.ACCEPTED,
        status_code=202,
        body=body,
        body_sha256="abc",
        body_size=len(body),
        content_type="application/json",
        user_agent="Segment.io/1.0",
        source_ip="203.0.113.9",
        events=[EventRecord("m-old", "identify", event_id("segment", "m-old"), Disposition.ACCEPTED)],
        url="https://hub.example.com/webhooks/segment",
        request_id="req-old",
        headers={"content-type": "application/json"},
    )
    old = StoredEvent("segment", "m-old", event_id("segment", "m-old"), subject_of_event("segment", OLD_MESSAGE))
    DynamoDbDeliveryLedger(client, TABLE, FixedClock().now).accept(attempt, [old])
    assert "Item" in client.get_item(TableName=TABLE, Key={"pk": {"S": "EVENT#segment#m-old"}})


def test_a_webhook_destination_claim_stored_before_the_shared_namespace_reads_back_under_its_own_id(
    aws: Any,
) -> None:
    client = boto3.client("dynamodb", region_name="us-east-1")
    old_id = event_id("segment", "m-old")
    assert old_id != event_id(NAMESPACE, "m-old")
    # Given a claim the webhook destination stored before the two ways shared a namespace (keyed by its own name)
    stored_by_the_webhook_destination_before(client)
    # When the stream (or a redrive of it) hands it to the publisher
    [record] = [r for r in stream_records(client) if r["eventName"] == "INSERT"]
    entry = outbox_entry(record)
    # Then it reads under the id it was stored (and logged) with
    assert (entry.vendor, entry.dedupe_key, entry.event_id) == ("segment", "m-old", old_id)
    # And privacy finds the person's event under that id too (an erasure's receipt, an export)
    privacy = DeliveriesPrivacy(client, TABLE, FixedClock().now)
    assert privacy.event_ids(ADA) == {old_id}
    [exported] = privacy.export(ADA)
    assert exported["event_ids"] == [old_id]


def test_a_webhook_destination_message_stored_before_the_shared_namespace_is_published_under_its_own_id(
    aws: Any, outbox: Any
) -> None:
    # Given a message the webhook destination stored before the two ways shared a namespace, still to publish
    stored_by_the_webhook_destination_before(boto3.client("dynamodb", region_name="us-east-1"))
    # When the webhook publisher's trigger runs
    outbox()
    # Then the bus gets it under the id it was stored with, from the webhook destination
    [published] = drain(aws.all_events_url)
    assert (published["detail"]["event_id"], published["detail"]["source_vendor"]) == (
        event_id("segment", "m-old"),
        "segment",
    )


# ------------------------------------------------------------------------------------------- the handlers


@pytest.fixture
def receiver(aws):  # type: ignore[no-untyped-def]
    return handler_module("webhook_receiver")


@pytest.fixture
def tracking(aws):  # type: ignore[no-untyped-def]
    return handler_module("tracking_api")


@pytest.fixture
def deliveries_api(aws):  # type: ignore[no-untyped-def]
    return handler_module("webhook_deliveries_api")


def identify() -> bytes:
    message = {"type": "identify", "messageId": "m-1", "userId": "u-1", "traits": {"email": "ada@example.com"}}
    return json.dumps(message).encode()


def post(way: str, receiver, tracking, body: bytes) -> dict:  # type: ignore[no-untyped-def]
    """`body` as Segment's webhook destination signs it, or as analytics.js posts it to `/v1/identify`."""
    headers = {"Host": "hub.example.com", "X-Forwarded-Proto": "https", "Content-Type": "application/json"}
    if way == "segment":
        event = rest_proxy_event(
            method="POST",
            path="/webhooks/segment",
            resource="/webhooks/{vendor}",
            path_parameters={"vendor": "segment"},
            headers=headers | {"X-Signature": sign(LOCAL_SEGMENT_SECRET, body)},
            body=body,
        )
        return receiver.handler(event, LocalLambdaContext("webhook-receiver"))
    headers["Authorization"] = "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()
    event = rest_proxy_event(method="POST", path="/v1/identify", resource="/v1/identify", headers=headers, body=body)
    return tracking.handler(event, LocalLambdaContext("tracking-api"))


def logged(deliveries_api, vendor: str) -> list[dict]:  # type: ignore[no-untyped-def]
    event = rest_proxy_event(
        method="GET",
        path="/api/v1/webhooks/deliveries",
        resource="/api/v1/webhooks/deliveries",
        query={"vendor": [vendor]},
        claims={"cognito:groups": "admin"},
    )
    response = deliveries_api.handler(event, LocalLambdaContext("webhook-deliveries-api"))
    return list(json.loads(response["body"])["items"])


@pytest.mark.parametrize(("first_way", "second_way"), [WAYS, WAYS[::-1]])
def test_the_same_message_through_both_routes_reaches_the_bus_once(  # type: ignore[no-untyped-def]
    receiver, tracking, deliveries_api, aws, outbox, first_way: str, second_way: str
) -> None:
    # Given a message delivered through one route
    first = post(first_way, receiver, tracking, identify())
    # When the same message is delivered through the other
    second = post(second_way, receiver, tracking, identify())
    outbox()
    # Then both are acknowledged, the second as a duplicate is on its route
    assert first["statusCode"] in (200, 202), first["body"]
    assert second["statusCode"] == 200, second["body"]
    if second_way == "segment":
        assert json.loads(second["body"])["status"] == "duplicate"
    # And one canonical event reaches the bus, from the route it came first, under the shared id
    [published] = drain(aws.all_events_url)
    assert (published["detail"]["source_vendor"], published["detail"]["event_id"]) == (first_way, SHARED_ID)
    # And the delivery log shows the second route's delivery as a duplicate of that event
    [duplicate] = logged(deliveries_api, second_way)
    assert duplicate["outcome"] == Outcome.DUPLICATE.value
    assert [e["event_id"] for e in duplicate["events"]] == [SHARED_ID]


def test_a_message_the_tracking_api_claimed_before_the_shared_namespace_is_a_duplicate_either_way(  # type: ignore[no-untyped-def]
    receiver, tracking, deliveries_api, aws
) -> None:
    client = boto3.client("dynamodb", region_name="us-east-1")
    # Given message m-1 as the tracking API claimed it before the two ways shared a namespace (under its own name)
    old_claim = {
        "pk": {"S": "EVENT#segment_api#m-1"},
        "kind": {"S": "claim"},
        "vendor": {"S": "segment_api"},
        "dedupe_key": {"S": "m-1"},
        "attempt_id": {"S": "a-old"},
        "received_at": {"S": FixedClock().now().isoformat()},
    }
    client.put_item(TableName=TABLE, Item=old_claim)
    # When an SDK retries it (analytics.js retries from the browser's storage, hours later), and Segment's webhook
    # destination forwards it
    answers = {way: post(way, receiver, tracking, identify()) for way in ("segment_api", "segment")}
    # Then both are duplicates: nothing is claimed again
    assert answers["segment_api"]["statusCode"] == 200, answers["segment_api"]["body"]
    assert json.loads(answers["segment_api"]["body"]) == {"success": True}
    webhook = json.loads(answers["segment"]["body"])
    assert (answers["segment"]["statusCode"], webhook["status"]) == (200, "duplicate")
    claims = sorted(i["pk"]["S"] for i in client.scan(TableName=TABLE)["Items"] if i["pk"]["S"].startswith("EVENT#"))
    assert claims == ["EVENT#segment_api#m-1"]
    # And each duplicate names the event the tracking API stored first, under the id it had then
    original = event_id("segment_api", "m-1")
    assert webhook["event_ids"] == [original]
    for way in ("segment_api", "segment"):
        [duplicate] = logged(deliveries_api, way)
        assert duplicate["outcome"] == Outcome.DUPLICATE.value
        assert [e["event_id"] for e in duplicate["events"]] == [original]
