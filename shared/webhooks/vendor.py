"""What every vendor integration provides: how its sender is proven, how its body splits into events, and
how each event maps onto the canonical taxonomy."""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.events.canonical import CanonicalEvent, EventType, Subject
from shared.webhooks.model import InboundWebhook, VendorEvent
from shared.webhooks.payload import MalformedPayload as MalformedPayload  # re-exported for the adapters
from shared.webhooks.payload import PayloadTooLarge as PayloadTooLarge
from shared.webhooks.payload import load_json as load_json


@dataclass(frozen=True)
class Reply:
    """The HTTP answer to a delivery. Most vendors take JSON; some expect their own shape (Salesforce a SOAP
    Ack, Slack's url_verification the challenge back)."""

    status_code: int
    body: dict[str, Any] | str
    content_type: str = "application/json"
    # Set when the answer covers a fault of ours rather than the sender's (an adapter raised what it never
    # should): the exception's type, for the function to count. Never sent to the vendor.
    incident: str | None = None


@dataclass(frozen=True)
class DeliveryContext:
    delivery_id: str
    correlation_id: str
    received_at: datetime


class Vendor(ABC):
    name: str
    max_body_bytes: int = 256 * 1024

    @property
    def secret_key(self) -> str:
        """The entry of the secrets document holding this vendor's secrets."""
        return self.name

    @abstractmethod
    def verify(self, request: InboundWebhook, secrets: list[str], now: datetime) -> None:
        """Raise SignatureError unless the request was signed with one of `secrets`."""

    @abstractmethod
    def parse(self, request: InboundWebhook) -> list[VendorEvent]:
        """Split a verified body into vendor events; raise MalformedPayload if it cannot."""

    @abstractmethod
    def normalize(self, event: VendorEvent, context: DeliveryContext) -> CanonicalEvent: ...

    def handshake(self, request: InboundWebhook) -> Reply | None:
        """For a verified request that is a protocol handshake rather than events (Slack's url_verification),
        the answer to send; such requests are logged and nothing is published."""
        return None

    def reply(self, answer: Reply) -> Reply:
        """The gateway's answer in the form this vendor expects; JSON unless the vendor says otherwise."""
        return answer

    def canonical(
        self,
        event: VendorEvent,
        context: DeliveryContext,
        event_type: EventType,
        subject: Subject | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> CanonicalEvent:
        payload = data if data is not None else {"payload": dict(event.payload)}
        return CanonicalEvent(
            event_id=CanonicalEvent.id_for(self.name, event.dedupe_key),
            event_type=event_type,
            occurred_at=event.occurred_at or context.received_at,
            received_at=context.received_at,
            source_vendor=self.name,
            vendor_event_id=event.vendor_event_id,
            vendor_event_type=event.vendor_event_type,
            subject=subject or Subject(),
            data=dict(payload),
            correlation_id=context.correlation_id,
            delivery_id=context.delivery_id,
        )


def content_hash(value: Any) -> str:
    """A stable key for events that carry no usable id of their own."""
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def qualified(vendor: str, value: object) -> str | None:
    return f"{vendor}:{value}" if value not in (None, "") else None
