"""Zendesk: `X-Zendesk-Webhook-Signature` = base64 HMAC-SHA256 (webhook signing secret) of the
`X-Zendesk-Webhook-Signature-Timestamp` header value followed by the body. The timestamp is ISO-8601
(`2026-11-25T12:00:00Z`), not epoch seconds.

Two kinds of webhook post here. Event-subscribed ones send Zendesk's event schema (`type`
`zen:event-type:...`, `id`, `subject`, `detail`, `event`) and dedupe on `id`. Trigger and automation ones
send whatever body the admin wrote, with no id: they are kept as vendor.unmapped under a content hash. How
its events map onto the taxonomy: `shared.webhooks.normalizers.zendesk`.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from shared.webhooks.envelope import iso_time, key_id, mapping, text
from shared.webhooks.model import InboundWebhook, VendorEvent
from shared.webhooks.signatures import (
    SignatureError,
    any_match,
    check_timestamp,
    decode_base64,
    header_signatures,
    hmac_sha256,
)
from shared.webhooks.vendor import MalformedPayload, Vendor, content_hash, load_json

SIGNATURE_HEADER = "X-Zendesk-Webhook-Signature"
TIMESTAMP_HEADER = "X-Zendesk-Webhook-Signature-Timestamp"
EVENT_TYPE_PREFIX = "zen:event-type:"
TRIGGER_EVENT_TYPE = "trigger"


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
        occurred_at = _time(body)
        _ticket_id(event_type.removeprefix(EVENT_TYPE_PREFIX), body)
        event_id = body.get("id")
        has_id = isinstance(event_id, str) and bool(event_id)
        return [
            VendorEvent(
                dedupe_key=str(event_id) if has_id else content_hash(body),
                vendor_event_id=str(event_id) if has_id else None,
                vendor_event_type=event_type.removeprefix(EVENT_TYPE_PREFIX),
                occurred_at=occurred_at,
                payload=body,
            )
        ]


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


def _time(body: dict[str, Any]) -> datetime | None:
    """When the event happened; the ticket or user it is about (`detail`) and its change (`event`) hold
    what the normalizer reads, of the types it reads them as."""
    occurred_at = iso_time(body, "time")
    detail = mapping(body, "detail")
    key_id(detail, "id", "detail")  # the ticket's or user's id: a record id, as the consumers key them
    text(detail, "status", "detail")
    # the requester's and the organization's ids: the subject of a ticket's or user's event (`zendesk:<id>`)
    key_id(detail, "requester_id", "detail")
    key_id(detail, "organization_id", "detail")
    mapping(detail, "via", "detail")
    mapping(body, "event")
    return occurred_at


def _ticket_id(kind: str, body: dict[str, Any]) -> None:
    """A ticket event without `detail.id` names its ticket by its subject (`zen:ticket:<id>`): that id is the
    ticket's record id, held to the same limit."""
    subject = body.get("subject")
    if kind.startswith("ticket.") and not mapping(body, "detail").get("id") and isinstance(subject, str):
        key_id({"subject": subject.rpartition(":")[2]}, "subject")


def sign(secret: str, body: bytes, timestamp: str) -> str:
    """The `X-Zendesk-Webhook-Signature` Zendesk would send with `timestamp`; for local examples."""
    return base64.b64encode(hmac_sha256(secret, timestamp.encode() + body)).decode()
