"""Typeform: `Typeform-Signature: sha256=<base64>`, HMAC-SHA256 of the body with the webhook's secret.

Typeform signs no timestamp, so a captured delivery could be replayed at any time; the `event_id` dedupe
(kept for as long as claims live) is what makes a replay harmless.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from pydantic import Field

from shared.events.canonical import CanonicalEvent, EventType, Subject
from shared.webhooks.model import InboundWebhook, VendorEvent
from shared.webhooks.payload import IsoTime, List, Obj, Payload, Str, read
from shared.webhooks.signatures import SignatureError, any_match, decode_base64, header_signatures, hmac_sha256
from shared.webhooks.vendor import DeliveryContext, MalformedPayload, Vendor, load_json

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
        submitted = read(FormResponse, response, "form_response").submitted_at if isinstance(response, dict) else None
        return [
            VendorEvent(
                dedupe_key=event_id,
                vendor_event_id=event_id,
                vendor_event_type=event_type,
                occurred_at=submitted,
                payload=body,
            )
        ]

    def normalize(self, event: VendorEvent, context: DeliveryContext) -> CanonicalEvent:
        if event.vendor_event_type != "form_response":
            return self.canonical(event, context, EventType.VENDOR_UNMAPPED)
        response: dict[str, Any] = dict(event.payload["form_response"])
        fields = read(FormResponse, response, "form_response")
        answers = [
            (position, answer, read(Answer, answer, f"form_response.answers[{position}]"))
            for position, answer in enumerate(fields.answers)
            if isinstance(answer, dict)
        ]
        data = {
            "form_id": response.get("form_id"),
            "form_title": fields.definition.get("title"),
            "response_token": response.get("token"),
            "submitted_at": response.get("submitted_at"),
            "answers": {_field_key(read_, position): _value(answer, read_) for position, answer, read_ in answers},
            "hidden": fields.hidden,
            "score": fields.calculated.get("score"),
        }
        email = _email([answer for _, answer, _ in answers], fields.hidden)
        return self.canonical(event, context, EventType.SURVEY_RESPONDED, Subject(email=email), data)


class FormResponse(Payload):
    """A Typeform response as far as the hub reads it."""

    submitted_at: IsoTime = None
    answers: List = Field(default_factory=list)
    hidden: Obj = Field(default_factory=dict)
    definition: Obj = Field(default_factory=dict)
    calculated: Obj = Field(default_factory=dict)


class Answer(Payload):
    type: Str = None
    field: Obj = Field(default_factory=dict)
    choices: Obj = Field(default_factory=dict)


def _field_key(answer: Answer, position: int) -> str:
    return str(answer.field.get("ref") or answer.field.get("id") or f"answer_{position}")


def _value(raw: dict[str, Any], answer: Answer) -> Any:
    """An answer holds its value under a key named after its `type` (`"email": ...`, `"choice": {...}`)."""
    kind = answer.type
    value = raw.get(kind) if kind else None
    if kind == "choice" and isinstance(value, dict):
        return value.get("label") if value.get("label") is not None else value.get("other")
    if kind == "choices":
        labels = answer.choices.get("labels")
        listed = labels if isinstance(labels, list) else ([] if labels is None else [labels])
        other = answer.choices.get("other")
        return [*listed, other] if other else listed
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
