"""Calendly events onto the taxonomy: meetings booked and cancelled, routing forms submitted, as
engagements; anything else unmapped."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from shared.events.canonical import CanonicalEvent, EngagementKind, EventType, Subject
from shared.webhooks.model import VendorEvent
from shared.webhooks.normalizers.base import List, Obj, Payload, Text, canonical, read
from shared.webhooks.vendor import DeliveryContext
from shared.webhooks.vendors.calendly import Calendly

CALENDLY = Calendly.name
_KINDS = {
    "invitee.created": EngagementKind.MEETING_BOOKED,
    "invitee.canceled": EngagementKind.MEETING_CANCELED,
    "routing_form_submission.created": EngagementKind.FORM_SUBMIT,
}


class CalendlyPayload(Payload):
    """The invitee, or the routing form submission, as far as the hub reads it."""

    email: Text = None
    questions_and_answers: List = Field(default_factory=list)
    scheduled_event: Obj = Field(default_factory=dict)
    cancellation: Obj = Field(default_factory=dict)


def normalize(event: VendorEvent, context: DeliveryContext) -> CanonicalEvent:
    payload: dict[str, Any] = dict(event.payload["payload"])
    kind = _KINDS.get(event.vendor_event_type)
    if kind is None:
        return canonical(CALENDLY, event, context, EventType.VENDOR_UNMAPPED)
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
    return canonical(CALENDLY, event, context, EventType.ENGAGEMENT_RECORDED, subject, data)


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
