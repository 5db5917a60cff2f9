"""Typeform responses onto the taxonomy: a `form_response` is survey.responded, answers flattened by field;
any other event unmapped."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from shared.events.canonical import CanonicalEvent, EventType, Subject
from shared.webhooks.model import VendorEvent
from shared.webhooks.normalizers.base import List, Obj, Payload, Str, canonical, read
from shared.webhooks.vendor import DeliveryContext
from shared.webhooks.vendors.typeform import Typeform

TYPEFORM = Typeform.name


class FormResponse(Payload):
    """A Typeform response as far as the hub reads it."""

    answers: List = Field(default_factory=list)
    hidden: Obj = Field(default_factory=dict)
    definition: Obj = Field(default_factory=dict)
    calculated: Obj = Field(default_factory=dict)


class Answer(Payload):
    type: Str = None
    field: Obj = Field(default_factory=dict)
    choices: Obj = Field(default_factory=dict)


def normalize(event: VendorEvent, context: DeliveryContext) -> CanonicalEvent:
    if event.vendor_event_type != "form_response":
        return canonical(TYPEFORM, event, context, EventType.VENDOR_UNMAPPED)
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
    return canonical(TYPEFORM, event, context, EventType.SURVEY_RESPONDED, Subject(email=email), data)


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
