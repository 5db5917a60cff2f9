"""Calendly (API v2 webhook subscriptions): `Calendly-Webhook-Signature: t=<seconds>,v1=<hex>`, HMAC-SHA256
of `"{t}.{body}"` with the subscription's signing key.

Calendly sends no event or delivery id. Each event is about one resource with a stable URI (the invitee, or
the routing form submission), and happens to it once, so the event name plus that URI identifies it even if
a retry re-renders the rest of the payload.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from shared.events.canonical import CanonicalEvent, EngagementKind, EventType, Subject
from shared.webhooks.model import InboundWebhook, VendorEvent
from shared.webhooks.payload import IsoTime, List, Obj, Payload, Text, read
from shared.webhooks.signatures import (
    sign_timestamped_hex_hmac,
    verify_timestamped_hex_hmac,
)
from shared.webhooks.vendor import DeliveryContext, MalformedPayload, Vendor, content_hash, load_json

SIGNATURE_HEADER = "Calendly-Webhook-Signature"

_KINDS = {
    "invitee.created": EngagementKind.MEETING_BOOKED,
    "invitee.canceled": EngagementKind.MEETING_CANCELED,
    "routing_form_submission.created": EngagementKind.FORM_SUBMIT,
}


class CalendlyWebhook(Payload):
    created_at: IsoTime = None


class CalendlyPayload(Payload):
    """The invitee, or the routing form submission, as far as the hub reads it."""

    email: Text = None
    questions_and_answers: List = Field(default_factory=list)
    scheduled_event: Obj = Field(default_factory=dict)
    cancellation: Obj = Field(default_factory=dict)


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
        webhook = read(CalendlyWebhook, body)
        uri = payload.get("uri")
        identity = {"event": event_name, "uri": uri} if isinstance(uri, str) and uri else body
        return [
            VendorEvent(
                dedupe_key=content_hash(identity),
                vendor_event_id=None,
                vendor_event_type=event_name,
                occurred_at=webhook.created_at,
                payload=body,
            )
        ]

    def normalize(self, event: VendorEvent, context: DeliveryContext) -> CanonicalEvent:
        payload: dict[str, Any] = dict(event.payload["payload"])
        kind = _KINDS.get(event.vendor_event_type)
        if kind is None:
            return self.canonical(event, context, EventType.VENDOR_UNMAPPED)
        fields = read(CalendlyPayload, payload, "payload")
        subject = Subject(email=_email(fields))
        if kind is EngagementKind.FORM_SUBMIT:
            data = {
                "kind": kind.value,
                "submission_uri": payload.get("uri"),
                "routing_form_uri": payload.get("routing_form"),
                "result": payload.get("result"),
                "questions_and_answers": fields.questions_and_answers,
                "tracking": payload.get("tracking"),
            }
        else:
            data = _meeting(kind, payload, fields)
        return self.canonical(event, context, EventType.ENGAGEMENT_RECORDED, subject, data)


def _meeting(kind: EngagementKind, payload: dict[str, Any], fields: CalendlyPayload) -> dict[str, Any]:
    scheduled, cancellation = fields.scheduled_event, fields.cancellation
    return {
        "kind": kind.value,
        "event_name": scheduled.get("name"),
        "event_uri": scheduled.get("uri") or payload.get("event"),
        "event_type_uri": scheduled.get("event_type"),
        "start_time": scheduled.get("start_time"),
        "end_time": scheduled.get("end_time"),
        "invitee_uri": payload.get("uri"),
        "invitee_name": payload.get("name"),
        "timezone": payload.get("timezone"),
        # a reschedule arrives as a cancel of the old invitee plus a create of the new one
        "rescheduled": bool(payload.get("rescheduled")),
        "cancel_reason": cancellation.get("reason"),
        "canceled_by": cancellation.get("canceled_by"),
        "questions_and_answers": fields.questions_and_answers,
        "tracking": payload.get("tracking"),
    }


def _email(fields: CalendlyPayload) -> str | None:
    if fields.email:
        return fields.email
    # routing form submissions carry the email only as one of the answers
    for answer in fields.questions_and_answers:
        value = answer.get("answer") if isinstance(answer, dict) else None
        if isinstance(value, str) and "@" in value and " " not in value.strip():
            return value.strip()
    return None


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The `Calendly-Webhook-Signature` header Calendly would send; for local examples."""
    return sign_timestamped_hex_hmac(secret, body, timestamp)
