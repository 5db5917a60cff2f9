"""Stripe: `Stripe-Signature: t=<seconds>,v1=<hex>[,v1=<hex>...]`, HMAC-SHA256 of `"{t}.{body}"`.

One event per request, identified by its `evt_...` id, which Stripe keeps across its 3 days of retries.
How its events map onto the taxonomy: `shared.webhooks.normalizers.stripe`.
"""

from __future__ import annotations

from datetime import datetime

from shared.webhooks.envelope import epoch_seconds, identifier, mapping, text
from shared.webhooks.model import InboundWebhook, VendorEvent
from shared.webhooks.signatures import (
    sign_timestamped_hex_hmac,
    verify_timestamped_hex_hmac,
)
from shared.webhooks.vendor import MalformedPayload, Vendor, load_json

STRIPE = "stripe"
SIGNATURE_HEADER = "Stripe-Signature"


class Stripe(Vendor):
    name = STRIPE

    def verify(self, request: InboundWebhook, secrets: list[str], now: datetime) -> None:
        verify_timestamped_hex_hmac(SIGNATURE_HEADER, request.header(SIGNATURE_HEADER), request.body, secrets, now)

    def parse(self, request: InboundWebhook) -> list[VendorEvent]:
        body = load_json(request.body)
        if not isinstance(body, dict) or body.get("object") != "event":
            raise MalformedPayload('expected a Stripe event object ({"object": "event", ...})')
        event_id, event_type = identifier(body, "id"), text(body, "type")
        created = epoch_seconds(body, "created")
        data = mapping(body, "data")
        mapping(data, "object", "data")
        mapping(data, "previous_attributes", "data")
        if not event_id:
            raise MalformedPayload("Stripe event has no id")
        if not event_type:
            raise MalformedPayload("Stripe event has no type")
        return [
            VendorEvent(
                dedupe_key=event_id,
                vendor_event_id=event_id,
                vendor_event_type=event_type,
                occurred_at=created,
                payload=body,
            )
        ]


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The `Stripe-Signature` header Stripe would send; used by the local examples."""
    return sign_timestamped_hex_hmac(secret, body, timestamp)
