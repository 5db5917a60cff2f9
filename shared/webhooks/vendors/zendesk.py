"""Zendesk: `X-Zendesk-Webhook-Signature` = base64 HMAC-SHA256 (webhook signing secret) of the
`X-Zendesk-Webhook-Signature-Timestamp` header value followed by the body. The timestamp is ISO-8601
(`2026-11-25T12:00:00Z`), not epoch seconds.

Two kinds of webhook post here. Event-subscribed ones send Zendesk's event schema (`type`
`zen:event-type:...`, `id`, `subject`, `detail`, `event`) and dedupe on `id`. Trigger and automation ones
send whatever body the admin wrote, with no id: they are kept as vendor.unmapped under a content hash.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from pydantic import Field

from shared.events.canonical import CanonicalEvent, EventType, Subject
from shared.webhooks.model import InboundWebhook, VendorEvent
from shared.webhooks.payload import Id, IsoTime, Obj, Payload, Str, Text, read
from shared.webhooks.signatures import (
    SignatureError,
    any_match,
    check_timestamp,
    decode_base64,
    header_signatures,
    hmac_sha256,
)
from shared.webhooks.vendor import DeliveryContext, MalformedPayload, Vendor, content_hash, load_json, qualified

SIGNATURE_HEADER = "X-Zendesk-Webhook-Signature"
TIMESTAMP_HEADER = "X-Zendesk-Webhook-Signature-Timestamp"
EVENT_TYPE_PREFIX = "zen:event-type:"
TRIGGER_EVENT_TYPE = "trigger"


class ZendeskDetail(Payload):
    """The ticket or user an event is about, as far as the hub reads it."""

    id: Id = None
    email: Text = None
    status: Str = None
    requester_id: Id = None
    organization_id: Id = None
    via: Obj = Field(default_factory=dict)


class ZendeskEvent(Payload):
    time: IsoTime = None
    detail: ZendeskDetail = Field(default_factory=ZendeskDetail)
    event: Obj = Field(default_factory=dict)

    @staticmethod
    def raw_detail(payload: dict[str, Any]) -> dict[str, Any]:
        detail = payload.get("detail")
        return detail if isinstance(detail, dict) else {}


class Zendesk(Vendor):
    name = "zendesk"

    def verify(self, request: InboundWebhook, secrets: list[str], now: datetime) -> None:
        signatures = header_signatures(request.header(SIGNATURE_HEADER), SIGNATURE_HEADER)
        timestamp = request.header(TIMESTAMP_HEADER) or ""
        check_timestamp(_signed_at(timestamp), now)
        signed = timestamp.encode() + request.body
        if not any_match((hmac_sha256(secret, signed) for secret in secrets), decode_base64(signatures)):
            raise SignatureError(f"{SIGNATURE_HEADER} does not match any configured signing secret")

    def parse(self, request: InboundWebhook) -> list[VendorEvent]:
        body = load_json(request.body)
        event_type = body.get("type") if isinstance(body, dict) else None
        if not (isinstance(event_type, str) and event_type.startswith(EVENT_TYPE_PREFIX)):
            # a trigger's custom body: any JSON at all, and nothing in it to trust as an id
            payload = body if isinstance(body, dict) else {"body": body}
            return [VendorEvent(content_hash(payload), None, TRIGGER_EVENT_TYPE, None, payload)]
        for key in ("detail", "event"):
            if not isinstance(body.get(key, {}), dict | None):
                raise MalformedPayload(f"{event_type} event's {key} is not an object")
        fields = read(ZendeskEvent, body)
        event_id = body.get("id")
        has_id = isinstance(event_id, str) and bool(event_id)
        return [
            VendorEvent(
                dedupe_key=str(event_id) if has_id else content_hash(body),
                vendor_event_id=str(event_id) if has_id else None,
                vendor_event_type=event_type.removeprefix(EVENT_TYPE_PREFIX),
                occurred_at=fields.time,
                payload=body,
            )
        ]

    def normalize(self, event: VendorEvent, context: DeliveryContext) -> CanonicalEvent:
        payload: dict[str, Any] = dict(event.payload)
        if event.vendor_event_type == TRIGGER_EVENT_TYPE:  # the admin's own body: nothing in it is read
            return self.canonical(event, context, EventType.VENDOR_UNMAPPED, Subject(), {"payload": payload})
        fields = read(ZendeskEvent, payload)
        detail, change = fields.detail, fields.event
        kind = event.vendor_event_type
        if kind == "ticket.created":
            return self.canonical(
                event, context, EventType.SUPPORT_TICKET_OPENED, self._requester(detail), _ticket(payload, fields)
            )
        if kind == "ticket.status_changed" and _status(change, detail) == "solved":
            data = _ticket(payload, fields) | {"previous_status": _previous_status(change)}
            return self.canonical(event, context, EventType.SUPPORT_TICKET_SOLVED, self._requester(detail), data)
        if kind == "user.created":
            subject = Subject(
                contact_id=qualified(self.name, detail.id),
                account_id=self._organization(detail),
                email=detail.email,
            )
            raw = fields.raw_detail(payload)
            data = {key: raw.get(key) for key in ("id", "email", "name", "role", "external_id", "organization_id")}
            return self.canonical(event, context, EventType.CONTACT_UPSERTED, subject, data)
        return self.canonical(event, context, EventType.VENDOR_UNMAPPED, Subject(), {"payload": payload})

    def _requester(self, detail: ZendeskDetail) -> Subject:
        return Subject(contact_id=qualified(self.name, detail.requester_id), account_id=self._organization(detail))

    def _organization(self, detail: ZendeskDetail) -> str | None:
        # Zendesk writes "0" (or null) for "no organization"
        organization = detail.organization_id
        return qualified(self.name, organization) if (organization or "0") != "0" else None


def _signed_at(raw: str) -> datetime:
    if not raw:
        raise SignatureError(f"missing {TIMESTAMP_HEADER} header")
    try:
        signed_at = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise SignatureError(f"{TIMESTAMP_HEADER} is not an ISO-8601 timestamp") from None
    if signed_at.tzinfo is None:
        raise SignatureError(f"{TIMESTAMP_HEADER} has no UTC offset")
    return signed_at


def _status(change: dict[str, Any], detail: ZendeskDetail) -> str:
    # event.current is the new status, a bare string or {"status": ...} depending on the event version
    current = change.get("current")
    if isinstance(current, dict):
        current = current.get("status")
    return str(current or detail.status or "").lower()


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


def sign(secret: str, body: bytes, timestamp: str) -> str:
    """The `X-Zendesk-Webhook-Signature` Zendesk would send with `timestamp`; for local examples."""
    return base64.b64encode(hmac_sha256(secret, timestamp.encode() + body)).decode()
