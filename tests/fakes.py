"""In-memory adapters with the same contract as the AWS ones; unit tests and `make bench` run on them."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from shared.events.canonical import CanonicalEvent
from shared.webhooks.model import Claim, ClaimStatus, DeliveryAttempt, DeliveryPage, DeliveryQuery, InvalidQuery
from shared.webhooks.ports import PublishResult


@dataclass
class FixedClock:
    moment: datetime = field(default_factory=lambda: datetime(2026, 11, 25, 12, 0, tzinfo=UTC))

    def now(self) -> datetime:
        return self.moment

    def advance(self, delta: timedelta) -> None:
        self.moment += delta


@dataclass
class StaticSecrets:
    by_vendor: dict[str, list[str]] = field(default_factory=dict)

    def secrets_for(self, vendor: str) -> list[str]:
        return list(self.by_vendor.get(vendor, []))


@dataclass
class _ClaimRecord:
    published: bool
    lease_until: datetime
    attempt_id: str


class InMemoryLedger:
    def __init__(self) -> None:
        self.claims: dict[tuple[str, str], _ClaimRecord] = {}
        self.attempts: dict[str, DeliveryAttempt] = {}
        self._lock = threading.Lock()

    def claim(
        self,
        claims: Sequence[Claim],
        now: datetime,
        lease_until: datetime,
        attempt_for: Callable[[dict[str, ClaimStatus]], DeliveryAttempt],
    ) -> dict[str, ClaimStatus]:
        with self._lock:
            statuses = {}
            for claim in claims:
                held = self.claims.get((claim.vendor, claim.dedupe_key))
                if held is None or (not held.published and held.lease_until < now):
                    statuses[claim.dedupe_key] = ClaimStatus.NEW
                elif held.published:
                    statuses[claim.dedupe_key] = ClaimStatus.DUPLICATE
                else:
                    statuses[claim.dedupe_key] = ClaimStatus.IN_PROGRESS
            if ClaimStatus.NEW in statuses.values():
                attempt = attempt_for(statuses)
                for claim in claims:
                    if statuses[claim.dedupe_key] is ClaimStatus.NEW:
                        self.claims[(claim.vendor, claim.dedupe_key)] = _ClaimRecord(
                            False, lease_until, attempt.attempt_id
                        )
                self.attempts[attempt.attempt_id] = replace(attempt, events=list(attempt.events))
            return statuses

    def settle(self, published: Sequence[Claim], failed: Sequence[Claim]) -> None:
        with self._lock:
            for claim in published:
                self.claims[(claim.vendor, claim.dedupe_key)].published = True
            for claim in failed:
                self.claims.pop((claim.vendor, claim.dedupe_key), None)

    def record(self, attempt: DeliveryAttempt) -> None:
        with self._lock:
            self.attempts[attempt.attempt_id] = replace(attempt, events=list(attempt.events))

    def list_attempts(self, query: DeliveryQuery) -> DeliveryPage:
        ordered = sorted(self.attempts.values(), key=lambda a: (a.received_at, a.attempt_id), reverse=True)
        matching = [
            a
            for a in ordered
            if (query.vendor is None or a.vendor == query.vendor)
            and (query.outcome is None or a.outcome == query.outcome)
        ]
        if query.before is not None and not query.before.isdigit():
            raise InvalidQuery("cursor is not one this API returned; start again without it")
        start = int(query.before or 0)
        page = matching[start : start + query.limit]
        more = start + query.limit < len(matching)
        return DeliveryPage([a.summary() for a in page], str(start + query.limit) if more else None)


class RecordingPublisher:
    """Publishes into a list; `refuse` makes the next publishes fail like a FailedEntryCount > 0."""

    def __init__(self) -> None:
        self.published: list[CanonicalEvent] = []
        self.refuse_next = 0
        self.raise_next: Exception | None = None

    def publish(self, events: Sequence[CanonicalEvent]) -> PublishResult:
        if self.raise_next is not None:
            error, self.raise_next = self.raise_next, None
            raise error
        failed = {}
        for event in events:
            if self.refuse_next > 0:
                self.refuse_next -= 1
                failed[event.event_id] = "InternalFailure: injected"
            else:
                self.published.append(event)
        return PublishResult(failed=failed)
