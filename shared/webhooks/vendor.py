"""What every vendor integration provides to the webhook receiver: how its sender is proven, how its body
splits into vendor events, and how the gateway answers it.

How each vendor event maps onto the canonical taxonomy is the normalizers' (`shared.webhooks.normalizers`),
on the publisher's side of the outbox. Nothing here (nor in `shared/webhooks/vendors/`) imports pydantic:
the receiver's cold start pays only for verifying, splitting and storing.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.webhooks.model import InboundWebhook, VendorEvent
from shared.webhooks.payload import MalformedPayload as MalformedPayload  # re-exported for the adapters
from shared.webhooks.payload import NoSuchCall as NoSuchCall
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
class Refusal:
    """An entry of a delivery left out while the rest is taken, where the vendor's protocol does so (a message of a
    Segment batch: Segment keeps a batch's good messages): its position in the delivery, and why."""

    position: int
    reason: str


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

    @property
    def dedupe_namespace(self) -> str:
        """Where this vendor's dedupe keys are unique: its events are claimed under (namespace, dedupe key), and
        their canonical event ids drawn from it (`shared.events.ids.event_id`). The vendor's own name, unless
        several ways in carry the same events under the same keys (Segment's webhook destination and tracking
        API, both keyed by Segment's `messageId`): an event then is stored and published once, under one id,
        whichever way it arrives first."""
        return self.name

    @abstractmethod
    def verify(self, request: InboundWebhook, secrets: list[str], now: datetime) -> None:
        """Raise SignatureError unless the request was signed with one of `secrets`."""

    @abstractmethod
    def parse(self, request: InboundWebhook) -> list[VendorEvent]:
        """Split a verified body into vendor events (dedupe key, id, type, time, payload); raise
        MalformedPayload, naming the field, when it cannot: not JSON within bounds, an envelope field of the
        wrong type, an id missing, a time outside 1970..2200, more events than the vendor sends."""

    def refused(self, request: InboundWebhook) -> list[Refusal]:
        """The entries of a body `parse` read that it left out, each named by position and why: empty unless the
        vendor's protocol takes the rest of a batch without its bad entries (the tracking API). `parse` raises
        instead when it would leave out every entry."""
        return []

    def handshake(self, request: InboundWebhook) -> Reply | None:
        """For a verified request that is a protocol handshake rather than events (Slack's url_verification),
        the answer to send; such requests are logged and nothing is published."""
        return None

    def reply(self, answer: Reply) -> Reply:
        """The gateway's answer in the form this vendor expects; JSON unless the vendor says otherwise."""
        return answer


def content_hash(value: Any) -> str:
    """A stable key for events that carry no usable id of their own."""
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def qualified(vendor: str, value: object) -> str | None:
    return f"{vendor}:{value}" if value not in (None, "") else None
