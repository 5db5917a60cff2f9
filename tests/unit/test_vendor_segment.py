"""Segment: the signed webhook destination and the write-key tracking API, normalized the same way."""

from __future__ import annotations

import base64
import gzip
import json
from datetime import UTC, datetime

import pytest

from shared.events.canonical import EngagementKind, EventType
from shared.webhooks.model import InboundWebhook
from shared.webhooks.normalizers import normalize
from shared.webhooks.signatures import SignatureError
from shared.webhooks.vendor import DeliveryContext, MalformedPayload, PayloadTooLarge, Reply
from shared.webhooks.vendors.segment import Segment, SegmentTrackingApi, sign

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CONTEXT = DeliveryContext("d1", "r1", NOW)
SECRET = "segment-secret"
WRITE_KEY = "write-key-1"


def message(kind: str = "track", **fields: object) -> dict:
    base = {"type": kind, "messageId": f"m-{kind}", "userId": "u1", "timestamp": "2026-11-25T11:59:00Z"}
    if kind == "track":
        base["event"] = "Demo Requested"
    return base | fields


def webhook(body: bytes, signature: str | None) -> InboundWebhook:
    headers = {"x-signature": signature} if signature else {}
    return InboundWebhook("segment", "POST", "https://hub/webhooks/segment", headers, body, "r")


def api_call(path: str, body: dict | bytes, write_key: str | None = WRITE_KEY, **headers: str) -> InboundWebhook:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    if write_key is not None:
        headers["authorization"] = "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()
    return InboundWebhook("segment_api", "POST", f"https://hub{path}", headers, raw, "r")


def normalized(vendor, request):  # type: ignore[no-untyped-def]
    return [normalize(vendor.name, event, CONTEXT) for event in vendor.parse(request)]


def test_a_signed_destination_message_verifies_and_a_forged_one_does_not() -> None:
    body = json.dumps(message()).encode()
    Segment().verify(webhook(body, sign(SECRET, body)), ["old", SECRET], NOW)
    with pytest.raises(SignatureError):
        Segment().verify(webhook(body, sign("forged", body)), [SECRET], NOW)
    with pytest.raises(SignatureError, match="missing"):
        Segment().verify(webhook(body, None), [SECRET], NOW)
    with pytest.raises(SignatureError):
        Segment().verify(webhook(body + b" ", sign(SECRET, body)), [SECRET], NOW)


@pytest.mark.parametrize(
    ("msg", "event_type", "kind"),
    [
        (message("track"), EventType.ENGAGEMENT_RECORDED, EngagementKind.DEMO_REQUEST),
        (message("track", event="Signed Up"), EventType.ENGAGEMENT_RECORDED, EngagementKind.TRIAL_SIGNUP),
        (message("track", event="Clicked Thing"), EventType.ENGAGEMENT_RECORDED, EngagementKind.TRACK),
        (message("page", properties={"path": "/blog/x"}), EventType.ENGAGEMENT_RECORDED, EngagementKind.PAGE_VIEW),
        (
            message("page", properties={"url": "https://x.io/pricing"}),
            EventType.ENGAGEMENT_RECORDED,
            EngagementKind.PRICING_PAGE_VISIT,
        ),
        (message("identify", traits={"email": "ada@example.com"}), EventType.CONTACT_UPSERTED, None),
        (message("group", groupId="acme"), EventType.ACCOUNT_UPSERTED, None),
    ],
)
def test_segment_messages_map_onto_the_taxonomy(msg: dict, event_type: EventType, kind: EngagementKind | None) -> None:
    [event] = normalized(Segment(), webhook(json.dumps(msg).encode(), "x"))
    assert event.event_type is event_type
    if kind is not None:
        assert event.data["kind"] == kind.value
    assert event.subject.contact_id == "segment:u1"
    assert event.vendor_event_id == msg["messageId"]
    assert event.occurred_at == datetime(2026, 11, 25, 11, 59, tzinfo=UTC)


def test_anonymous_visitors_are_named_by_their_anonymous_id() -> None:
    msg = message("page", userId=None, anonymousId="anon-7")
    [event] = normalized(Segment(), webhook(json.dumps(msg).encode(), "x"))
    assert event.subject.contact_id == "segment-anonymous:anon-7"
    assert event.data["anonymous_id"] == "anon-7"


def test_the_tracking_api_accepts_a_write_key_as_basic_user_or_in_the_body() -> None:
    api = SegmentTrackingApi()
    api.verify(api_call("/v1/track", message()), [WRITE_KEY], NOW)
    api.verify(api_call("/v1/batch", {"batch": [message()], "writeKey": WRITE_KEY}, write_key=None), [WRITE_KEY], NOW)
    with pytest.raises(SignatureError, match="not one this hub issued"):
        api.verify(api_call("/v1/track", message(), write_key="stolen"), [WRITE_KEY], NOW)
    with pytest.raises(SignatureError, match="missing write key"):
        api.verify(api_call("/v1/track", b"not json", write_key=None), [WRITE_KEY], NOW)


def test_a_batch_becomes_one_event_per_message_with_batch_context() -> None:
    batch = {"batch": [message("identify"), message("page", messageId="m-2")], "context": {"ip": "203.0.113.1"}}
    events = SegmentTrackingApi().parse(api_call("/v1/batch", batch))
    assert [event.vendor_event_type for event in events] == ["identify", "page"]
    assert all(event.payload["context"] == {"ip": "203.0.113.1"} for event in events)


def test_single_calls_take_their_type_from_the_path() -> None:
    msg = {k: v for k, v in message("identify").items() if k != "type"}
    [event] = SegmentTrackingApi().parse(api_call("/v1/identify", msg))
    assert event.vendor_event_type == "identify"


def test_gzip_bodies_are_inflated_but_not_past_the_limit() -> None:
    body = gzip.compress(json.dumps({"batch": [message()]}).encode())
    [event] = SegmentTrackingApi().parse(api_call("/v1/batch", body, **{"content-encoding": "gzip"}))
    assert event.vendor_event_id == "m-track"
    bomb = gzip.compress(b"{" + b" " * (3 * 1024 * 1024) + b"}")
    with pytest.raises(MalformedPayload, match="inflates past"):
        SegmentTrackingApi().parse(api_call("/v1/batch", bomb, **{"content-encoding": "gzip"}))


@pytest.mark.parametrize(
    ("path", "body", "problem"),
    [
        ("/v1/batch", {"batch": []}, "non-empty"),
        ("/v1/batch", {"batch": ["x"]}, "message object"),
        ("/v1/track", {"type": "track", "userId": "u"}, "track message has no event name"),
        ("/v1/track", {"messageId": "m", "event": "x"}, "neither userId nor anonymousId"),
        ("/v1/track", {"messageId": "m", "userId": "u"}, "no event name"),
        ("/v1/track", {"type": "explode", "messageId": "m", "userId": "u"}, "not one of"),
    ],
)
def test_malformed_messages_name_what_is_wrong(path: str, body: dict, problem: str) -> None:
    with pytest.raises(MalformedPayload, match=problem):
        SegmentTrackingApi().parse(api_call(path, body))


def test_the_tracking_api_answers_like_segment() -> None:
    api = SegmentTrackingApi()
    assert api.reply(Reply(202, {"delivery_id": "d"})) == Reply(200, {"success": True})
    refused = api.reply(Reply(401, {"message": "no", "delivery_id": "d"}))
    assert refused.status_code == 401
    assert refused.body["code"] == "unauthorized"


def test_a_content_event_is_named_by_its_content_so_pieces_can_be_counted() -> None:
    # Given two downloads of different guides, as Segment's B2B spec sends them
    first = message("track", event="Content Downloaded", messageId="m1", properties={"title": "RevOps guide"})
    second = message("track", event="Content Downloaded", messageId="m2", properties={"title": "Pipeline report"})
    # When they are normalized
    names = [normalized(Segment(), webhook(json.dumps(m).encode(), "x"))[0].data["name"] for m in (first, second)]
    # Then each carries its piece's title, not the shared event name
    assert names == ["RevOps guide", "Pipeline report"]


def test_a_page_carries_the_callers_context_traits_but_never_its_name_as_a_trait() -> None:
    # Given a page call named "Pricing" whose SDK attached what it knows of the person
    msg = message("page", name="Pricing", context={"traits": {"email": "sam@acme.io", "lastName": "Ortiz"}})
    # When it is normalized
    [event] = normalized(Segment(), webhook(json.dumps(msg).encode(), "x"))
    # Then the person's traits travel as traits, the page name only as the engagement's name
    assert event.data["traits"] == {"email": "sam@acme.io", "lastName": "Ortiz"}
    assert event.data["name"] == "Pricing"
    assert event.subject.email == "sam@acme.io"


def test_a_call_carries_its_campaign_context_for_attribution() -> None:
    # Given a page call whose SDK read the landing page's UTM parameters into context.campaign (Segment's spec),
    # with a key beyond the spec's five
    campaign = {"name": "spring-26", "source": "google", "medium": "cpc", "term": "crm", "content": "ad-b"}
    msg = message("page", context={"campaign": campaign | {"utm_id": "x"}, "page": {"referrer": "https://g.co/"}})
    # When it is normalized
    [event] = normalized(Segment(), webhook(json.dumps(msg).encode(), "x"))
    # Then the engagement carries the spec's five fields, and the referrer as before
    assert event.data["campaign"] == campaign
    assert event.data["referrer"] == "https://g.co/"


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ({"groupId": "grp-osprey"}, {"group_id": "grp-osprey"}),
        ({"groupId": 4711}, {"group_id": "4711"}),  # an integer id, as text
        ({"groupId": ""}, {}),
        ({"groupId": {"id": "x"}}, {}),  # not an id: says nothing, the call is kept
        ({}, {}),
    ],
)
def test_a_track_carries_the_account_its_context_names_by_group_id(context: dict, expected: dict) -> None:
    # Given a product track made in an account's workspace (Segment's B2B spec: `context.groupId`), or without one
    msg = message("track", event="Report Created", context=context)
    # When it is received and normalized
    [event] = normalized(SegmentTrackingApi(), api_call("/v1/track", msg))
    # Then the engagement carries the group as `group_id` when it is an id, and is kept either way
    assert event.data["kind"] == EngagementKind.TRACK.value
    assert {key: event.data[key] for key in ("group_id",) if key in event.data} == expected
    assert event.subject.account_id is None  # the person's subject is unchanged: health reads the group


@pytest.mark.parametrize(
    ("campaign", "expected"),
    [
        (None, {}),
        ([], {}),  # PHP's empty object
        ({"name": 2026, "medium": ""}, {"name": "2026"}),  # an integer campaign id; an empty field is none
        ({"source": "newsletter", "medium": None}, {"source": "newsletter"}),
        ("spring", {}),  # not an object: no campaign
        ({"name": ["a"], "medium": 5, "source": {"x": 1}, "term": True, "content": "ad-b"}, {"content": "ad-b"}),
    ],
)
def test_a_missing_partial_or_mistyped_campaign_carries_what_came(campaign: object, expected: dict) -> None:
    # Given a call whose context.campaign is missing, partial or holds fields of the wrong type
    msg = message("track", context={"campaign": campaign})
    # When it is received and normalized
    [event] = normalized(SegmentTrackingApi(), api_call("/v1/track", msg))
    # Then the engagement is kept, with the campaign fields that are strings (or an integer campaign id)
    assert event.data["kind"] == EngagementKind.DEMO_REQUEST.value
    assert event.data["campaign"] == expected


# Hostile and malformed calls (issue 8) ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "write_key"),
    [
        (b"[" * 10_000 + b"]" * 10_000, None),
        (b'{"writeKey": "write-key-1", "n": ' + b"1" * 5000 + b"}", None),
        (b'{"writeKey": ' * 100 + b"1" + b"}" * 100, None),
    ],
)
def test_without_basic_auth_a_body_past_the_json_bounds_proves_nothing(body: bytes, write_key: str | None) -> None:
    # Given a call without HTTP Basic auth whose body is past the JSON bounds (even one holding a key)
    # When it is verified
    # Then it is refused as unauthenticated, not a crash
    with pytest.raises(SignatureError, match="missing write key"):
        SegmentTrackingApi().verify(api_call("/v1/batch", body, write_key=write_key), [WRITE_KEY], NOW)


def test_the_basic_key_is_checked_without_reading_the_body() -> None:
    # Given a wrong HTTP Basic key on a body that is not even JSON
    # When it is verified, Then the key alone decides
    with pytest.raises(SignatureError, match="not one this hub issued"):
        SegmentTrackingApi().verify(api_call("/v1/batch", b"[" * 10_000, write_key="stolen"), [WRITE_KEY], NOW)


@pytest.mark.parametrize(
    ("message_fields", "named"),
    [
        ({"properties": [1]}, "batch[0].properties: expected an object"),
        ({"properties": "x"}, "batch[0].properties: expected an object"),
        ({"context": "web"}, "batch[0].context: expected an object"),
        ({"context": {"page": "x"}}, "batch[0].context.page: expected an object"),
        ({"context": {"traits": 7}}, "batch[0].context.traits: expected an object"),
        ({"traits": "x"}, "batch[0].traits: expected an object"),
        ({"properties": {"url": 5}}, "batch[0].properties.url: expected a string"),
        ({"properties": {"path": ["/pricing"]}}, "batch[0].properties.path: expected a string"),
        ({"event": 42}, "batch[0].event: expected a string"),
        ({"messageId": 7}, "batch[0].messageId: expected a string"),
        ({"userId": {"id": 1}}, "batch[0].userId: expected an id"),
        ({"timestamp": "+58000-01-01T00:00:00Z"}, "batch[0].timestamp: "),
        ({"timestamp": "1969-07-20T20:17:00Z"}, "batch[0].timestamp: "),
        ({"timestamp": 1764072000}, "batch[0].timestamp: expected an ISO-8601 time"),
    ],
)
def test_a_field_of_the_wrong_type_is_malformed_and_named(message_fields: dict, named: str) -> None:
    with pytest.raises(MalformedPayload) as refused:
        SegmentTrackingApi().parse(api_call("/v1/batch", {"batch": [message() | message_fields]}))
    assert named in str(refused.value)


def test_what_php_sends_for_an_empty_object_is_an_empty_object() -> None:
    # Given analytics-php's encoding of empty properties and context: [] where {} is meant
    [event] = normalized(SegmentTrackingApi(), api_call("/v1/track", message(properties=[], context=[])))
    # Then they are read as empty objects
    assert event.data["properties"] == {}
    assert event.data["traits"] == {}


def test_an_integer_user_id_names_the_contact() -> None:
    [event] = normalized(SegmentTrackingApi(), api_call("/v1/track", message(userId=42)))
    assert event.subject.contact_id == "segment:42"


@pytest.mark.parametrize(
    ("path", "body", "problem", "too_large"),
    [
        ("/v1/batch", {"batch": [message(messageId=f"m-{n}") for n in range(2501)]}, "at most 2,500", True),
        ("/v1/batch", {"batch": [message(properties={"x": "y" * 33_000})]}, r"batch\[0\] is 33,", False),
        ("/v1/track", message(properties={"x": "y" * 33_000}), "the message is 33,", False),
    ],
)
def test_segments_limits_hold(path: str, body: dict, problem: str, too_large: bool) -> None:
    with pytest.raises(PayloadTooLarge if too_large else MalformedPayload, match=problem):
        SegmentTrackingApi().parse(api_call(path, body))


def test_a_gzip_body_is_held_to_the_batch_limit_inflated() -> None:
    body = gzip.compress(json.dumps({"batch": [message(properties={"x": "y" * 30_000})] * 20}).encode())
    assert len(body) < 32 * 1024
    with pytest.raises(PayloadTooLarge, match="inflates past"):
        SegmentTrackingApi().parse(api_call("/v1/batch", body, **{"content-encoding": "gzip"}))
