"""Zendesk events onto the taxonomy: tickets opened, solved and reopened, users created; trigger bodies and
anything else unmapped."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from shared.events.canonical import CanonicalEvent, EventType, Subject
from shared.webhooks.model import VendorEvent
from shared.webhooks.normalizers.base import Id, Obj, Payload, Str, Text, canonical, read
from shared.webhooks.vendor import DeliveryContext, qualified
from shared.webhooks.vendors.zendesk import TRIGGER_EVENT_TYPE, Zendesk

ZENDESK = Zendesk.name
_UNSOLVED = {"new", "open", "pending", "hold"}


class ZendeskDetail(Payload):
    """The ticket or user an event is about, as far as the hub reads it."""

    id: Id = None
    email: Text = None
    status: Str = None
    requester_id: Id = None
    organization_id: Id = None
    via: Obj = Field(default_factory=dict)


class ZendeskEvent(Payload):
    detail: ZendeskDetail = Field(default_factory=ZendeskDetail)
    event: Obj = Field(default_factory=dict)

    @staticmethod
    def raw_detail(payload: dict[str, Any]) -> dict[str, Any]:
        detail = payload.get("detail")
        return detail if isinstance(detail, dict) else {}


def normalize(event: VendorEvent, context: DeliveryContext) -> CanonicalEvent:
    payload: dict[str, Any] = dict(event.payload)
    if event.vendor_event_type == TRIGGER_EVENT_TYPE:  # the admin's own body: nothing in it is read
        return canonical(ZENDESK, event, context, EventType.VENDOR_UNMAPPED, Subject(), {"payload": payload})
    fields = read(ZendeskEvent, payload)
    detail, change = fields.detail, fields.event
    kind = event.vendor_event_type
    if kind == "ticket.created":
        data = _ticket(payload, fields)
        return canonical(ZENDESK, event, context, EventType.SUPPORT_TICKET_OPENED, _requester(detail), data)
    if kind == "ticket.status_changed" and _status(change, detail) == "solved":
        data = _ticket(payload, fields) | {"previous_status": _previous_status(change)}
        return canonical(ZENDESK, event, context, EventType.SUPPORT_TICKET_SOLVED, _requester(detail), data)
    if kind == "ticket.status_changed" and _reopened(change, detail):
        data = _ticket(payload, fields) | {"previous_status": _previous_status(change), "reopened": True}
        return canonical(ZENDESK, event, context, EventType.SUPPORT_TICKET_OPENED, _requester(detail), data)
    if kind == "user.created":
        subject = Subject(
            contact_id=qualified(ZENDESK, detail.id),
            account_id=_organization(detail),
            email=detail.email,
        )
        raw = fields.raw_detail(payload)
        data = {key: raw.get(key) for key in ("id", "email", "name", "role", "external_id", "organization_id")}
        return canonical(ZENDESK, event, context, EventType.CONTACT_UPSERTED, subject, data)
    return canonical(ZENDESK, event, context, EventType.VENDOR_UNMAPPED, Subject(), {"payload": payload})


def _requester(detail: ZendeskDetail) -> Subject:
    return Subject(contact_id=qualified(ZENDESK, detail.requester_id), account_id=_organization(detail))


def _organization(detail: ZendeskDetail) -> str | None:
    # Zendesk writes "0" (or null) for "no organization"
    organization = detail.organization_id
    return qualified(ZENDESK, organization) if (organization or "0") != "0" else None


def _status(change: dict[str, Any], detail: ZendeskDetail) -> str:
    # event.current is the new status, a bare string or {"status": ...} depending on the event version
    current = change.get("current")
    if isinstance(current, dict):
        current = current.get("status")
    return str(current or detail.status or "").lower()


def _reopened(change: dict[str, Any], detail: ZendeskDetail) -> bool:
    # a solved ticket the requester answers (or an agent reopens) goes back to an unsolved status; a closed one
    # cannot be reopened (Zendesk makes a follow-up ticket, which arrives as ticket.created)
    return _previous_status(change) == "solved" and _status(change, detail) in _UNSOLVED


def _previous_status(change: dict[str, Any]) -> str | None:
    previous = change.get("previous")
    if isinstance(previous, dict):
        previous = previous.get("status")
    return str(previous).lower() if previous else None


def _ticket(payload: dict[str, Any], fields: ZendeskEvent) -> dict[str, Any]:
    detail = fields.raw_detail(payload)
    ticket_id = fields.detail.id or str(payload.get("subject") or "").rpartition(":")[2] or None
    via = fields.detail.via
    return {
        "ticket_id": ticket_id,
        "subject": detail.get("subject"),
        "status": (fields.detail.status or "").lower() or None,
        "priority": detail.get("priority"),
        "type": detail.get("type"),
        "channel": via.get("channel"),
        "tags": detail.get("tags") or [],
        "requester_id": detail.get("requester_id"),
        "assignee_id": detail.get("assignee_id"),
        "group_id": detail.get("group_id"),
        "organization_id": detail.get("organization_id"),
    }
