"""The deployed handlers, invoked with the API Gateway events AWS sends, over moto."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime

import boto3
import pytest
import stripe

from local_runtime.lambda_events import LocalLambdaContext, rest_proxy_event
from shared.adapters.dynamodb_ledger import outbox_entry
from shared.adapters.eventbridge_publisher import EventBridgePublisher
from shared.events.canonical import WEBHOOK_EVENT_SOURCE
from tests.integration.conftest import drain, handler_module, refuse_put_events
from tests.webhook_samples import hubspot_event, hubspot_events, stripe_event

LOCAL_STRIPE_SECRET = "whsec_local_stripe_current_dev_only"
LOCAL_HUBSPOT_SECRET = "local-hubspot-client-secret-dev-only"
LOCAL_ZENDESK_SECRET = "local-zendesk-signing-secret-dev-only"
LOCAL_ORG = "00D000000000001AAA"


@pytest.fixture
def receiver(aws):  # type: ignore[no-untyped-def]
    return handler_module("webhook_receiver")


@pytest.fixture
def deliveries_api(aws):  # type: ignore[no-untyped-def]
    return handler_module("webhook_deliveries_api")


def post_webhook(handler, vendor: str, body: bytes, headers: dict[str, str]) -> dict:  # type: ignore[no-untyped-def]
    event = rest_proxy_event(
        method="POST",
        path=f"/webhooks/{vendor}",
        resource="/webhooks/{vendor}",
        path_parameters={"vendor": vendor},
        headers={"Host": "hub.example.com", "X-Forwarded-Proto": "https", "Content-Type": "application/json"} | headers,
        body=body,
        stage="prod",
    )
    event["requestContext"]["path"] = f"/prod/webhooks/{vendor}"
    return handler.handler(event, LocalLambdaContext("webhook-receiver"))


def published(outbox, aws) -> list[dict]:  # type: ignore[no-untyped-def]
    """What reached the bus once the publisher's stream trigger ran over what the receiver stored."""
    outbox()
    return drain(aws.all_events_url)


def stripe_headers(body: bytes, secret: str = LOCAL_STRIPE_SECRET) -> dict[str, str]:
    return {"Stripe-Signature": stripe.WebhookSignature.generate_signature_header(body.decode(), secret)}


def test_a_signed_stripe_webhook_is_published_to_the_bus(receiver, aws, outbox) -> None:  # type: ignore[no-untyped-def]
    # Given a Stripe event signed with the configured secret
    body = stripe_event("evt_route_1")
    # When Stripe posts it through API Gateway
    response = post_webhook(receiver, "stripe", body, stripe_headers(body))
    # Then it is accepted and the canonical event is on the bus
    assert response["statusCode"] == 202, response["body"]
    [message] = published(outbox, aws)
    assert message["detail-type"] == "payment.succeeded"
    assert message["detail"]["vendor_event_id"] == "evt_route_1"


def test_a_signed_hubspot_webhook_is_verified_against_the_url_it_was_sent_to(  # type: ignore[no-untyped-def]
    receiver, aws, outbox
) -> None:
    # Given a HubSpot batch signed for https://hub.example.com/prod/webhooks/hubspot
    from shared.webhooks.vendors.hubspot import sign

    body = hubspot_events(hubspot_event(1), hubspot_event(2, objectId=7))
    timestamp = str(int(time.time() * 1000))
    signature = sign(LOCAL_HUBSPOT_SECRET, "POST", "https://hub.example.com/prod/webhooks/hubspot", body, timestamp)
    headers = {"X-HubSpot-Signature-v3": signature, "X-HubSpot-Request-Timestamp": timestamp}
    # When HubSpot posts it
    response = post_webhook(receiver, "hubspot", body, headers)
    # Then both events are on the bus
    assert response["statusCode"] == 202, response["body"]
    assert len(published(outbox, aws)) == 2


def test_a_wrong_signature_is_401_and_logged_without_the_signature(  # type: ignore[no-untyped-def]
    receiver, deliveries_api, aws, outbox
) -> None:
    # Given a Stripe event signed with the wrong secret
    body = stripe_event("evt_forged")
    headers = stripe_headers(body, "whsec_attacker")
    # When it is posted
    response = post_webhook(receiver, "stripe", body, headers)
    # Then it is 401, nothing is published, and the delivery log records why (and not the signature)
    assert response["statusCode"] == 401
    assert published(outbox, aws) == []
    listed = list_deliveries(deliveries_api, {"cognito:groups": "admin"})
    [item] = json.loads(listed["body"])["items"]
    assert (item["outcome"], item["status_code"]) == ("rejected", 401)
    assert "signature" in item["reason"]
    assert headers["Stripe-Signature"].split("v1=")[1] not in listed["body"]


@pytest.fixture
def publisher_bus(aws, monkeypatch):  # type: ignore[no-untyped-def]
    """The webhook publisher's EventBridge client, to inject failures into (the handler builds its own once)."""
    events = boto3.client("events")
    publisher = handler_module("webhook_publisher").publisher
    monkeypatch.setattr(publisher, "_bus", EventBridgePublisher(events, aws.bus_name, WEBHOOK_EVENT_SOURCE))
    return events


def test_a_refused_publish_is_retried_by_the_stream_not_the_vendor(  # type: ignore[no-untyped-def]
    receiver, aws, outbox, publisher_bus
) -> None:
    # Given EventBridge fails the next PutEvents with FailedEntryCount > 0 (a throttle)
    refuse_put_events(publisher_bus, times=1)
    body = stripe_event("evt_flaky_bus")
    # When Stripe delivers, and retries anyway
    first = post_webhook(receiver, "stripe", body, stripe_headers(body))
    second = post_webhook(receiver, "stripe", body, stripe_headers(body))
    # Then Stripe got 202 then 200 (stored, then a duplicate), and the stream's retry put the event on the bus once
    assert [r["statusCode"] for r in (first, second)] == [202, 200]
    assert [m["detail"]["vendor_event_id"] for m in published(outbox, aws)] == ["evt_flaky_bus"]
    assert drain(aws.queue_urls["webhook-publisher-async-failures"]) == []


def test_a_body_api_gateway_base64_encoded_is_verified_over_the_original_bytes(  # type: ignore[no-untyped-def]
    receiver, aws
) -> None:
    # Given a body with non-ASCII bytes (API Gateway hands it over base64-encoded)
    body = stripe_event("evt_unicode", customer_email="zoë@example.com")
    # When it is posted
    response = post_webhook(receiver, "stripe", body, stripe_headers(body))
    # Then the signature over the exact bytes verifies
    assert response["statusCode"] == 202, response["body"]


def list_deliveries(handler, claims: dict | None, query: dict[str, list[str]] | None = None) -> dict:  # type: ignore[no-untyped-def]
    event = rest_proxy_event(
        method="GET",
        path="/api/v1/webhooks/deliveries",
        resource="/api/v1/webhooks/deliveries",
        query=query,
        claims=claims,
    )
    return handler.handler(event, LocalLambdaContext("webhook-deliveries-api"))


@pytest.mark.parametrize(
    ("claims", "status"),
    [
        ({"cognito:groups": "admin", "sub": "u1"}, 200),
        ({"cognito:groups": "marketing,sales", "sub": "u2"}, 403),
        (None, 401),
    ],
)
def test_only_admins_read_the_delivery_log(deliveries_api, claims, status) -> None:  # type: ignore[no-untyped-def]
    # Given a caller with <claims>
    # When they list deliveries
    response = list_deliveries(deliveries_api, claims)
    # Then only admins get through, and refusals say why
    assert response["statusCode"] == status
    if status != 200:
        assert json.loads(response["body"])["message"]


@pytest.mark.parametrize(
    ("query", "status", "mentions"),
    [
        ({"limit": ["0"]}, 422, "limit"),
        ({"outcome": ["exploded"]}, 422, "outcome"),
        ({"cursor": ["bm90LWEtY3Vyc29y"]}, 400, "cursor"),
    ],
)
def test_bad_delivery_log_queries_are_4xx_with_a_message(  # type: ignore[no-untyped-def]
    deliveries_api, query, status, mentions
) -> None:
    response = list_deliveries(deliveries_api, {"cognito:groups": "admin"}, query)
    assert response["statusCode"] == status
    assert mentions in json.loads(response["body"])["message"]


def test_the_delivery_log_shows_accepted_and_duplicate_deliveries_newest_first(  # type: ignore[no-untyped-def]
    receiver, deliveries_api, aws
) -> None:
    # Given a delivery and its duplicate
    body = stripe_event("evt_twice")
    post_webhook(receiver, "stripe", body, stripe_headers(body))
    post_webhook(receiver, "stripe", body, stripe_headers(body))
    # When an admin reads the log
    response = list_deliveries(deliveries_api, {"cognito:groups": "admin"}, {"vendor": ["stripe"]})
    # Then the duplicate comes first, then the accepted one, each naming the canonical event
    items = json.loads(response["body"])["items"]
    assert [item["outcome"] for item in items] == ["duplicate", "accepted"]
    assert items[0]["events"][0]["event_id"] == items[1]["events"][0]["event_id"]
    assert base64.b64encode(body).decode() not in response["body"]


# No input gives a 5xx (issue 8) -----------------------------------------------------------------------------

WRITE_KEY = "local-write-key-dev-only"


@pytest.fixture
def tracking(aws):  # type: ignore[no-untyped-def]
    return handler_module("tracking_api")


def post_tracking(handler, call: str, body: bytes, write_key: str | None = WRITE_KEY) -> dict:  # type: ignore[no-untyped-def]
    headers = {"Host": "hub.example.com", "Content-Type": "application/json"}
    if write_key is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()
    event = rest_proxy_event(method="POST", path=f"/v1/{call}", resource=f"/v1/{call}", headers=headers, body=body)
    return handler.handler(event, LocalLambdaContext("tracking-api"))


def logged(deliveries_api, vendor: str) -> list[dict]:  # type: ignore[no-untyped-def]
    """The delivery log's entries for `vendor`, newest first, as an admin reads them."""
    response = list_deliveries(deliveries_api, {"cognito:groups": "admin"}, {"vendor": [vendor]})
    return list(json.loads(response["body"])["items"])


def track(message_id: str = "m-1", **fields: object) -> dict:
    return {"type": "track", "messageId": message_id, "userId": "u-1", "event": "Demo Requested"} | fields


@pytest.mark.parametrize(
    ("case", "body"),
    [
        ("10,000 nested brackets", b"[" * 10_000 + b"]" * 10_000),
        ("10,000 nested objects", b'{"a":' * 10_000 + b"1" + b"}" * 10_000),
        ("a 5,000-digit number", b'{"writeKey": "x", "n": ' + b"1" * 5000 + b"}"),
        ("not JSON at all", b"\xff\xfe not json"),
    ],
)
def test_an_unauthenticated_hostile_tracking_body_is_401_and_logged(  # type: ignore[no-untyped-def]
    tracking, deliveries_api, case, body
) -> None:
    # Given a tracking call without HTTP Basic auth whose body is <case>
    # When it is posted
    response = post_tracking(tracking, "batch", body, write_key=None)
    # Then the body is read within limits looking for a writeKey, none is found: 401, and the attempt is logged
    assert response["statusCode"] == 401, response["body"]
    assert json.loads(response["body"])["code"] == "unauthorized"
    [entry] = logged(deliveries_api, "segment_api")
    assert (entry["outcome"], entry["status_code"]) == ("rejected", 401)
    assert "write key" in entry["reason"]


@pytest.mark.parametrize(
    ("case", "message", "named"),
    [
        ("properties a list", track(properties=[1, 2]), "properties: expected an object"),
        ("properties a string", track(properties="plan=enterprise"), "properties: expected an object"),
        ("context a string", track(context="web"), "context: expected an object"),
        ("a numeric url", track(type="page", properties={"url": 5}), "properties.url: expected a string"),
        ("a numeric path", track(type="page", properties={"path": 5}), "properties.path: expected a string"),
        ("a numeric page url", track(type="page", context={"page": {"url": 5}}), "context.page.url: expected a string"),
        ("a timestamp in year 58,000", track(timestamp="+58000-01-01T00:00:00Z"), "timestamp"),
    ],
)
def test_a_malformed_tracking_message_is_refused_and_logged_and_the_rest_of_its_batch_kept(
    tracking, deliveries_api, aws, case, message, named, outbox
) -> None:  # type: ignore[no-untyped-def]
    # Given an authenticated batch holding a good message and one with <case>
    body = json.dumps({"batch": [track("m-ok"), message]}).encode()
    # When it is posted
    response = post_tracking(tracking, "batch", body)
    # Then, as Segment does, it is a 200 (the SDK does not send the batch again), naming the refused message and field
    assert response["statusCode"] == 200, response["body"]
    answer = json.loads(response["body"])
    assert answer["success"] is True
    [refused] = answer["refused"]
    assert refused["index"] == 1
    assert f"batch[1].{named}" in refused["reason"]
    # And the log says so, and the good message is published
    [entry] = logged(deliveries_api, "segment_api")
    assert (entry["outcome"], entry["status_code"]) == ("accepted", 202)
    assert "1 of 2 messages refused" in entry["reason"]
    assert named in entry["reason"]
    assert [m["detail"]["vendor_event_id"] for m in published(outbox, aws)] == ["m-ok"]


def test_a_batch_of_only_malformed_messages_is_400_and_nothing_stored(  # type: ignore[no-untyped-def]
    tracking, deliveries_api, aws, outbox
) -> None:
    body = json.dumps({"batch": [track("m-1", properties=[1]), track("m-2", context="web")]}).encode()
    response = post_tracking(tracking, "batch", body)
    assert response["statusCode"] == 400, response["body"]
    assert "batch[0].properties: expected an object" in json.loads(response["body"])["message"]
    [entry] = logged(deliveries_api, "segment_api")
    assert (entry["outcome"], entry["status_code"]) == ("rejected", 400)
    assert published(outbox, aws) == []


def test_a_message_id_over_dynamodbs_key_limit_is_accepted_and_deduplicated(  # type: ignore[no-untyped-def]
    tracking, aws, outbox
) -> None:
    # Given a track call whose messageId is 3,000 bytes, longer than a DynamoDB key may be
    body = json.dumps(track("m" * 3000)).encode()
    # When it is posted twice
    first = post_tracking(tracking, "track", body)
    second = post_tracking(tracking, "track", body)
    # Then both are answered 200 and the event is on the bus once, with its messageId whole
    assert (first["statusCode"], second["statusCode"]) == (200, 200), first["body"]
    [message] = published(outbox, aws)
    assert message["detail"]["vendor_event_id"] == "m" * 3000


@pytest.mark.parametrize(
    ("case", "body", "status", "named"),
    [
        (
            "a message over 32 KB",
            json.dumps({"batch": [track("m-big", properties={"blob": "x" * 33_000})]}).encode(),
            400,
            "batch[0] is 33,1",
        ),
        (
            "a batch of 2,501 messages",
            json.dumps({"batch": [track(f"m-{n}") for n in range(2501)]}).encode(),
            413,
            "at most 2,500",
        ),
        (
            "a batch over 500 KB",
            json.dumps({"batch": [track(f"m-{n}", properties={"blob": "x" * 20_000}) for n in range(30)]}).encode(),
            413,
            "may send 512000",
        ),
    ],
)
def test_tracking_calls_over_segments_limits_are_refused_and_logged(
    tracking, deliveries_api, aws, case, body, status, named, outbox
) -> None:  # type: ignore[no-untyped-def]
    # Given an authenticated call over Segment's published limits (32 KB a message, 500 KB a batch)
    # When it is posted
    response = post_tracking(tracking, "batch", body)
    # Then it is refused, saying which limit, logged, and nothing is published
    assert response["statusCode"] == status, response["body"]
    assert named in json.loads(response["body"])["message"]
    [entry] = logged(deliveries_api, "segment_api")
    assert (entry["outcome"], entry["status_code"]) == ("rejected", status)
    assert published(outbox, aws) == []


def test_a_batch_of_more_claims_than_a_transaction_is_stored_published_and_logged_whole(
    tracking, deliveries_api, aws, outbox
) -> None:  # type: ignore[no-untyped-def]
    # Given a batch of 150 messages: more claims than one DynamoDB transaction holds
    body = json.dumps({"batch": [track(f"m-{n:04}") for n in range(150)]}).encode()
    # When it is posted
    response = post_tracking(tracking, "batch", body)
    # Then it is accepted, every message is on the bus once, and the log entry names all 150 events
    assert response["statusCode"] == 200, response["body"]
    assert len({m["detail"]["vendor_event_id"] for m in published(outbox, aws)}) == 150
    [entry] = logged(deliveries_api, "segment_api")
    assert (entry["outcome"], len(entry["events"])) == ("accepted", 150)


def test_a_lone_surrogate_in_a_tracking_call_is_replaced_published_and_recorded(
    tracking, deliveries_api, aws, outbox
) -> None:  # type: ignore[no-untyped-def]
    # Given a track call whose event properties hold a lone surrogate (\ud800), which no bus can carry
    body = json.dumps(track("m-surrogate", properties={"plan": "pro \ud800"})).encode()
    # When it is posted, and the SDK retries it
    first = post_tracking(tracking, "track", body)
    second = post_tracking(tracking, "track", body)
    # Then it is accepted (not a 503 forever), published once with U+FFFD in its place, and the log says so
    assert (first["statusCode"], second["statusCode"]) == (200, 200), first["body"]
    [message] = published(outbox, aws)
    assert message["detail"]["data"]["properties"]["plan"] == "pro \ufffd"
    accepted = [entry for entry in logged(deliveries_api, "segment_api") if entry["outcome"] == "accepted"]
    assert "U+FFFD" in accepted[0]["reason"]


def test_a_lone_surrogate_from_hubspot_or_zendesk_is_published_replaced(  # type: ignore[no-untyped-def]
    receiver, aws, outbox
) -> None:
    from shared.webhooks.vendors.hubspot import sign as hubspot_sign
    from shared.webhooks.vendors.zendesk import sign as zendesk_sign

    # Given a HubSpot contact change and a Zendesk ticket, each with a lone surrogate in its text
    hubspot_body = hubspot_events(hubspot_event(31, propertyName="firstname", propertyValue="Ada \ud800"))
    timestamp = str(int(time.time() * 1000))
    url = "https://hub.example.com/prod/webhooks/hubspot"
    hubspot_headers = {
        "X-HubSpot-Signature-v3": hubspot_sign(LOCAL_HUBSPOT_SECRET, "POST", url, hubspot_body, timestamp),
        "X-HubSpot-Request-Timestamp": timestamp,
    }
    zendesk_body = json.dumps(
        {"type": "zen:event-type:ticket.created", "id": "z-1", "detail": {"id": "1", "subject": "Hi \udfff"}}
    ).encode()
    sent_at = datetime.now(UTC).isoformat()
    zendesk_headers = {
        "X-Zendesk-Webhook-Signature": zendesk_sign(LOCAL_ZENDESK_SECRET, zendesk_body, sent_at),
        "X-Zendesk-Webhook-Signature-Timestamp": sent_at,
    }
    # When they are posted
    answers = [
        post_webhook(receiver, "hubspot", hubspot_body, hubspot_headers),
        post_webhook(receiver, "zendesk", zendesk_body, zendesk_headers),
    ]
    # Then both are accepted and published with U+FFFD in place of the surrogate
    assert [a["statusCode"] for a in answers] == [202, 202], [a["body"] for a in answers]
    on_bus = {m["detail"]["source_vendor"]: m["detail"]["data"] for m in published(outbox, aws)}
    assert on_bus["hubspot"]["value"] == "Ada \ufffd"
    assert on_bus["zendesk"]["subject"] == "Hi \ufffd"


def _stripe_with(**fields: object) -> bytes:
    return json.dumps(json.loads(stripe_event("evt_route_shape")) | fields).encode()


@pytest.mark.parametrize(
    ("case", "body", "named"),
    [
        ("data a string", _stripe_with(data="x"), "data: expected an object"),
        ("created 1e20", _stripe_with(created=1e20), "created"),
        ("an email that is a number", None, None),
        ("JSON nested 10,000 deep", b'{"a":' * 10_000 + b"1" + b"}" * 10_000, "nests deeper than 64"),
        ("a 5,000-digit number", b'{"id": 1' + b"0" * 5000 + b"}", "digits"),
    ],
)
def test_a_signed_malformed_stripe_payload_is_400_and_logged(
    receiver, deliveries_api, aws, case, body, named, outbox
) -> None:  # type: ignore[no-untyped-def]
    # Given a Stripe delivery signed with the configured secret, whose payload is <case>
    if body is None:  # a number where the email goes is not malformed: the event is published without it
        body = stripe_event("evt_route_email", customer_email=5)
        response = post_webhook(receiver, "stripe", body, stripe_headers(body))
        assert response["statusCode"] == 202, response["body"]
        [message] = published(outbox, aws)
        assert message["detail"]["subject"]["email"] is None
        return
    # When Stripe posts it
    response = post_webhook(receiver, "stripe", body, stripe_headers(body))
    # Then it is a 400 naming what is wrong (not a 502), and the delivery log has it with the reason
    assert response["statusCode"] == 400, response["body"]
    assert named in json.loads(response["body"])["message"]
    [entry] = logged(deliveries_api, "stripe")
    assert (entry["outcome"], entry["status_code"]) == ("rejected", 400)
    assert named in entry["reason"]
    assert published(outbox, aws) == []


def test_a_salesforce_message_nested_2000_deep_is_refused_and_logged(  # type: ignore[no-untyped-def]
    receiver, deliveries_api, aws, outbox
) -> None:
    # Given an outbound message naming the configured org whose sObject nests 2,000 elements deep
    from tests.vendor_samples import salesforce_message, salesforce_notification

    deep = "<sf:X>" + "<a>" * 2000 + "</a>" * 2000 + "</sf:X>"
    body = salesforce_message(salesforce_notification().replace("</sObject>", deep + "</sObject>"), org=LOCAL_ORG)
    # When it is posted (the org id is not a secret: anyone can send this)
    response = post_webhook(receiver, "salesforce", body, {"Content-Type": "text/xml"})
    # Then the hardened parser stops at its depth limit, so the org is never proven: a 401 naming the limit
    # (not a 502), logged, and nothing is published
    assert response["statusCode"] == 401, response["body"]
    assert "deeper than 32" in json.loads(response["body"])["message"]
    [entry] = logged(deliveries_api, "salesforce")
    assert (entry["outcome"], entry["status_code"]) == ("rejected", 401)
    assert "deeper than 32" in entry["reason"]
    assert published(outbox, aws) == []


def _refuse_put_events_permanently(client) -> None:  # type: ignore[no-untyped-def]
    """EventBridge refusing every entry of the next PutEvents as malformed: a refusal no retry can fix."""
    from botocore.awsrequest import AWSResponse, HTTPHeaders

    calls = [1]

    def answer(params, **_):  # type: ignore[no-untyped-def]
        if not calls:
            return None
        calls.pop()
        entries = json.loads(params["body"])["Entries"]
        failed = [{"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."} for _ in entries]
        return AWSResponse("", 200, HTTPHeaders(), None), {"FailedEntryCount": len(entries), "Entries": failed}

    client.meta.events.register("before-call.events.PutEvents", answer)


def test_an_event_eventbridge_can_never_accept_is_set_aside_with_the_reason(
    receiver, aws, outbox, publisher_bus
) -> None:  # type: ignore[no-untyped-def]
    # Given EventBridge refuses the next entry as malformed (a permanent refusal)
    _refuse_put_events_permanently(publisher_bus)
    body = stripe_event("evt_malformed_detail")
    # When Stripe delivers it
    response = post_webhook(receiver, "stripe", body, stripe_headers(body))
    # Then Stripe is answered 202 (it is stored), nothing reaches the bus, and the publisher set the event aside in
    # its dead-letter queue at once, with the reason and the stream record a redrive hands back
    assert response["statusCode"] == 202
    assert published(outbox, aws) == []
    [letter] = drain(aws.queue_urls["webhook-publisher-async-failures"])
    assert letter["requestContext"]["condition"] == "PermanentFailure"
    assert "MalformedDetail" in letter["responsePayload"]["errorMessage"]
    [record] = letter["requestPayload"]["Records"]
    assert outbox_entry(record).event_id == json.loads(response["body"])["event_ids"][0]


def test_a_deep_field_stripe_sends_wrong_is_published_unmapped_naming_it(  # type: ignore[no-untyped-def]
    receiver, aws, outbox
) -> None:
    # Given a signed subscription event whose items are a string
    body = stripe_event("evt_route_items", "customer.subscription.updated", items="x")
    # When Stripe posts it
    response = post_webhook(receiver, "stripe", body, stripe_headers(body))
    # Then it is stored, and published as vendor.unmapped with the whole payload and the problem named
    assert response["statusCode"] == 202, response["body"]
    [message] = published(outbox, aws)
    assert message["detail-type"] == "vendor.unmapped"
    assert "data.object.items: expected an object" in message["detail"]["data"]["problem"]
