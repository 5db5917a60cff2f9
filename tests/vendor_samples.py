"""Payloads and signed requests for the Salesforce, Calendly, Typeform, Zendesk, Intercom, Slack and Standard
Webhooks vendors, shaped like the vendors' documented examples.

Signatures are computed here from each vendor's published recipe with `hmac` directly (or with the vendor's
own SDK where one exists: slack_sdk, standardwebhooks), never with the scheme under test.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from xml.sax.saxutils import escape

from hypothesis import strategies as st
from slack_sdk.signature import SignatureVerifier
from standardwebhooks.webhooks import Webhook

from shared.webhooks import normalizers
from shared.webhooks.ingest import WebhookIngest
from shared.webhooks.model import InboundWebhook, OutboxEntry, Outcome
from shared.webhooks.publishing import OutboxPublisher, PublishReport
from shared.webhooks.registry import ALL_VENDORS, VENDORS
from shared.webhooks.vendor import DeliveryContext, Reply, Vendor
from tests.fakes import CollectedDeadLetters, FixedClock, InMemoryLedger, RecordingPublisher, StaticSecrets

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # FixedClock's moment
EPOCH = int(NOW.timestamp())
CONTEXT = DeliveryContext("delivery-1", "request-1", NOW)

SALESFORCE_ORG = "00D000000000001AAA"
SALESFORCE_PREVIOUS_ORG = "00D000000000002AAA"
CALENDLY_SECRET = "calendly-signing-key-current"
CALENDLY_PREVIOUS_SECRET = "calendly-signing-key-previous"
TYPEFORM_SECRET = "typeform-secret-current"
TYPEFORM_PREVIOUS_SECRET = "typeform-secret-previous"
ZENDESK_SECRET = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="
ZENDESK_PREVIOUS_SECRET = "zendesk-signing-secret-previous"
INTERCOM_SECRET = "intercom-client-secret-current"
INTERCOM_PREVIOUS_SECRET = "intercom-client-secret-previous"
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK_PREVIOUS_SECRET = "slack-signing-secret-previous"
SEGMENT_SECRET = "segment-shared-secret-test"
STANDARD_SECRET = "whsec_" + base64.b64encode(b"standard-webhooks-key-current-32b").decode()
STANDARD_PREVIOUS_SECRET = "whsec_" + base64.b64encode(b"standard-webhooks-key-previous-3").decode()

json_bodies = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
).map(lambda value: json.dumps(value).encode())


def request(vendor: str, body: bytes, headers: Mapping[str, str]) -> InboundWebhook:
    return InboundWebhook(
        vendor=vendor,
        method="POST",
        url=f"https://hub.example.com/prod/webhooks/{vendor}",
        headers={name.lower(): value for name, value in headers.items()},
        body=body,
        request_id=f"req-{vendor}",
    )


def without_header(webhook: InboundWebhook, name: str) -> InboundWebhook:
    """The same request with one header removed: how an unsigned (or half-signed) delivery arrives."""
    return replace(webhook, headers={key: value for key, value in webhook.headers.items() if key != name.lower()})


def with_body(webhook: InboundWebhook, body: bytes) -> InboundWebhook:
    """The same headers over another body: a delivery tampered with in transit."""
    return replace(webhook, body=body)


class Gateway:
    """Vendors behind the whole webhook gateway over the in-memory adapters, at `NOW`: the receiver, and the
    publisher putting on the bus what the receiver stored (as the table's stream would hand it over), right
    after each delivery. `publisher` is the bus; what the publisher must retry waits in `retry` for `drain`."""

    def __init__(self, vendor: Vendor | Mapping[str, Vendor], secrets: list[str] | StaticSecrets) -> None:
        vendors = {vendor.name: vendor} if isinstance(vendor, Vendor) else dict(vendor)
        self.clock = FixedClock(NOW)
        self.ledger = InMemoryLedger()
        self.publisher = RecordingPublisher()
        self.dead_letters = CollectedDeadLetters()
        self.secrets = (
            secrets
            if isinstance(secrets, StaticSecrets)
            else StaticSecrets({v.secret_key: list(secrets) for v in vendors.values()})
        )
        ids = iter(f"attempt-{n}" for n in range(10_000))
        self.ingest = WebhookIngest(vendors, self.secrets, self.ledger, self.clock, lambda: next(ids))
        self.outbox = OutboxPublisher(ALL_VENDORS, normalizers.normalize, self.ledger, self.publisher)
        self.retry: list[OutboxEntry] = []

    def receive(self, webhook: InboundWebhook) -> Reply:
        reply = self.ingest.receive(webhook)
        self.drain()
        return reply

    def drain(self) -> PublishReport:
        """One pass of the publisher over what waits: entries to retry first, then newly stored ones."""
        entries = [*self.retry, *self.ledger.take_outbox()]
        report = self.outbox.publish(entries, self.dead_letters)
        again = set(report.retry)
        self.retry = [entry for entry in entries if entry.position in again]
        return report


def hmac_sha256(key: str | bytes, message: bytes) -> bytes:
    return hmac.new(key.encode() if isinstance(key, str) else key, message, hashlib.sha256).digest()


# Salesforce -------------------------------------------------------------------------------------------------


def salesforce_notification(
    notification_id: str = "04l000000000001AAA", sobject: str = "Lead", **fields: str | None
) -> str:
    defaults: dict[str, str | None] = {
        "Id": "00Q000000000001AAA",
        "Email": "ada@example.com",
        "LastModifiedDate": "2026-11-25T11:59:00.000Z",
    }
    values = defaults | fields
    elements = "".join(
        f'<sf:{name} xsi:nil="true"/>' if value is None else f"<sf:{name}>{escape(value)}</sf:{name}>"
        for name, value in values.items()
    )
    return (
        f"<Notification><Id>{notification_id}</Id>"
        f'<sObject xsi:type="sf:{sobject}" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">{elements}</sObject>'
        "</Notification>"
    )


def salesforce_message(*notifications: str, org: str = SALESFORCE_ORG) -> bytes:
    notifications = notifications or (salesforce_notification(),)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<soapenv:Body>"
        '<notifications xmlns="http://soap.sforce.com/2005/09/outbound">'
        f"<OrganizationId>{org}</OrganizationId>"
        "<ActionId>04k000000000001AAA</ActionId>"
        '<SessionId xsi:nil="true"/>'
        "<EnterpriseUrl>https://example.my.salesforce.com/services/Soap/c/62.0/00D000000000001</EnterpriseUrl>"
        "<PartnerUrl>https://example.my.salesforce.com/services/Soap/u/62.0/00D000000000001</PartnerUrl>"
        f"{''.join(notifications)}"
        "</notifications></soapenv:Body></soapenv:Envelope>"
    ).encode()


def salesforce_request(body: bytes) -> InboundWebhook:
    return request(
        "salesforce",
        body,
        {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""', "User-Agent": "Jakarta Commons-HttpClient/3.1"},
    )


# Calendly ---------------------------------------------------------------------------------------------------


def calendly_event(event: str = "invitee.created", **payload: Any) -> bytes:
    invitee: dict[str, Any] = {
        "uri": "https://api.calendly.com/scheduled_events/EV1/invitees/INV1",
        "email": "ada@example.com",
        "name": "Ada Lovelace",
        "status": "active" if event == "invitee.created" else "canceled",
        "timezone": "Europe/London",
        "event": "https://api.calendly.com/scheduled_events/EV1",
        "scheduled_event": {
            "uri": "https://api.calendly.com/scheduled_events/EV1",
            "name": "Discovery call",
            "start_time": "2026-12-01T15:00:00.000000Z",
            "end_time": "2026-12-01T15:30:00.000000Z",
            "event_type": "https://api.calendly.com/event_types/ET1",
        },
        "rescheduled": False,
        "questions_and_answers": [],
        "tracking": {"utm_source": "newsletter", "utm_campaign": None},
    }
    if event == "invitee.canceled":
        invitee["cancellation"] = {"canceled_by": "Ada Lovelace", "reason": "conflict", "canceler_type": "invitee"}
    return json.dumps(
        {
            "created_at": "2026-11-25T11:59:00.000000Z",
            "created_by": "https://api.calendly.com/users/U1",
            "event": event,
            "payload": invitee | payload,
        }
    ).encode()


def calendly_signature(secret: str, body: bytes, timestamp: int = EPOCH) -> str:
    return "v1=" + hmac_sha256(secret, f"{timestamp}.".encode() + body).hex()


def calendly_request(
    body: bytes, secret: str = CALENDLY_SECRET, timestamp: int = EPOCH, header: str | None = None
) -> InboundWebhook:
    header = header if header is not None else f"t={timestamp},{calendly_signature(secret, body, timestamp)}"
    return request("calendly", body, {"Calendly-Webhook-Signature": header, "Content-Type": "application/json"})


# Typeform ---------------------------------------------------------------------------------------------------


def typeform_response(
    event_id: str = "01KBTYPEFORMEVENT0001",
    answers: list[dict[str, Any]] | None = None,
    hidden: dict[str, Any] | None = None,
    event_type: str = "form_response",
) -> bytes:
    default_answers = [
        {"type": "email", "email": "ada@example.com", "field": {"id": "f_email", "type": "email", "ref": "email"}},
        {"type": "number", "number": 9, "field": {"id": "f_nps", "type": "opinion_scale", "ref": "nps"}},
        {"type": "choice", "choice": {"label": "Pricing"}, "field": {"id": "f_topic", "type": "multiple_choice"}},
        {
            "type": "choices",
            "choices": {"labels": ["CRM", "Billing"], "other": "Support"},
            "field": {"id": "f_tools", "type": "multiple_choice", "ref": "tools"},
        },
    ]
    return json.dumps(
        {
            "event_id": event_id,
            "event_type": event_type,
            "form_response": {
                "form_id": "lT4Z3j",
                "token": "a3a12ec67a1365927098a606107fac15",
                "landed_at": "2026-11-25T11:55:00Z",
                "submitted_at": "2026-11-25T11:58:00Z",
                "hidden": hidden if hidden is not None else {"account": "acme"},
                "calculated": {"score": 4},
                "definition": {"id": "lT4Z3j", "title": "Quarterly NPS", "fields": []},
                "answers": answers if answers is not None else default_answers,
            },
        }
    ).encode()


def typeform_signature(secret: str, body: bytes) -> str:
    return "sha256=" + base64.b64encode(hmac_sha256(secret, body)).decode()


def typeform_request(body: bytes, secret: str = TYPEFORM_SECRET, header: str | None = None) -> InboundWebhook:
    header = header if header is not None else typeform_signature(secret, body)
    return request("typeform", body, {"Typeform-Signature": header, "Content-Type": "application/json"})


# Zendesk ----------------------------------------------------------------------------------------------------

ZENDESK_TIMESTAMP = "2026-11-25T12:00:00Z"


def zendesk_event(
    event_type: str = "ticket.created",
    event_id: str | None = "01KBZENDESKEVENT00001",
    detail: dict[str, Any] | None = None,
    event: dict[str, Any] | None = None,
) -> bytes:
    ticket = {
        "id": "35436",
        "subject": "Cannot export invoices",
        "status": "OPEN",
        "priority": "HIGH",
        "type": "INCIDENT",
        "requester_id": "6596848315901",
        "assignee_id": None,
        "organization_id": "8800",
        "group_id": "7700",
        "tags": ["billing"],
        "via": {"channel": "web_form"},
        "created_at": "2026-11-25T11:59:00Z",
        "updated_at": "2026-11-25T11:59:00Z",
    }
    body: dict[str, Any] = {
        "type": f"zen:event-type:{event_type}",
        "account_id": 12514403,
        "time": "2026-11-25T11:59:30Z",
        "zendesk_event_version": "2022-11-06",
        "subject": "zen:ticket:35436",
        "detail": ticket | (detail or {}),
        "event": event or {},
    }
    if event_id is not None:
        body["id"] = event_id
    return json.dumps(body).encode()


def zendesk_signature(secret: str, body: bytes, timestamp: str = ZENDESK_TIMESTAMP) -> str:
    return base64.b64encode(hmac_sha256(secret, timestamp.encode() + body)).decode()


def zendesk_request(
    body: bytes, secret: str = ZENDESK_SECRET, timestamp: str = ZENDESK_TIMESTAMP, header: str | None = None
) -> InboundWebhook:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Zendesk Webhook",
        "X-Zendesk-Webhook-Signature-Timestamp": timestamp,
        "X-Zendesk-Webhook-Signature": header if header is not None else zendesk_signature(secret, body, timestamp),
    }
    return request("zendesk", body, headers)


# Intercom ---------------------------------------------------------------------------------------------------


def intercom_notification(
    topic: str = "conversation.user.created", item: dict[str, Any] | None = None, notification_id: str = "notif_1"
) -> bytes:
    default_item = {
        "type": "conversation",
        "id": "147",
        "created_at": EPOCH - 60,
        "state": "open",
        "open": True,
        "title": "Help with billing",
        "source": {"type": "conversation", "author": {"type": "user", "id": "5f1a", "email": "ada@example.com"}},
        "contacts": {"type": "contact.list", "contacts": [{"type": "contact", "id": "5f1a"}]},
        "admin_assignee_id": None,
        "team_assignee_id": None,
    }
    return json.dumps(
        {
            "type": "notification_event",
            "app_id": "abc123",
            "data": {"type": "notification_event_data", "item": item if item is not None else default_item},
            "links": {},
            "id": notification_id,
            "topic": topic,
            "delivery_status": "pending",
            "delivery_attempts": 1,
            "delivered_at": 0,
            "first_sent_at": EPOCH - 30,
            "created_at": EPOCH - 30,
            "self": None,
        }
    ).encode()


def intercom_signature(secret: str, body: bytes) -> str:
    return "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


def intercom_request(body: bytes, secret: str = INTERCOM_SECRET, header: str | None = None) -> InboundWebhook:
    header = header if header is not None else intercom_signature(secret, body)
    return request("intercom", body, {"X-Hub-Signature": header, "Content-Type": "application/json"})


# Slack ------------------------------------------------------------------------------------------------------


def slack_event_callback(event_id: str = "Ev08MFMKH6", event_type: str = "app_mention") -> bytes:
    return json.dumps(
        {
            "token": "unused-verification-token",
            "team_id": "T061EG9R6",
            "api_app_id": "A0PNCHHK2",
            "event": {"type": event_type, "user": "U061F7AUR", "text": "<@U0LAN0Z89> hi", "ts": "1515449522.000016"},
            "type": "event_callback",
            "event_id": event_id,
            "event_time": EPOCH - 5,
        }
    ).encode()


def slack_url_verification(challenge: str = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P") -> bytes:
    return json.dumps({"token": "unused", "challenge": challenge, "type": "url_verification"}).encode()


def slack_interaction(payload: dict[str, Any]) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def slack_block_action(
    action_id: str = "handoff_accept",
    value: str = '{"handoff_id": "h-42", "lead_id": "hubspot:501"}',
    trigger_id: str = "13345224609.738474920.8088930838d88f008e0",
) -> bytes:
    return slack_interaction(
        {
            "type": "block_actions",
            "team": {"id": "T9TK3CUKW", "domain": "example"},
            "user": {"id": "UA8RXUSPL", "username": "grace", "name": "grace", "team_id": "T9TK3CUKW"},
            "api_app_id": "AABA1ABCD",
            "trigger_id": trigger_id,
            "container": {"type": "message", "message_ts": "1548261231.000200", "channel_id": "CBR2V3XEX"},
            "channel": {"id": "CBR2V3XEX", "name": "sales-handoffs"},
            "response_url": "https://hooks.slack.com/actions/T9TK3CUKW/1/abc",
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": "handoff",
                    "value": value,
                    "action_ts": f"{EPOCH - 2}.123456",
                }
            ],
        }
    )


def slack_request(
    body: bytes,
    secret: str = SLACK_SECRET,
    timestamp: int = EPOCH,
    header: str | None = None,
    content_type: str | None = None,
) -> InboundWebhook:
    signature = header or SignatureVerifier(secret).generate_signature(timestamp=str(timestamp), body=body) or ""
    if content_type is None:
        content_type = "application/json" if body.startswith(b"{") else "application/x-www-form-urlencoded"
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": signature,
    }
    return request("slack", body, headers)


# Standard Webhooks ------------------------------------------------------------------------------------------


def standard_event(event_type: str = "product.usage_reported", data: dict[str, Any] | None = None) -> bytes:
    return json.dumps(
        {
            "type": event_type,
            "timestamp": "2026-11-25T11:59:00Z",
            "data": data if data is not None else {"account_id": "acct_9", "metric": "seats", "quantity": 12},
        }
    ).encode()


def standard_signature(secret: str, msg_id: str, body: bytes, timestamp: int = EPOCH) -> str:
    return Webhook(secret).sign(msg_id, datetime.fromtimestamp(timestamp, UTC), body.decode())


def standard_request(
    body: bytes,
    secret: str = STANDARD_SECRET,
    msg_id: str = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
    timestamp: int = EPOCH,
    header: str | None = None,
) -> InboundWebhook:
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": header if header is not None else standard_signature(secret, msg_id, body, timestamp),
        "content-type": "application/json",
    }
    return request("standard", body, headers)


# Any vendor -------------------------------------------------------------------------------------------------

SECRETS: dict[str, list[str]] = {
    "calendly": [CALENDLY_SECRET],
    "typeform": [TYPEFORM_SECRET],
    "zendesk": [ZENDESK_SECRET],
    "intercom": [INTERCOM_SECRET],
    "slack": [SLACK_SECRET],
    "standard": [STANDARD_SECRET],
    "salesforce": [SALESFORCE_ORG],
}
# The vendors whose bodies are JSON, each with a signed-request builder for any body.
JSON_VENDORS = ("stripe", "hubspot", "segment", "calendly", "typeform", "zendesk", "intercom", "slack", "standard")


def signed(vendor: str, body: bytes) -> InboundWebhook:
    """`body` as `vendor` would send it, correctly signed at `NOW` with the first secret of `SECRETS` (Stripe,
    HubSpot and Segment with the secrets of tests/webhook_samples.py)."""
    from shared.webhooks.vendors.segment import sign as segment_sign
    from tests.webhook_samples import hubspot_request, stripe_request

    builders: dict[str, Callable[[bytes], InboundWebhook]] = {
        "stripe": lambda b: stripe_request(b, timestamp=EPOCH),
        "hubspot": lambda b: hubspot_request(b, timestamp_ms=EPOCH * 1000),
        "segment": lambda b: request("segment", b, {"X-Signature": segment_sign(SEGMENT_SECRET, b)}),
        "calendly": calendly_request,
        "typeform": typeform_request,
        "zendesk": zendesk_request,
        "intercom": intercom_request,
        "slack": slack_request,
        "standard": standard_request,
        "salesforce": salesforce_request,
    }
    return builders[vendor](body)


def secrets_for(vendor: str) -> list[str]:
    from tests.webhook_samples import HUBSPOT_SECRET, STRIPE_SECRET

    return {"stripe": [STRIPE_SECRET], "hubspot": [HUBSPOT_SECRET], "segment": [SEGMENT_SECRET]}.get(
        vendor, SECRETS.get(vendor, [])
    )


def delivered(vendor: str, body: bytes) -> tuple[Gateway, Reply]:
    """`body` signed as `vendor` sends it and delivered to a gateway of that vendor alone."""
    gateway = Gateway(VENDORS[vendor], secrets_for(vendor))
    return gateway, gateway.receive(signed(vendor, body))


def assert_refused_and_logged(gateway: Gateway, response: Reply, reason: str) -> None:
    """A 400 whose message holds `reason`, logged as rejected with that reason, and nothing published."""
    assert response.status_code == 400, response.body
    assert reason in response.body["message"]
    attempt = gateway.ledger.attempts[response.body["delivery_id"]]
    assert (attempt.outcome, attempt.status_code) == (Outcome.REJECTED, 400)
    assert reason in (attempt.reason or "")
    assert gateway.publisher.published == []
