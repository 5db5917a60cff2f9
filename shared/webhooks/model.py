"""What the webhook gateway reasons about: an inbound request, the vendor events inside it, and the record
of each delivery attempt (the delivery log)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from shared.errors import InvalidInput


@dataclass(frozen=True)
class InboundWebhook:
    """An HTTP request exactly as the vendor sent it. `headers` keys are lower-case; `url` is the full URL
    the vendor called (some schemes sign it)."""

    vendor: str
    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes
    request_id: str
    source_ip: str | None = None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


_CREDENTIAL_HEADERS = ("authorization", "cookie", "signature", "token", "api-key", "apikey")


def stored_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The request's headers as the delivery log keeps them: never a credential or a signature."""
    return {name: value for name, value in headers.items() if not any(marker in name for marker in _CREDENTIAL_HEADERS)}


@dataclass(frozen=True)
class VendorEvent:
    """One event inside a delivery (HubSpot batches up to 100 per request)."""

    dedupe_key: str
    vendor_event_id: str | None
    vendor_event_type: str
    occurred_at: datetime | None
    payload: Mapping[str, Any]


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    HANDSHAKE = "handshake"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


class Disposition(StrEnum):
    """What became of one vendor event within an attempt: stored, for the publisher to put on the bus from the
    table's stream; or already stored by an earlier attempt, so nothing more."""

    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class StoredEvent:
    """One vendor event of an accepted delivery, as the ledger claims it: the first attempt to store it wins,
    and the publisher puts it on the bus once."""

    vendor: str
    dedupe_key: str
    event_id: str
    # The salted hash of who the event is about (`shared.webhooks.subjects`): the delivery log's subject index,
    # through which an erasure finds a person's raw bodies. None when the event names no person.
    subject: str | None = None
    # Where `dedupe_key` is unique (`Vendor.dedupe_namespace`): the event is claimed under (namespace, dedupe
    # key) and `event_id` drawn from it. None: the vendor's own name.
    dedupe_namespace: str | None = None

    @property
    def namespace(self) -> str:
        return self.dedupe_namespace or self.vendor


@dataclass
class EventRecord:
    vendor_event_id: str | None
    vendor_event_type: str
    event_id: str
    disposition: Disposition


@dataclass
class DeliveryAttempt:
    """One request to `POST /webhooks/{vendor}` and what became of it; with the raw body, for replay."""

    attempt_id: str
    vendor: str
    received_at: datetime
    outcome: Outcome
    status_code: int
    body: bytes
    body_sha256: str
    body_size: int
    content_type: str | None
    user_agent: str | None
    source_ip: str | None
    reason: str | None = None
    events: list[EventRecord] = field(default_factory=list)
    # What the publisher needs to read the body again as the vendor's events: the URL called (the tracking
    # API's call type is its path), the correlation id, and the headers (Standard Webhooks' `webhook-id`, a
    # gzip encoding), credentials and signatures left out (`stored_headers`).
    url: str = ""
    request_id: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    # A refused body's subjects (the hashes of every email in it, `shared.webhooks.subjects`): its events were
    # never read, but its raw body is kept in the log and an erasure must find it under each of them.
    subjects: tuple[str, ...] = ()

    def summary(self) -> DeliverySummary:
        return DeliverySummary(
            attempt_id=self.attempt_id,
            vendor=self.vendor,
            received_at=self.received_at,
            outcome=self.outcome,
            status_code=self.status_code,
            reason=self.reason,
            events=list(self.events),
            body_size=self.body_size,
            body_sha256=self.body_sha256,
            content_type=self.content_type,
            user_agent=self.user_agent,
            source_ip=self.source_ip,
        )


@dataclass(frozen=True)
class DeliverySummary:
    """An attempt as the delivery log lists it: everything but the raw body."""

    attempt_id: str
    vendor: str
    received_at: datetime
    outcome: Outcome
    status_code: int
    reason: str | None
    events: list[EventRecord]
    body_size: int
    body_sha256: str
    content_type: str | None
    user_agent: str | None
    source_ip: str | None


class ClaimStatus(StrEnum):
    NEW = "new"
    DUPLICATE = "duplicate"


class InvalidQuery(InvalidInput):
    """A delivery-log query the caller must fix (the message says how)."""


@dataclass(frozen=True)
class DeliveryPage:
    attempts: list[DeliverySummary]
    next_cursor: str | None


@dataclass(frozen=True)
class DeliveryQuery:
    limit: int = 50
    vendor: str | None = None
    outcome: Outcome | None = None
    before: str | None = None  # opaque position from a previous page


@dataclass(frozen=True)
class OutboxEntry:
    """A stored event the publisher is to put on the bus, as the table's stream reports it. `request` is the
    delivery as received when it was stored with the event (a one-event delivery, one item); otherwise the
    publisher reads it from the attempt `attempt_id`."""

    position: str  # where it sits in the stream: what a retry starts from
    vendor: str
    dedupe_key: str
    event_id: str
    attempt_id: str
    received_at: datetime
    request: InboundWebhook | None = None
