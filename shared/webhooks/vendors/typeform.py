"""Typeform: `Typeform-Signature: sha256=<base64>`, HMAC-SHA256 of the body with the webhook's secret.

Typeform signs no timestamp, so a captured delivery could be replayed at any time; the `event_id` dedupe
(kept for as long as claims live) is what makes a replay harmless.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from shared.events.canonical import CanonicalEvent, EventType, Subject
from shared.webhooks.model import InboundWebhook, VendorEvent
from shared.webhooks.signatures import SignatureError, any_match, decode_base64, header_signatures, hmac_sha256
from shared.webhooks.vendor import DeliveryContext, MalformedPayload, Vendor, as_object, load_json, parse_iso

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
        return [
            VendorEvent(
                dedupe_key=event_id,
                vendor_event_id=event_id,
                vendor_event_type=event_type,
                occurred_at=parse_iso(response.get("submitted_at")) if isinstance(response, dict) else None,
                payload=body,
            )
        ]

    def normalize(self, event: VendorEvent, context: DeliveryContext) -> CanonicalEvent:
        if event.vendor_event_type != "form_response":
            return self.canonical(event, context, EventType.VENDOR_UNMAPPED)
        response: dict[str, Any] = dict(event.payload["form_response"])
        answers = [answer for answer in response.get("answers") or [] if isinstance(answer, dict)]
        hidden, definition = as_object(response.get("hidden")), as_object(response.get("definition"))
        data = {
            "form_id": response.get("form_id"),
            "form_title": definition.get("title"),
            "response_token": response.get("token"),
            "submitted_at": response.get("submitted_at"),
            "answers": {_field_key(answer, position): _value(answer) for position, answer in enumerate(answers)},
            "hidden": hidden,
            "score": as_object(response.get("calculated")).get("score"),
        }
        return self.canonical(event, context, EventType.SURVEY_RESPONDED, Subject(email=_email(answers, hidden)), data)


def _field_key(answer: dict[str, Any], position: int) -> str:
    field = as_object(answer.get("field"))
    return str(field.get("ref") or field.get("id") or f"answer_{position}")


def _value(answer: dict[str, Any]) -> Any:
    """An answer holds its value under a key named after its `type` (`"email": ...`, `"choice": {...}`)."""
    kind = answer.get("type")
    value = answer.get(kind) if isinstance(kind, str) else None
    if kind == "choice" and isinstance(value, dict):
        return value.get("label") if value.get("label") is not None else value.get("other")
    if kind == "choices" and isinstance(value, dict):
        labels = list(value.get("labels") or [])
        return [*labels, value["other"]] if value.get("other") else labels
    return value


def _email(answers: list[dict[str, Any]], hidden: dict[str, Any]) -> str | None:
    for answer in answers:
        if answer.get("type") == "email" and isinstance(answer.get("email"), str):
            return str(answer["email"])
    email = hidden.get("email")
    return email if isinstance(email, str) and email else None


def sign(secret: str, body: bytes) -> str:
    """The `Typeform-Signature` header Typeform would send; for local examples."""
    return _PREFIX + base64.b64encode(hmac_sha256(secret, body)).decode()
