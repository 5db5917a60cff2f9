"""The deployed handlers, invoked with the API Gateway events AWS sends, over moto."""

from __future__ import annotations

import base64
import json
import time

import boto3
import pytest
import stripe

from local_runtime.lambda_events import LocalLambdaContext, rest_proxy_event
from shared.adapters.clock import SystemClock
from shared.adapters.dynamodb_ledger import DynamoDbDeliveryLedger
from shared.adapters.eventbridge_publisher import EventBridgePublisher
from shared.adapters.secrets import SecretsManagerSecretSource
from shared.catalog import physical_name
from shared.events.canonical import WEBHOOK_EVENT_SOURCE
from shared.webhooks import ingest as ingest_module
from shared.webhooks.registry import VENDORS
from tests.integration.conftest import STAGE, drain, refuse_put_events
from tests.webhook_samples import hubspot_event, hubspot_events, stripe_event

LOCAL_STRIPE_SECRET = "whsec_local_stripe_current_dev_only"
LOCAL_HUBSPOT_SECRET = "local-hubspot-client-secret-dev-only"


@pytest.fixture
def receiver(aws):  # type: ignore[no-untyped-def]
    from functions.webhook_receiver import handler

    return handler


@pytest.fixture
def deliveries_api(aws):  # type: ignore[no-untyped-def]
    from functions.webhook_deliveries_api import handler

    return handler


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


def stripe_headers(body: bytes, secret: str = LOCAL_STRIPE_SECRET) -> dict[str, str]:
    return {"Stripe-Signature": stripe.WebhookSignature.generate_signature_header(body.decode(), secret)}


def test_a_signed_stripe_webhook_is_published_to_the_bus(receiver, aws) -> None:  # type: ignore[no-untyped-def]
    # Given a Stripe event signed with the configured secret
    body = stripe_event("evt_route_1")
    # When Stripe posts it through API Gateway
    response = post_webhook(receiver, "stripe", body, stripe_headers(body))
    # Then it is accepted and the canonical event is on the bus
    assert response["statusCode"] == 202, response["body"]
    [message] = drain(aws.all_events_url)
    assert message["detail-type"] == "payment.succeeded"
    assert message["detail"]["vendor_event_id"] == "evt_route_1"


def test_a_signed_hubspot_webhook_is_verified_against_the_url_it_was_sent_to(receiver, aws) -> None:  # type: ignore[no-untyped-def]
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
    assert len(drain(aws.all_events_url)) == 2


def test_a_wrong_signature_is_401_and_logged_without_the_signature(receiver, deliveries_api, aws) -> None:  # type: ignore[no-untyped-def]
    # Given a Stripe event signed with the wrong secret
    body = stripe_event("evt_forged")
    headers = stripe_headers(body, "whsec_attacker")
    # When it is posted
    response = post_webhook(receiver, "stripe", body, headers)
    # Then it is 401, nothing is published, and the delivery log records why (and not the signature)
    assert response["statusCode"] == 401
    assert drain(aws.all_events_url) == []
    listed = list_deliveries(deliveries_api, {"cognito:groups": "admin"})
    [item] = json.loads(listed["body"])["items"]
    assert (item["outcome"], item["status_code"]) == ("rejected", 401)
    assert "signature" in item["reason"]
    assert headers["Stripe-Signature"].split("v1=")[1] not in listed["body"]


def test_a_publish_failure_is_503_and_the_retry_publishes_exactly_once(receiver, aws, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Given EventBridge fails the next PutEvents with FailedEntryCount > 0
    events = boto3.client("events")
    refuse_put_events(events, times=1)
    clock = SystemClock()
    monkeypatch.setattr(
        receiver,
        "ingest",
        ingest_module.WebhookIngest(
            VENDORS,
            SecretsManagerSecretSource(physical_name(STAGE, "webhook-signing-secrets"), boto3.client("secretsmanager")),
            DynamoDbDeliveryLedger(boto3.client("dynamodb"), physical_name(STAGE, "webhook-deliveries"), clock.now),
            EventBridgePublisher(events, aws.bus_name, WEBHOOK_EVENT_SOURCE),
            clock,
        ),
    )
    body = stripe_event("evt_flaky_bus")
    # When Stripe delivers, gets its answer, and retries; then retries once more
    first = post_webhook(receiver, "stripe", body, stripe_headers(body))
    second = post_webhook(receiver, "stripe", body, stripe_headers(body))
    third = post_webhook(receiver, "stripe", body, stripe_headers(body))
    # Then 503 → 202 → 200, and the event is on the bus exactly once
    assert [r["statusCode"] for r in (first, second, third)] == [503, 202, 200]
    assert [m["detail"]["vendor_event_id"] for m in drain(aws.all_events_url)] == ["evt_flaky_bus"]


def test_a_body_api_gateway_base64_encoded_is_verified_over_the_original_bytes(receiver, aws) -> None:  # type: ignore[no-untyped-def]
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
def test_bad_delivery_log_queries_are_4xx_with_a_message(deliveries_api, query, status, mentions) -> None:  # type: ignore[no-untyped-def]
    response = list_deliveries(deliveries_api, {"cognito:groups": "admin"}, query)
    assert response["statusCode"] == status
    assert mentions in json.loads(response["body"])["message"]


def test_the_delivery_log_shows_accepted_and_duplicate_deliveries_newest_first(receiver, deliveries_api, aws) -> None:  # type: ignore[no-untyped-def]
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
