"""Vendor payloads and signed requests for tests, signed with the vendors' own SDKs."""

from __future__ import annotations

import json
import time
from typing import Any

import stripe
from hubspot.utils.signature import Signature

from shared.webhooks.model import InboundWebhook

STRIPE_SECRET = "whsec_test_current"
STRIPE_PREVIOUS_SECRET = "whsec_test_previous"
HUBSPOT_SECRET = "hubspot-client-secret-test"
HUBSPOT_URL = "https://hub.example.com/prod/webhooks/hubspot"


def stripe_event(event_id: str = "evt_1", event_type: str = "invoice.paid", **obj: Any) -> bytes:
    data = {
        "object": "invoice",
        "id": "in_1",
        "customer": "cus_1",
        "customer_email": "ada@example.com",
        "amount_paid": 4200,
        "currency": "usd",
    } | obj
    event = {
        "id": event_id,
        "object": "event",
        "type": event_type,
        "created": 1_764_072_000,
        "livemode": False,
        "data": {"object": data},
    }
    return json.dumps(event).encode()


def stripe_request(
    body: bytes, secret: str = STRIPE_SECRET, timestamp: int | None = None, signature: str | None = None
) -> InboundWebhook:
    header = signature or stripe.WebhookSignature.generate_signature_header(body.decode(), secret, timestamp)
    return InboundWebhook(
        vendor="stripe",
        method="POST",
        url="https://hub.example.com/prod/webhooks/stripe",
        headers={"stripe-signature": header, "content-type": "application/json", "user-agent": "Stripe/1.0"},
        body=body,
        request_id="req-stripe",
    )


def hubspot_events(*events: dict[str, Any]) -> bytes:
    return json.dumps(list(events)).encode()


def hubspot_event(event_id: int = 100, **fields: Any) -> dict[str, Any]:
    return {
        "eventId": event_id,
        "subscriptionId": 7,
        "portalId": 62515,
        "appId": 1,
        "occurredAt": 1_764_072_000_000,
        "subscriptionType": "contact.propertyChange",
        "attemptNumber": 0,
        "objectId": 123,
        "changeSource": "CRM",
        "propertyName": "email",
        "propertyValue": "ada@example.com",
    } | fields


def hubspot_request(
    body: bytes,
    secret: str = HUBSPOT_SECRET,
    timestamp_ms: int | None = None,
    url: str = HUBSPOT_URL,
    signature: str | None = None,
) -> InboundWebhook:
    timestamp = str(timestamp_ms if timestamp_ms is not None else int(time.time() * 1000))
    signed = signature or Signature.get_signature(
        secret, body.decode(), signature_version="v3", http_uri=url, http_method="POST", timestamp=timestamp
    )
    return InboundWebhook(
        vendor="hubspot",
        method="POST",
        url=url,
        headers={
            "x-hubspot-signature-v3": signed,
            "x-hubspot-request-timestamp": timestamp,
            "content-type": "application/json",
        },
        body=body,
        request_id="req-hubspot",
    )
