"""HubSpot, signature v3: `X-HubSpot-Signature-v3` = base64 HMAC-SHA256 (app client secret) of
method + URI + body + `X-HubSpot-Request-Timestamp` (milliseconds).

A request carries a JSON array of up to 100 events. HubSpot documents `eventId` as not guaranteed unique
and bumps `attemptNumber` on every retry, so an event's dedupe key is a hash of the event without
`attemptNumber`.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from pydantic import Field

from shared.events.canonical import CanonicalEvent, EngagementKind, EventType, Subject
from shared.webhooks.model import InboundWebhook, VendorEvent
from shared.webhooks.payload import EpochMillis, Id, Payload, Str, read
from shared.webhooks.signatures import (
    SignatureError,
    any_match,
    check_timestamp,
    decode_base64,
    hmac_sha256,
    parse_timestamp_millis,
)
from shared.webhooks.vendor import DeliveryContext, MalformedPayload, Vendor, content_hash, load_json, qualified

SIGNATURE_HEADER = "X-HubSpot-Signature-v3"
TIMESTAMP_HEADER = "X-HubSpot-Request-Timestamp"
MAX_EVENTS_PER_REQUEST = 100

# HubSpot signs the URI with these characters decoded (its v3 validation guide).
_URI_DECODINGS = {
    "%3A": ":",
    "%2F": "/",
    "%3F": "?",
    "%40": "@",
    "%21": "!",
    "%24": "$",
    "%27": "'",
    "%28": "(",
    "%29": ")",
    "%2A": "*",
    "%2C": ",",
    "%3B": ";",
}
# HubSpot reports a form submission on a contact as property changes: `num_conversion_events` goes up by one
# per submission (the form's name changes `recent_conversion_event_name` only when it differs from the last).
FORM_SUBMISSIONS_PROPERTY = "num_conversion_events"
ASSOCIATED_COMPANY_PROPERTY = "associatedcompanyid"
_WON_STAGES = {"closedwon"}
_LOST_STAGES = {"closedlost"}


class HubSpotEvent(Payload):
    """One event of a HubSpot webhook batch, as far as the hub reads it."""

    subscription_type: Str = Field(None, alias="subscriptionType")
    event_id: Id = Field(None, alias="eventId")
    occurred_at: EpochMillis = Field(None, alias="occurredAt")
    object_id: Id = Field(None, alias="objectId")
    property_name: Str = Field(None, alias="propertyName")


def signed_uri(url: str) -> str:
    for encoded, plain in _URI_DECODINGS.items():
        url = url.replace(encoded, plain).replace(encoded.lower(), plain)
    return url


class HubSpot(Vendor):
    name = "hubspot"

    def verify(self, request: InboundWebhook, secrets: list[str], now: datetime) -> None:
        signature = request.header(SIGNATURE_HEADER)
        if not signature:
            if request.header("X-HubSpot-Signature"):
                raise SignatureError("only HubSpot signature v3 is accepted; v1/v2 signatures are not")
            raise SignatureError(f"missing {SIGNATURE_HEADER} header")
        timestamp = request.header(TIMESTAMP_HEADER)
        check_timestamp(parse_timestamp_millis(timestamp, TIMESTAMP_HEADER), now)
        signed = _message(request.method, request.url, request.body, str(timestamp))
        expected = (hmac_sha256(secret, signed) for secret in secrets)
        if not any_match(expected, decode_base64([signature])):
            raise SignatureError("X-HubSpot-Signature-v3 does not match any configured secret")

    def parse(self, request: InboundWebhook) -> list[VendorEvent]:
        body = load_json(request.body)
        events = body if isinstance(body, list) else [body]
        if not events:
            raise MalformedPayload("HubSpot delivery holds no events")
        if len(events) > MAX_EVENTS_PER_REQUEST:
            raise MalformedPayload(f"HubSpot sends at most {MAX_EVENTS_PER_REQUEST} events per request")
        parsed = []
        for position, event in enumerate(events):
            if not isinstance(event, dict) or not isinstance(event.get("subscriptionType"), str):
                raise MalformedPayload(f"event {position} is not a HubSpot webhook event (no subscriptionType)")
            fields = read(HubSpotEvent, event, f"[{position}]")
            identity = {key: value for key, value in event.items() if key != "attemptNumber"}
            parsed.append(
                VendorEvent(
                    dedupe_key=content_hash(identity),
                    vendor_event_id=fields.event_id,
                    vendor_event_type=event["subscriptionType"],
                    occurred_at=fields.occurred_at,
                    payload=event,
                )
            )
        return parsed

    def normalize(self, event: VendorEvent, context: DeliveryContext) -> CanonicalEvent:
        payload: dict[str, Any] = dict(event.payload)
        fields = read(HubSpotEvent, payload)
        object_type, _, action = event.vendor_event_type.partition(".")
        object_id = qualified(self.name, fields.object_id)
        prop, value = fields.property_name, payload.get("propertyValue")
        change = {
            "action": action,
            "property": prop,
            "value": value,
            "change_source": payload.get("changeSource"),
            "portal_id": payload.get("portalId"),
        }
        if object_type == "contact" and action == "propertyChange" and prop == FORM_SUBMISSIONS_PROPERTY:
            data = {
                "kind": EngagementKind.FORM_SUBMIT.value,
                "name": "HubSpot form submission",
                "properties": {"submissions": value, "portal_id": payload.get("portalId")},
            }
            return self.canonical(event, context, EventType.ENGAGEMENT_RECORDED, Subject(contact_id=object_id), data)
        if object_type == "contact" and action in {"creation", "propertyChange", "merge", "restore"}:
            email = value if prop == "email" and isinstance(value, str) else None
            company = qualified(self.name, value) if prop == ASSOCIATED_COMPANY_PROPERTY else None
            subject = Subject(contact_id=object_id, account_id=company, email=email)
            return self.canonical(event, context, EventType.CONTACT_UPSERTED, subject, change)
        if object_type == "company" and action in {"creation", "propertyChange", "merge", "restore"}:
            return self.canonical(event, context, EventType.ACCOUNT_UPSERTED, Subject(account_id=object_id), change)
        if object_type == "deal" and action == "propertyChange" and prop == "dealstage":
            stage = str(value or "")
            event_type = (
                EventType.DEAL_WON
                if stage.lower() in _WON_STAGES
                else EventType.DEAL_LOST
                if stage.lower() in _LOST_STAGES
                else EventType.DEAL_STAGE_CHANGED
            )
            return self.canonical(event, context, event_type, Subject(deal_id=object_id), change | {"stage": stage})
        return self.canonical(event, context, EventType.VENDOR_UNMAPPED, Subject(), {"payload": payload})


def sign(secret: str, method: str, url: str, body: bytes, timestamp_ms: str) -> str:
    """The v3 signature HubSpot would send; used by tests and by the local examples."""
    return base64.b64encode(hmac_sha256(secret, _message(method, url, body, timestamp_ms))).decode()


def _message(method: str, url: str, body: bytes, timestamp_ms: str) -> bytes:
    return method.upper().encode() + signed_uri(url).encode() + body + timestamp_ms.encode()
