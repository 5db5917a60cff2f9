"""Erasure and the delivery log: a body is found under its own person and everyone else it names (in the write
that keeps it), and an event about a person erased after it happened, which reaches the hub after the erasure
(a browser's offline queue, a vendor's late retry), is never published and its stored body is blanked."""

from __future__ import annotations

import json
import time
import zlib
from datetime import UTC, datetime
from typing import Any

import boto3

from shared.adapters.dynamodb_ledger import DynamoDbDeliveryLedger
from shared.adapters.dynamodb_privacy_deliveries import DeliveriesPrivacy
from shared.adapters.dynamodb_privacy_ledger import DynamoDbErasureLedger
from shared.catalog import LEADS, WEBHOOK_DELIVERIES, physical_name
from shared.events.ids import event_id
from shared.privacy.model import Person
from shared.privacy.subject_keys import subject_hash
from shared.webhooks.model import DeliveryAttempt, Disposition, EventRecord, Outcome, StoredEvent
from tests.fakes import FixedClock
from tests.integration.conftest import STAGE, drain, handler_module, only_table
from tests.integration.test_webhook_routes import LOCAL_HUBSPOT_SECRET, post_webhook, stripe_headers
from tests.webhook_samples import hubspot_event, hubspot_events, stripe_event

TABLE = physical_name(STAGE, WEBHOOK_DELIVERIES.name)
DAN, BOB = subject_hash("email#dan@example.io"), subject_hash("email#bob@example.io")
INVITE = {
    "type": "track",
    "userId": "dan-7",
    "messageId": "inv-1",
    "event": "Invite Sent",
    "properties": {"invitee_email": "bob@example.io"},
    "context": {"traits": {"email": "dan@example.io"}},
}


def _attempt(attempt_id: str, body: bytes, event: StoredEvent, subjects: tuple[str, ...]) -> DeliveryAttempt:
    at = FixedClock().now()
    return DeliveryAttempt(
        attempt_id=attempt_id,
        vendor="segment_api",
        received_at=at,
        outcome=Outcome.ACCEPTED,
        status_code=202,
        body=body,
        body_sha256="abc",
        body_size=len(body),
        content_type="application/json",
        user_agent="analytics.js",
        source_ip="203.0.113.9",
        events=[EventRecord(event.dedupe_key, "track", event.event_id, Disposition.ACCEPTED)],
        url="https://hub.example.com/v1/track",
        request_id="req-1",
        subjects=subjects,
    )


def _under(client: Any, subject: str) -> list[dict[str, Any]]:
    return client.query(
        TableName=TABLE,
        IndexName="by-subject",
        KeyConditionExpression="subject = :s",
        ExpressionAttributeValues={":s": {"S": subject}},
    )["Items"]


def _body(client: Any, pk: str) -> bytes | None:
    item = client.get_item(TableName=TABLE, Key={"pk": {"S": pk}}).get("Item") or {}
    return zlib.decompress(item["body"]["B"]) if "body" in item else None


def test_a_body_naming_another_person_is_found_under_both_and_each_erasure_takes_only_its_own() -> None:
    with only_table(WEBHOOK_DELIVERIES) as client:
        clock = FixedClock()
        ledger = DynamoDbDeliveryLedger(client, TABLE, clock.now)
        calls: list[str] = []
        client.meta.events.register("before-call.dynamodb.*", lambda model, **_: calls.append(model.name))
        alone = StoredEvent("segment_api", "solo-1", event_id("segment_api", "solo-1"), DAN, "segment_api")
        ledger.accept(_attempt("a0", b'{"userId": "dan-7"}', alone, ()), [alone])
        invite = StoredEvent("segment_api", "inv-1", event_id("segment_api", "inv-1"), DAN, "segment_api")
        # When Dan's call naming only himself, then his invite naming Bob, are stored
        ledger.accept(_attempt("a1", json.dumps(INVITE).encode(), invite, (BOB,)), [invite])
        # Then the first is one put, the second (it names a further person) one transaction
        assert calls == ["PutItem", "TransactWriteItems"]
        # And the invite is found under Dan (its claim) and under Bob (a pointer), and no item of it makes Bob its
        # whole owner
        assert {item["attempt_id"]["S"] for item in _under(client, DAN)} == {"a0", "a1"}
        [pointer] = _under(client, BOB)
        assert (pointer["kind"]["S"], pointer["attempt_id"]["S"]) == ("subject", "a1")
        attempt = client.get_item(TableName=TABLE, Key={"pk": {"S": "ATTEMPT#a1"}})["Item"]
        assert "subject" not in attempt
        # When Bob is erased, Dan's call keeps everything but Bob
        privacy = DeliveriesPrivacy(client, TABLE, clock.now)
        privacy.erase(Person(email="bob@example.io", identity_keys=("email#bob@example.io",)))
        kept = _body(client, "ATTEMPT#a1") or b""
        assert b"bob@example.io" not in kept
        assert b"dan@example.io" in kept
        assert b"Invite Sent" in kept
        # And when Dan is erased, his body no longer names him
        privacy.erase(Person(email="dan@example.io", identity_keys=("email#dan@example.io", "segment#dan-7")))
        assert b"dan@example.io" not in (_body(client, "ATTEMPT#a1") or b"")
        assert b"dan-7" not in (_body(client, "ATTEMPT#a1") or b"")
        assert _body(client, "EVENT#segment_api#solo-1") is None


def _tombstone(email: str, contact: str | None = None) -> None:
    client = boto3.client("dynamodb", region_name="us-east-1")
    keys = [f"email#{email}", *([contact] if contact else [])]
    erasures = DynamoDbErasureLedger(client, physical_name(STAGE, LEADS.name))
    erasures.tombstone([subject_hash(key) for key in keys], datetime.now(UTC), "erasure-1")


def test_a_late_event_about_an_erased_person_is_not_published_and_its_body_is_blanked(aws: Any, outbox: Any) -> None:
    receiver = handler_module("webhook_receiver")
    client = boto3.client("dynamodb", region_name="us-east-1")
    # Given Eve erased now
    _tombstone("eve@example.io")
    # When Stripe sends an event about her that happened before (a late retry), and one about Ada
    late = stripe_event(
        "evt_late", "customer.created", object="customer", id="cus_eve", email="eve@example.io", customer_email=None
    )
    ada = stripe_event("evt_ada", "invoice.paid")
    for body in (late, ada):
        assert post_webhook(receiver, "stripe", body, stripe_headers(body))["statusCode"] == 202
    # Then only Ada's event reaches the bus
    outbox()
    on_bus = [
        json.loads(event["detail"]) if isinstance(event["detail"], str) else event["detail"]
        for event in drain(aws.all_events_url)
    ]
    assert [detail["vendor_event_id"] for detail in on_bus] == ["evt_ada"]
    # And Eve's stored body and request are gone, as an erasure would have left them; Ada's stays
    item = client.get_item(TableName=TABLE, Key={"pk": {"S": "EVENT#stripe#evt_late"}})["Item"]
    assert ("body" in item, "request" in item, "erased_at" in item, "subject" in item) == (False, False, True, False)
    assert _body(client, "EVENT#stripe#evt_ada") == ada


def test_a_late_event_of_a_batch_is_held_back_and_only_its_person_taken_out_of_the_body(aws: Any, outbox: Any) -> None:
    from shared.webhooks.vendors.hubspot import sign

    receiver = handler_module("webhook_receiver")
    client = boto3.client("dynamodb", region_name="us-east-1")
    _tombstone("eve@example.io", "hubspot#501")
    body = hubspot_events(hubspot_event(1, objectId=501, propertyValue="eve@example.io"), hubspot_event(2, objectId=7))
    timestamp = str(int(time.time() * 1000))
    signature = sign(LOCAL_HUBSPOT_SECRET, "POST", "https://hub.example.com/prod/webhooks/hubspot", body, timestamp)
    headers = {"X-HubSpot-Signature-v3": signature, "X-HubSpot-Request-Timestamp": timestamp}
    answer = post_webhook(receiver, "hubspot", body, headers)
    assert answer["statusCode"] == 202, answer["body"]
    outbox()
    on_bus = [
        json.loads(event["detail"]) if isinstance(event["detail"], str) else event["detail"]
        for event in drain(aws.all_events_url)
    ]
    assert [detail["subject"].get("contact_id") for detail in on_bus] == ["hubspot:7"]
    attempt = json.loads(answer["body"])["delivery_id"]
    kept = _body(client, f"ATTEMPT#{attempt}") or b""
    assert b"eve@example.io" not in kept
    assert b'"objectId":7' in kept.replace(b" ", b"")
