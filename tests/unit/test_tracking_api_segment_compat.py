"""The tracking API speaks Segment's HTTP API as analytics SDKs and api.segment.io do: analytics.js's short paths,
Segment's clock-skew correction, a batch keeping its good messages, and calls without a `messageId`."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from shared.catalog import CATALOG
from shared.catalog.webhooks import TRACKING_SHORT_PATHS, TRACKING_SHORT_ROUTE
from shared.webhooks.model import InboundWebhook
from shared.webhooks.subjects import subjects_of_body
from shared.webhooks.vendor import MalformedPayload, NoSuchCall, Refusal, Reply
from shared.webhooks.vendors.segment import RECEIVED_AT_HEADER, SHORT_CALLS, Segment, SegmentTrackingApi, sign
from tests.fakes import StaticSecrets
from tests.vendor_samples import Gateway

RECEIVED = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
WRITE_KEY = "write-key-1"
SHORT_PATHS = {"t": "track", "i": "identify", "p": "page", "s": "screen", "g": "group", "a": "alias"}


def api_call(path: str, body: dict, received: datetime | None = RECEIVED, **headers: str) -> InboundWebhook:
    headers["authorization"] = "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()
    if received is not None:
        headers[RECEIVED_AT_HEADER] = received.isoformat()
    return InboundWebhook("segment_api", "POST", f"https://hub{path}", headers, json.dumps(body).encode(), "r")


def track(message_id: str | None = "m-1", **fields: object) -> dict:
    message = {"type": "track", "userId": "u1", "event": "Demo Requested", "timestamp": "2026-11-25T11:59:00Z"}
    return message | ({"messageId": message_id} if message_id else {}) | fields


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


# A. analytics.js's paths ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("short", "call"), SHORT_PATHS.items())
def test_analytics_js_short_paths_are_the_calls_they_abbreviate(short: str, call: str) -> None:
    # Given the message analytics.js (Analytics Next) posts to `<apiHost>/<first letter of its type>`, without a type
    message = {"messageId": "m", "userId": "u1", "event": "x", "previousId": "p", "groupId": "g"}
    # When it is read
    [event] = SegmentTrackingApi().parse(api_call(f"/v1/{short}", message))
    # Then it is that call
    assert event.vendor_event_type == call


def test_analytics_js_batches_to_b() -> None:
    events = SegmentTrackingApi().parse(api_call("/v1/b", {"batch": [track("m-1"), track("m-2")]}))
    assert [event.dedupe_key for event in events] == ["m-1", "m-2"]


def test_the_catalog_routes_every_path_analytics_js_posts_to() -> None:
    # one route takes them all (`/v1/{call}`, beside the calls' own paths); the local gateway and API Gateway alike
    # route `/v1/t` there (tests/integration/test_tracking_api_browsers.py)
    routes = {route.path for _, route in CATALOG.routes if route.method == "POST"}
    assert TRACKING_SHORT_ROUTE in routes
    assert {f"/v1/{call}" for call in SHORT_PATHS.values()} | {"/v1/batch"} <= routes
    # and the vendor reads each as the call analytics.js means by it (one mapping: the catalog's)
    assert SHORT_CALLS is TRACKING_SHORT_PATHS
    assert SHORT_CALLS == SHORT_PATHS | {"b": "batch"}


@pytest.mark.parametrize("body", [b"{}", b"not json", b"\xff\xfe"])
def test_a_path_that_names_no_call_is_no_such_call_whatever_was_posted(body: bytes) -> None:
    # Given a call posted beside the short paths (through the stage's path), to a name that is none of them
    request = InboundWebhook("segment_api", "POST", "https://hub/prod/v1/zz", {}, body, "r")
    # When it is read, Then it is a 404-kind refusal naming the paths there are, as the caller reached them
    with pytest.raises(NoSuchCall) as refused:
        SegmentTrackingApi().parse(request)
    assert "no tracking call at /prod/v1/zz" in str(refused.value)
    assert "/prod/v1/t," in str(refused.value)
    assert "/prod/v1/track," in str(refused.value)


# B. clock skew ----------------------------------------------------------------------------------------------


def test_a_fast_device_clock_is_corrected_by_sent_at_as_segment_does() -> None:
    # Given a device whose clock is a day fast: the event a minute before it was sent, both by that clock
    fast = RECEIVED + timedelta(days=1)
    body = track(timestamp=iso(fast - timedelta(minutes=1)), sentAt=iso(fast))
    # When the hub receives it at RECEIVED
    [event] = SegmentTrackingApi().parse(api_call("/v1/track", body))
    # Then it happened a minute before it was received, and the payload keeps what the client said
    assert event.occurred_at == RECEIVED - timedelta(minutes=1)
    assert event.payload["timestamp"] == body["timestamp"]


def test_a_batch_is_corrected_by_its_own_sent_at() -> None:
    slow = RECEIVED - timedelta(hours=3)
    body = {"batch": [track(timestamp=iso(slow - timedelta(seconds=30)))], "sentAt": iso(slow)}
    [event] = SegmentTrackingApi().parse(api_call("/v1/batch", body))
    assert event.occurred_at == RECEIVED - timedelta(seconds=30)


def test_a_message_is_never_from_the_future() -> None:
    # Given a timestamp after the time the hub received it, and no sentAt to correct it by
    [event] = SegmentTrackingApi().parse(api_call("/v1/track", track(timestamp="2026-11-26T12:00:00Z")))
    # Then it happened when it was received
    assert event.occurred_at == RECEIVED


def test_without_a_receive_time_the_timestamp_is_taken_as_sent() -> None:
    # Given a delivery stored before the hub stamped receive times (its publisher reads it as the receiver did)
    body = track(timestamp="2026-11-26T12:00:00Z", sentAt="2026-11-26T12:00:01Z")
    [event] = SegmentTrackingApi().parse(api_call("/v1/track", body, received=None))
    assert event.occurred_at == datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


# C. a batch keeps its good messages -------------------------------------------------------------------------


def test_one_bad_message_does_not_lose_the_rest_of_the_batch() -> None:
    # Given a batch of three good messages and one whose `properties.path` is a list
    good = [track(f"g{n}") for n in range(3)]
    bad = track("b", properties={"path": ["docs"]})
    request = api_call("/v1/batch", {"batch": [good[0], bad, *good[1:], "not a message"]})
    # When it is read
    api = SegmentTrackingApi()
    # Then the good messages are its events, and the others refused by position, saying why
    assert [event.dedupe_key for event in api.parse(request)] == ["g0", "g1", "g2"]
    assert api.refused(request) == [
        Refusal(1, "batch[1].properties.path: expected a string"),
        Refusal(4, "every batch entry must be a message object; batch[4] is not"),
    ]


def test_a_batch_of_only_bad_messages_is_malformed_naming_the_first() -> None:
    request = api_call("/v1/batch", {"batch": [track("b1", event=7), track(None, userId=None)]})
    with pytest.raises(MalformedPayload, match=r"batch\[0\].event: expected a string"):
        SegmentTrackingApi().parse(request)


def test_the_gateway_keeps_a_batchs_good_messages_and_names_the_bad_ones() -> None:
    # Given the tracking API behind the receiver and publisher
    gateway = Gateway({"segment_api": SegmentTrackingApi()}, StaticSecrets({"segment_write_key": [WRITE_KEY]}))
    body = {"batch": [track("g0"), track("b", properties={"path": ["docs"]}), track("g1")]}
    # When a batch with one bad message is delivered
    answer = gateway.receive(api_call("/v1/batch", body))
    # Then it is a 200 naming the refused message, the good ones are stored and published, and the log says which
    assert answer.status_code == 200, answer.body
    assert answer.body == {
        "success": True,
        "refused": [{"index": 1, "reason": "batch[1].properties.path: expected a string"}],
        "refused_count": 1,
    }
    assert sorted(event.vendor_event_id for event in gateway.publisher.published) == ["g0", "g1"]
    [attempt] = gateway.ledger.attempts.values()
    assert attempt.status_code == 202
    assert "1 of 3 messages refused" in (attempt.reason or "")
    assert "batch[1].properties.path: expected a string" in (attempt.reason or "")


def test_the_tracking_api_passes_refusals_on_in_its_answer() -> None:
    refusals = [{"index": 2, "reason": "why"}]
    answer = SegmentTrackingApi().reply(Reply(202, {"delivery_id": "d", "refused": refusals, "refused_count": 1}))
    assert answer == Reply(200, {"success": True, "refused": refusals, "refused_count": 1})


# D. calls without a messageId -------------------------------------------------------------------------------


def test_a_call_without_a_message_id_is_taken_and_keyed_by_its_content() -> None:
    # Given Segment's own curl example: no messageId
    api = SegmentTrackingApi()
    [event] = api.parse(api_call("/v1/track", track(None)))
    # Then it is taken, keyed by a hash of its content, and carries no vendor id
    assert event.vendor_event_id is None
    assert event.dedupe_key.startswith("content:")
    # And its retry (another sentAt, the key in the body) is the same message, while another message is not
    [retry] = api.parse(api_call("/v1/track", track(None, sentAt="2026-11-25T12:00:00Z", writeKey=WRITE_KEY)))
    [other] = api.parse(api_call("/v1/track", track(None, event="Trial Started")))
    [in_a_batch] = api.parse(api_call("/v1/batch", {"batch": [track(None)], "sentAt": "2026-11-25T12:00:00Z"}))
    assert retry.dedupe_key == event.dedupe_key == in_a_batch.dedupe_key
    assert other.dedupe_key != event.dedupe_key


def test_a_retried_call_without_a_message_id_is_a_duplicate() -> None:
    gateway = Gateway({"segment_api": SegmentTrackingApi()}, StaticSecrets({"segment_write_key": [WRITE_KEY]}))
    first = gateway.receive(api_call("/v1/track", track(None, sentAt="2026-11-25T11:59:01Z")))
    retry = gateway.receive(api_call("/v1/track", track(None, sentAt="2026-11-25T11:59:31Z")))
    assert (first.status_code, retry.status_code) == (200, 200)
    assert len(gateway.publisher.published) == 1
    assert [a.outcome.value for a in gateway.ledger.attempts.values()] == ["accepted", "duplicate"]


def test_segments_webhook_destination_still_needs_a_message_id() -> None:
    # Segment itself fills one in before forwarding, so a destination message without one is not Segment's
    body = json.dumps({"type": "track", "userId": "u1", "event": "x"}).encode()
    request = InboundWebhook(
        "segment", "POST", "https://hub/webhooks/segment", {"x-signature": sign("s", body)}, body, "r"
    )
    with pytest.raises(MalformedPayload, match="needs a messageId"):
        Segment().parse(request)


def test_an_erasure_finds_a_kept_batch_under_the_emails_of_its_refused_messages() -> None:
    # Given a batch whose refused message names someone no kept message names
    gateway = Gateway({"segment_api": SegmentTrackingApi()}, StaticSecrets({"segment_write_key": [WRITE_KEY]}))
    refused = track("b", properties={"path": ["docs"]}, context={"traits": {"email": "Grace@Example.com"}})
    answer = gateway.receive(api_call("/v1/batch", {"batch": [track("g0"), refused]}))
    assert answer.status_code == 200, answer.body
    # Then the kept body is indexed under them too
    [attempt] = gateway.ledger.attempts.values()
    assert subjects_of_body(b'"grace@example.com"')[0] in attempt.subjects  # type: ignore[index]


def test_a_batch_is_read_once_for_its_messages_and_its_refusals(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a batch with a good and a bad message, and a count of the tracking API's reads of a body
    api = SegmentTrackingApi()
    reads: list[InboundWebhook] = []
    read_anew = api._read_anew
    monkeypatch.setattr(api, "_read_anew", lambda request: reads.append(request) or read_anew(request))
    request = api_call("/v1/batch", {"batch": [track("m-1"), track("m-2", properties={"path": ["x"]})]})
    # When the receiver asks for its messages, then for the refused ones
    events, refused = api.parse(request), api.refused(request)
    # Then the body was read once, and another request is read anew
    assert ([e.dedupe_key for e in events], [r.position for r in refused], len(reads)) == (["m-1"], [1], 1)
    api.parse(api_call("/v1/batch", {"batch": [track("m-3")]}))
    assert len(reads) == 2
