"""The webhook gateway's ports: what the domain needs from the outside world. AWS adapters live in
`shared/adapters`, in-memory fakes in `tests/fakes.py`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from shared.webhooks.model import (
    ClaimStatus,
    DeliveryAttempt,
    DeliveryPage,
    DeliveryQuery,
    InboundWebhook,
    OutboxEntry,
    StoredEvent,
)


class PayloadTooLargeToStore(Exception):
    """The raw body cannot be kept durably (it does not compress under the store's item limit)."""


class SecretSource(Protocol):
    def secrets_for(self, vendor: str) -> list[str]:
        """Every accepted secret for the vendor, current first; empty when none is configured."""
        ...


class DeliveryLedger(Protocol):
    def accept(self, attempt: DeliveryAttempt, events: Sequence[StoredEvent]) -> dict[str, ClaimStatus]:
        """Store the accepted attempt (raw body included) and claim its events, in one write where the store
        allows (one item for a one-event delivery, one transaction for a batch).

        Returns each event's status by dedupe key: NEW (stored now, by this attempt: the publisher will put it
        on the bus) or DUPLICATE (an earlier attempt stored it). When every event is a DUPLICATE nothing is
        stored; the caller records the attempt as a duplicate. Raises PayloadTooLargeToStore when the attempt
        cannot be kept."""
        ...

    def record(self, attempt: DeliveryAttempt) -> None:
        """Store one attempt that stored no event (rejected, a handshake, a duplicate) in the delivery log."""
        ...

    def list_attempts(self, query: DeliveryQuery) -> DeliveryPage: ...

    def request_of(self, attempt_id: str) -> InboundWebhook | None:
        """The request an accepted attempt stored, as received (signature headers aside), for the publisher
        to read its events again; None when it is not kept (expired)."""
        ...


class DeadLetters(Protocol):
    def send(self, entry: OutboxEntry, reason: str) -> None:
        """Set an event aside that cannot be published whatever is retried, with the reason, to be redriven
        once the cause is fixed."""
        ...


@dataclass(frozen=True)
class PublishResult:
    failed: dict[str, str] = field(default_factory=dict)  # event id -> error
    # The failed events no retry can publish (the bus found them malformed or invalid); the others failed
    # for a reason that passes (throttling, an outage, a permission being fixed).
    permanent: frozenset[str] = frozenset()


class BusEvent(Protocol):
    """What the publisher needs of an event: canonical webhook events and lead events both are."""

    @property
    def event_id(self) -> str: ...

    @property
    def event_type(self) -> StrEnum: ...

    @property
    def occurred_at(self) -> datetime: ...

    def model_dump_json(self) -> str: ...

    def by_reference(self) -> BusEvent: ...


class EventPublisher(Protocol):
    def publish(self, events: Sequence[BusEvent]) -> PublishResult: ...


class Clock(Protocol):
    def now(self) -> datetime: ...
