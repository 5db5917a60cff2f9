"""Calendly (API v2 webhook subscriptions): `Calendly-Webhook-Signature: t=<seconds>,v1=<hex>`, HMAC-SHA256
of `"{t}.{body}"` with the subscription's signing key.

Calendly sends no event or delivery id. Each event is about one resource with a stable URI (the invitee, or
the routing form submission), and happens to it once, so the event name plus that URI identifies it even if
a retry re-renders the rest of the payload. How its events map onto the taxonomy:
`shared.webhooks.normalizers.calendly`.
"""

from __future__ import annotations

from datetime import datetime

from shared.webhooks.envelope import iso_time
from shared.webhooks.model import InboundWebhook, VendorEvent
from shared.webhooks.signatures import (
    sign_timestamped_hex_hmac,
    verify_timestamped_hex_hmac,
)
from shared.webhooks.vendor import MalformedPayload, Vendor, content_hash, load_json

SIGNATURE_HEADER = "Calendly-Webhook-Signature"


class Calendly(Vendor):
    name = "calendly"

    def verify(self, request: InboundWebhook, secrets: list[str], now: datetime) -> None:
        verify_timestamped_hex_hmac(SIGNATURE_HEADER, request.header(SIGNATURE_HEADER), request.body, secrets, now)

    def parse(self, request: InboundWebhook) -> list[VendorEvent]:
        body = load_json(request.body)
        if not isinstance(body, dict):
            raise MalformedPayload('expected a Calendly webhook object ({"event": ..., "payload": {...}})')
        event_name, payload = body.get("event"), body.get("payload")
        if not isinstance(event_name, str) or not event_name:
            raise MalformedPayload("Calendly webhook has no event name")
        if not isinstance(payload, dict):
            raise MalformedPayload("Calendly webhook has no payload object")
        created_at = iso_time(body, "created_at")
        uri = payload.get("uri")
        identity = {"event": event_name, "uri": uri} if isinstance(uri, str) and uri else body
        return [
            VendorEvent(
                dedupe_key=content_hash(identity),
                vendor_event_id=None,
                vendor_event_type=event_name,
                occurred_at=created_at,
                payload=body,
            )
        ]


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The `Calendly-Webhook-Signature` header Calendly would send; for local examples."""
    return sign_timestamped_hex_hmac(secret, body, timestamp)
