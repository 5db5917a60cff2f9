"""The webhook gateway's ports: what the domain needs from the outside world. AWS adapters live in
`shared/adapters`, in-memory fakes in `tests/fakes.py`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from shared.webhooks.model import Claim, ClaimStatus, DeliveryAttempt, DeliveryPage, DeliveryQuery


class PayloadTooLargeToStore(Exception):
    """The raw body cannot be kept durably (it does not compress under the store's item limit)."""


class SecretSource(Protocol):
    def secrets_for(self, vendor: str) -> list[str]:
        """Every accepted secret for the vendor, current first; empty when none is configured."""
        ...


class DeliveryLedger(Protocol):
    def claim(
        self,
        claims: Sequence[Claim],
        now: datetime,
        lease_until: datetime,
        attempt_for: Callable[[dict[str, ClaimStatus]], DeliveryAttempt],
    ) -> dict[str, ClaimStatus]:
        """Claim each event and durably store the attempt (raw body included) in the same atomic write.

        Returns each claim's status by dedupe key: NEW (held by this attempt until `lease_until`; it must
        publish), DUPLICATE (already published) or IN_PROGRESS (another attempt holds an unexpired lease).
        The stored attempt is `attempt_for(statuses)`; when no claim is NEW nothing is stored."""
        ...

    def settle(self, published: Sequence[Claim], failed: Sequence[Claim]) -> None:
        """Mark published claims as such and release failed ones so the vendor's retry can claim them."""
        ...

    def record(self, attempt: DeliveryAttempt) -> None:
        """Store (or overwrite) one attempt in the delivery log."""
        ...

    def list_attempts(self, query: DeliveryQuery) -> DeliveryPage: ...


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
