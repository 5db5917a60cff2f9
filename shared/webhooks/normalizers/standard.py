"""Standard Webhooks onto the taxonomy: a sender whose `type` is one of our canonical event types is taken
at its word and published as that type, `data` as sent; anything else is kept unmapped."""

from __future__ import annotations

from typing import Any

from shared.events.canonical import CanonicalEvent, EventType, Subject
from shared.webhooks.model import VendorEvent
from shared.webhooks.normalizers.base import canonical
from shared.webhooks.vendor import DeliveryContext
from shared.webhooks.vendors.standard import PASS_THROUGH, SUBJECT_IDS, StandardWebhooks, check_data

STANDARD = StandardWebhooks.name


def normalize(event: VendorEvent, context: DeliveryContext) -> CanonicalEvent:
    if event.vendor_event_type not in PASS_THROUGH:
        return canonical(STANDARD, event, context, EventType.VENDOR_UNMAPPED)
    data: dict[str, Any] = dict(event.payload.get("data") or {})
    # what the receiver refused, read the same way: a stored body it would refuse now is published unmapped
    # with the problem (a `MalformedPayload`), never handed to a consumer that fails on it
    check_data(event.vendor_event_type, data)
    ids = {key: _qualified(data.get(key)) for key in SUBJECT_IDS}
    email = data.get("email") if isinstance(data.get("email"), str) and data.get("email") else None
    subject = Subject(**ids, email=email)
    return canonical(STANDARD, event, context, EventType(event.vendor_event_type), subject, data)


def _qualified(value: object) -> str | None:
    if value is None or value == "" or isinstance(value, dict | list | bool):
        return None
    text = str(value)
    # a sender relaying another vendor's id ("hubspot:501") keeps it; a bare id is the sender's own
    return text if ":" in text else f"{STANDARD}:{text}"
