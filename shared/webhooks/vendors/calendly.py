"""Calendly (API v2 webhook subscriptions): `Calendly-Webhook-Signature: t=<seconds>,v1=<hex>`, HMAC-SHA256
of `"{t}.{body}"` with the subscription's signing key.

Calendly sends no event or delivery id. Each event is about one resource with a stable URI (the invitee, or
the routing form submission), and happens to it once, so the event name plus that URI identifies it even if
a retry re-renders the rest of the payload.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.events.canonical import CanonicalEvent, EngagementKind, EventType, Subject
from shared.webhooks.model import InboundWebhook, VendorEvent
from shared.webhooks.signatures import (
    sign_timestamped_hex_hmac,
    verify_timestamped_hex_hmac,
)
from shared.webhooks.vendor import (
    DeliveryContext,
    MalformedPayload,
    Vendor,
    as_object,
    content_hash,
    load_json,
    parse_iso,
)

SIGNATURE_HEADER = "Calendly-Webhook-Signature"

_KINDS = {
    "invitee.created": EngagementKind.MEETING_BOOKED,
    "invitee.canceled": EngagementKind.MEETING_CANCELED,
    "routing_form_submission.created": EngagementKind.FORM_SUBMIT,
}


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
        uri = payload.get("uri")
        identity = {"event": event_name, "uri": uri} if isinstance(uri, str) and uri else body
        return [
            VendorEvent(
                dedupe_key=content_hash(identity),
                vendor_event_id=None,
                vendor_event_type=event_name,
                occurred_at=parse_iso(body.get("created_at")),
                payload=body,
            )
        ]

    def normalize(self, event: VendorEvent, context: DeliveryContext) -> CanonicalEvent:
        payload: dict[str, Any] = dict(event.payload["payload"])
        kind = _KINDS.get(event.vendor_event_type)
        if kind is None:
            return self.canonical(event, context, EventType.VENDOR_UNMAPPED)
        subject = Subject(email=_email(payload))
        if kind is EngagementKind.FORM_SUBMIT:
            data = {
                "kind": kind.value,
                "submission_uri": payload.get("uri"),
                "routing_form_uri": payload.get("routing_form"),
                "result": payload.get("result"),
                "questions_and_answers": payload.get("questions_and_answers") or [],
                "tracking": payload.get("tracking"),
            }
        else:
            data = _meeting(kind, payload)
        return self.canonical(event, context, EventType.ENGAGEMENT_RECORDED, subject, data)


def _meeting(kind: EngagementKind, payload: dict[str, Any]) -> dict[str, Any]:
    scheduled = as_object(payload.get("scheduled_event"))
    cancellation = as_object(payload.get("cancellation"))
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
        "questions_and_answers": payload.get("questions_and_answers") or [],
        "tracking": payload.get("tracking"),
    }


def _email(payload: dict[str, Any]) -> str | None:
    if isinstance(payload.get("email"), str) and payload["email"]:
        return str(payload["email"])
    # routing form submissions carry the email only as one of the answers
    for answer in payload.get("questions_and_answers") or []:
        value = answer.get("answer") if isinstance(answer, dict) else None
        if isinstance(value, str) and "@" in value and " " not in value.strip():
            return value.strip()
    return None


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The `Calendly-Webhook-Signature` header Calendly would send; for local examples."""
    return sign_timestamped_hex_hmac(secret, body, timestamp)
