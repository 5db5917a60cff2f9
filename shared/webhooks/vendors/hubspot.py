"""HubSpot, signature v3: `X-HubSpot-Signature-v3` = base64 HMAC-SHA256 (app client secret) of
method + URI + body + `X-HubSpot-Request-Timestamp` (milliseconds).

A request carries a JSON array of up to 100 events. HubSpot documents `eventId` as not guaranteed unique
and bumps `attemptNumber` on every retry, so an event's dedupe key is a hash of the event without
`attemptNumber`. How its events map onto the taxonomy: `shared.webhooks.normalizers.hubspot`.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from shared.webhooks.envelope import epoch_millis, identifier, key_id, text
from shared.webhooks.model import InboundWebhook, VendorEvent
from shared.webhooks.signatures import (
    SignatureError,
    any_match,
    check_timestamp,
    decode_base64,
    hmac_sha256,
    parse_timestamp_millis,
)
from shared.webhooks.vendor import MalformedPayload, Vendor, content_hash, load_json

SIGNATURE_HEADER = "X-HubSpot-Signature-v3"
TIMESTAMP_HEADER = "X-HubSpot-Request-Timestamp"
MAX_EVENTS_PER_REQUEST = 100
# The objects whose events' `objectId` is their canonical event's subject (`contact_id`, `account_id`,
# `deal_id`, `hubspot:<id>`), and the contact property whose value is the contact's company (`account_id`):
# ids the hub keys records by (`shared.webhooks.normalizers.hubspot`).
SUBJECT_OBJECTS = ("contact.", "company.", "deal.")
ASSOCIATED_COMPANY_PROPERTY = "associatedcompanyid"

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
            where = f"[{position}]"
            event_id, occurred_at = identifier(event, "eventId", where), epoch_millis(event, "occurredAt", where)
            # what the normalizer reads, refused here so that a stored event always normalizes
            identifier(event, "objectId", where)
            property_name = text(event, "propertyName", where)
            _subject_ids(event, property_name, where)
            identity = {key: value for key, value in event.items() if key != "attemptNumber"}
            parsed.append(
                VendorEvent(
                    dedupe_key=content_hash(identity),
                    vendor_event_id=event_id,
                    vendor_event_type=event["subscriptionType"],
                    occurred_at=occurred_at,
                    payload=event,
                )
            )
        return parsed


def _subject_ids(event: dict[str, Any], property_name: str | None, where: str) -> None:
    """The ids an event's subject is made of are ids the hub keys records by: at most 255 characters, no control
    characters (`key_id`), or the delivery is refused. A contact's company is read only when it is an id (text or
    an integer); any other value travels as it came."""
    if event["subscriptionType"].startswith(SUBJECT_OBJECTS):
        key_id(event, "objectId", where)
        company = event.get("propertyValue")
        associated = property_name == ASSOCIATED_COMPANY_PROPERTY and event["subscriptionType"].startswith("contact.")
        if associated and isinstance(company, str | int) and not isinstance(company, bool):
            key_id(event, "propertyValue", where)


def sign(secret: str, method: str, url: str, body: bytes, timestamp_ms: str) -> str:
    """The v3 signature HubSpot would send; used by tests and by the local examples."""
    return base64.b64encode(hmac_sha256(secret, _message(method, url, body, timestamp_ms))).decode()


def _message(method: str, url: str, body: bytes, timestamp_ms: str) -> bytes:
    return method.upper().encode() + signed_uri(url).encode() + body + timestamp_ms.encode()
