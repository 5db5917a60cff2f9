"""Segment's two ways in (the webhook destination `segment`, the tracking API `segment_api`) share one
de-duplication namespace: a message is stored and published once, whichever way it arrives first, and its
canonical event has the same id either way, while `source_vendor` still says which way it came. The namespace is
the tracking API's own (`segment_api`), so its ids are those it always had; a message the webhook destination
stored before (under `segment`) keeps the id it was stored with."""

from __future__ import annotations

import base64
import json

import pytest

from shared.events.canonical import CanonicalEvent
from shared.events.ids import event_id
from shared.webhooks.model import DeliveryAttempt, InboundWebhook, Outcome, StoredEvent
from shared.webhooks.normalizers import normalize
from shared.webhooks.registry import ALL_VENDORS, TRACKING_API
from shared.webhooks.vendor import Reply
from shared.webhooks.vendors.segment import Segment
from tests.fakes import StaticSecrets
from tests.vendor_samples import CONTEXT, SEGMENT_SECRET, Gateway, signed

WRITE_KEY = "write-key-1"
WAYS = ("segment", "segment_api")


def identify(message_id: str = "m-shared") -> dict:
    return {
        "type": "identify",
        "messageId": message_id,
        "userId": "u-1",
        "traits": {"email": "ada@example.com"},
        "timestamp": "2026-11-25T11:59:00Z",
    }


def tracking_call(path: str, body: dict) -> InboundWebhook:
    auth = "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()
    raw = json.dumps(body).encode()
    return InboundWebhook("segment_api", "POST", f"https://hub.example.com{path}", {"authorization": auth}, raw, "r")


def arriving(way: str, message: dict) -> InboundWebhook:
    """`message` as Segment's webhook destination signs it, or as analytics.js posts it to the tracking API."""
    if way == "segment":
        return signed("segment", json.dumps(message).encode())
    return tracking_call(f"/v1/{message['type']}", message)


@pytest.fixture
def gateway() -> Gateway:
    secrets = StaticSecrets({"segment": [SEGMENT_SECRET], "segment_write_key": [WRITE_KEY]})
    return Gateway({"segment": Segment(), "segment_api": TRACKING_API}, secrets)


def attempts_of(gateway: Gateway, way: str) -> list[DeliveryAttempt]:
    return [attempt for attempt in gateway.ledger.attempts.values() if attempt.vendor == way]


def answered_as_a_duplicate(way: str, reply: Reply) -> bool:
    """The webhook destination gets the gateway's 200 duplicate; the tracking API answers any 2xx as SDKs
    expect it, `{"success": true}`."""
    if way == "segment":
        return reply.status_code == 200 and isinstance(reply.body, dict) and reply.body["status"] == "duplicate"
    return (reply.status_code, reply.body) == (200, {"success": True})


@pytest.mark.parametrize(("first_way", "second_way"), [WAYS, WAYS[::-1]])
def test_a_message_arriving_both_ways_is_stored_and_published_once(
    gateway: Gateway, first_way: str, second_way: str
) -> None:
    # Given a message that arrived one way and was stored and published
    first = gateway.receive(arriving(first_way, identify()))
    assert first.status_code in (200, 202), first.body
    [published] = gateway.publisher.published
    # When the same message (same messageId) arrives the other way
    second = gateway.receive(arriving(second_way, identify()))
    # Then the second is answered as a duplicate is on its way in, and nothing more is published
    assert answered_as_a_duplicate(second_way, second), second.body
    assert gateway.publisher.published == [published]
    # And the one canonical event says which way it came
    assert published.source_vendor == first_way
    # And the second is logged as a duplicate of that very event; only the first stored anything
    [duplicate] = attempts_of(gateway, second_way)
    assert duplicate.outcome is Outcome.DUPLICATE
    assert [record.event_id for record in duplicate.events] == [published.event_id]
    assert [a.outcome for a in attempts_of(gateway, first_way)] == [Outcome.ACCEPTED]
    assert len(gateway.ledger.claims) == 1


def test_a_tracking_batch_stores_only_the_messages_the_webhook_destination_has_not(gateway: Gateway) -> None:
    # Given a message Segment's webhook destination already delivered
    gateway.receive(arriving("segment", identify("m-seen")))
    # When the tracking API receives a batch holding it and a message not seen before
    reply = gateway.receive(tracking_call("/v1/batch", {"batch": [identify("m-seen"), identify("m-new")]}))
    # Then the batch is accepted, and only the new message is published, from the tracking API
    assert (reply.status_code, reply.body) == (200, {"success": True})
    assert [(e.vendor_event_id, e.source_vendor) for e in gateway.publisher.published] == [
        ("m-seen", "segment"),
        ("m-new", "segment_api"),
    ]
    [batch] = attempts_of(gateway, "segment_api")
    assert [record.disposition.value for record in batch.events] == ["duplicate", "accepted"]


def test_the_canonical_event_of_a_message_has_one_id_whichever_way_it_came() -> None:
    # Given one message, as each way in normalizes it
    events: dict[str, CanonicalEvent] = {}
    for way in WAYS:
        vendor = ALL_VENDORS[way]
        [vendor_event] = vendor.parse(arriving(way, identify()))
        events[way] = normalize(way, vendor_event, CONTEXT)
    # Then the event id is the same either way, and each says which way it came
    assert events["segment"].event_id == events["segment_api"].event_id
    assert {way: event.source_vendor for way, event in events.items()} == {
        "segment": "segment",
        "segment_api": "segment_api",
    }
    # And the normalization is otherwise the same
    assert events["segment"].model_dump(exclude={"source_vendor"}) == events["segment_api"].model_dump(
        exclude={"source_vendor"}
    )


def test_every_other_vendor_deduplicates_under_its_own_name() -> None:
    namespaces = {name: vendor.dedupe_namespace for name, vendor in ALL_VENDORS.items()}
    assert namespaces == {name: "segment_api" if name in WAYS else name for name in ALL_VENDORS}


@pytest.mark.parametrize("way", WAYS)
def test_the_shared_id_is_the_one_the_tracking_api_always_gave_a_message(way: str) -> None:
    # Given one message, as each way in normalizes it
    [vendor_event] = ALL_VENDORS[way].parse(arriving(way, identify("m-7")))
    # Then its id is the tracking API's own, as before the two ways shared a namespace (an SDK's retry of a
    # message stored then is a duplicate under the same id)
    assert normalize(way, vendor_event, CONTEXT).event_id == event_id("segment_api", "m-7")


def test_a_message_the_tracking_api_claimed_before_the_shared_namespace_is_a_duplicate_either_way(
    gateway: Gateway,
) -> None:
    # Given a message the tracking API claimed before the two ways shared a namespace (under its own name)
    old_id = event_id("segment_api", "m-1")
    gateway.ledger.accept(stored_before("segment_api", "m-1"), [StoredEvent("segment_api", "m-1", old_id)])
    gateway.drain()
    # When an SDK retries it, and Segment's webhook destination forwards it
    replies = {way: gateway.receive(arriving(way, identify("m-1"))) for way in WAYS}
    # Then both are duplicates of that very event: nothing is claimed again, nothing published again
    assert all(answered_as_a_duplicate(way, reply) for way, reply in replies.items())
    assert list(gateway.ledger.claims) == [("segment_api", "m-1")]
    assert [event.event_id for event in gateway.publisher.published] == [old_id]
    for way in WAYS:
        [duplicate] = [a for a in attempts_of(gateway, way) if a.outcome is Outcome.DUPLICATE]
        assert [record.event_id for record in duplicate.events] == [old_id]


def stored_before(vendor: str, message_id: str) -> DeliveryAttempt:
    """A delivery of one identify message through `vendor`, as the receiver stored it before."""
    request = arriving(vendor, identify(message_id))
    return DeliveryAttempt(
        attempt_id=f"attempt-old-{vendor}",
        vendor=vendor,
        received_at=CONTEXT.received_at,
        outcome=Outcome.ACCEPTED,
        status_code=202,
        body=request.body,
        body_sha256="",
        body_size=len(request.body),
        content_type="application/json",
        user_agent=None,
        source_ip=None,
        url=request.url,
        request_id=request.request_id,
        headers=request.headers,
    )


def test_a_message_the_webhook_destination_stored_before_the_shared_namespace_keeps_its_id(gateway: Gateway) -> None:
    # Given a webhook destination message claimed, and logged, under the webhook destination's own name (as before
    # the two ways in shared a namespace), whose publish is still to come (in flight, or set aside for a redrive)
    request = arriving("segment", identify("m-old"))
    [vendor_event] = Segment().parse(request)
    old_id = event_id("segment", "m-old")
    attempt = DeliveryAttempt(
        attempt_id="attempt-old",
        vendor="segment",
        received_at=CONTEXT.received_at,
        outcome=Outcome.ACCEPTED,
        status_code=202,
        body=request.body,
        body_sha256="",
        body_size=len(request.body),
        content_type="application/json",
        user_agent=None,
        source_ip=None,
        url=request.url,
        request_id=request.request_id,
        headers=request.headers,
    )
    gateway.ledger.accept(attempt, [StoredEvent("segment", vendor_event.dedupe_key, old_id)])
    # When the publisher puts it on the bus
    gateway.drain()
    # Then it is published under the id it was stored and logged with, not the shared namespace's
    [published] = gateway.publisher.published
    assert (published.event_id, published.source_vendor) == (old_id, "segment")
    assert old_id != event_id("segment_api", "m-old")
