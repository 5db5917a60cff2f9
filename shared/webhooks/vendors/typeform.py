"""Typeform: `Typeform-Signature: sha256=<base64>`, HMAC-SHA256 of the body with the webhook's secret.

Typeform signs no timestamp, so a captured delivery could be replayed at any time; the `event_id` dedupe
(kept for as long as claims live) is what makes a replay harmless. How its responses map onto the taxonomy:
`shared.webhooks.normalizers.typeform`.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from shared.webhooks.envelope import iso_time, mapping
from shared.webhooks.model import InboundWebhook, VendorEvent
from shared.webhooks.signatures import SignatureError, any_match, decode_base64, header_signatures, hmac_sha256
from shared.webhooks.vendor import MalformedPayload, Vendor, load_json

SIGNATURE_HEADER = "Typeform-Signature"
_PREFIX = "sha256="


class Typeform(Vendor):
    name = "typeform"

    def verify(self, request: InboundWebhook, secrets: list[str], now: datetime) -> None:
        signatures = header_signatures(request.header(SIGNATURE_HEADER), SIGNATURE_HEADER, _PREFIX)
        if not any_match((hmac_sha256(secret, request.body) for secret in secrets), decode_base64(signatures)):
            raise SignatureError("no sha256 signature matches any configured secret")

    def parse(self, request: InboundWebhook) -> list[VendorEvent]:
        body = load_json(request.body)
        if not isinstance(body, dict):
            raise MalformedPayload('expected a Typeform webhook object ({"event_id": ..., "event_type": ...})')
        event_id, event_type = body.get("event_id"), body.get("event_type")
        if not isinstance(event_id, str) or not event_id:
            raise MalformedPayload("Typeform webhook has no event_id")
        if not isinstance(event_type, str) or not event_type:
            raise MalformedPayload("Typeform webhook has no event_type")
        response = body.get("form_response")
        if event_type == "form_response" and not isinstance(response, dict):
            raise MalformedPayload("form_response event has no form_response object")
        if isinstance(response, dict) and not isinstance(response.get("answers", []), list):
            raise MalformedPayload("form_response.answers is not a list")
        submitted = _submitted_at(response) if isinstance(response, dict) else None
        return [
            VendorEvent(
                dedupe_key=event_id,
                vendor_event_id=event_id,
                vendor_event_type=event_type,
                occurred_at=submitted,
                payload=body,
            )
        ]


def _submitted_at(response: dict[str, Any]) -> datetime | None:
    """When the response was submitted; the objects the normalizer reads must be objects."""
    submitted_at = iso_time(response, "submitted_at", "form_response")
    for key in ("hidden", "definition", "calculated"):
        mapping(response, key, "form_response")
    return submitted_at


def sign(secret: str, body: bytes) -> str:
    """The `Typeform-Signature` header Typeform would send; for local examples."""
    return _PREFIX + base64.b64encode(hmac_sha256(secret, body)).decode()
