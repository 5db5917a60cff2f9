"""The webhook gateway's one use case: verify → de-duplicate → keep durably → publish canonical events.

Exactly once, nothing lost:
- the raw delivery and the claims on its events are stored in one write before anything is acknowledged;
- a claim is a lease: an attempt that dies mid-way leaves it to expire, and the vendor's retry takes over;
- when the bus refuses an event its claim is released and the vendor gets a 503, so its retry publishes it;
- an event whose claim is already PUBLISHED is acknowledged `200` and not published again.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from shared.webhooks.model import (
    Claim,
    ClaimStatus,
    DeliveryAttempt,
    Disposition,
    EventRecord,
    InboundWebhook,
    Outcome,
)
from shared.webhooks.ports import Clock, DeliveryLedger, EventPublisher, PayloadTooLargeToStore, SecretSource
from shared.webhooks.signatures import SignatureError
from shared.webhooks.vendor import DeliveryContext, MalformedPayload, Reply, Vendor

CLAIM_LEASE = timedelta(seconds=60)  # longer than the receiver's 15 s timeout, so a live attempt keeps its lease

_DISPOSITION = {
    ClaimStatus.NEW: Disposition.PUBLISHED,
    ClaimStatus.DUPLICATE: Disposition.DUPLICATE,
    ClaimStatus.IN_PROGRESS: Disposition.IN_PROGRESS,
}


class WebhookIngest:
    def __init__(
        self,
        vendors: Mapping[str, Vendor],
        secrets: SecretSource,
        ledger: DeliveryLedger,
        publisher: EventPublisher,
        clock: Clock,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self._vendors = vendors
        self._secrets = secrets
        self._ledger = ledger
        self._publisher = publisher
        self._clock = clock
        self._new_id = new_id

    def receive(self, request: InboundWebhook) -> Reply:
        now = self._clock.now()
        attempt = self._attempt(request, now)
        vendor = self._vendors.get(request.vendor)
        if vendor is None:
            known = ", ".join(sorted(self._vendors))
            return self._reject(attempt, 404, f"unknown vendor {request.vendor[:64]!r}; this hub receives {known}")
        return vendor.reply(self._receive(vendor, request, attempt, now))

    def _receive(self, vendor: Vendor, request: InboundWebhook, attempt: DeliveryAttempt, now: datetime) -> Reply:
        if len(request.body) > vendor.max_body_bytes:
            limit = vendor.max_body_bytes
            return self._reject(attempt, 413, f"body is {len(request.body)} bytes; {vendor.name} may send {limit}")
        secrets = self._secrets.secrets_for(vendor.secret_key)
        if not secrets:
            return self._reject(attempt, 401, f"no signing secret is configured for {vendor.name}; rejecting all")
        try:
            vendor.verify(request, secrets, now)
        except SignatureError as exc:
            return self._reject(attempt, 401, f"signature rejected: {exc}")
        try:
            handshake = vendor.handshake(request)
            if handshake is not None:
                attempt.outcome, attempt.status_code, attempt.reason = Outcome.HANDSHAKE, handshake.status_code, None
                self._ledger.record(attempt)
                return handshake
            vendor_events = vendor.parse(request)
        except MalformedPayload as exc:
            return self._reject(attempt, 400, f"malformed {vendor.name} payload: {exc}")

        context = DeliveryContext(attempt.attempt_id, request.request_id, now)
        by_key = {e.dedupe_key: Claim(vendor.name, e.dedupe_key, vendor.normalize(e, context)) for e in vendor_events}
        claims = list(by_key.values())
        try:
            statuses = self._ledger.claim(
                claims, now, now + CLAIM_LEASE, lambda found: _accepted(attempt, claims, found)
            )
        except PayloadTooLargeToStore as exc:
            attempt.body = b""  # the log keeps its size and hash, not the body it could not store
            return self._reject(attempt, 413, str(exc))
        new = [claim for claim in claims if statuses[claim.dedupe_key] is ClaimStatus.NEW]
        if not new:
            return self._already_seen(attempt, claims, statuses)
        return self._publish(attempt, claims, statuses, new)

    def _publish(
        self, attempt: DeliveryAttempt, claims: list[Claim], statuses: dict[str, ClaimStatus], new: list[Claim]
    ) -> Reply:
        try:
            failed = self._publisher.publish([claim.event for claim in new]).failed
        except Exception as exc:  # the bus being unreachable must still release the claims
            failed = {claim.event.event_id: f"{type(exc).__name__}: {exc}" for claim in new}
        published = [claim for claim in new if claim.event.event_id not in failed]
        refused = [claim for claim in new if claim.event.event_id in failed]
        self._ledger.settle(published, refused)
        _accepted(attempt, claims, statuses)
        if refused:
            for record in attempt.events:
                if record.event_id in failed:
                    record.disposition = Disposition.FAILED
            first_error = next(iter(failed.values()))
            attempt.outcome, attempt.status_code = Outcome.FAILED, 503
            attempt.reason = f"event bus refused {len(refused)} of {len(new)} events ({first_error}); vendor will retry"
            self._ledger.record(attempt)
            return Reply(503, {"message": "could not publish the delivery; please retry", **_ids(attempt)})
        return Reply(
            202,
            {
                "status": Outcome.ACCEPTED.value,
                **_ids(attempt),
                "accepted": len(published),
                "duplicates": len(claims) - len(new),
                "event_ids": [claim.event.event_id for claim in published],
            },
        )

    def _already_seen(self, attempt: DeliveryAttempt, claims: list[Claim], statuses: dict[str, ClaimStatus]) -> Reply:
        _accepted(attempt, claims, statuses)
        if any(status is ClaimStatus.IN_PROGRESS for status in statuses.values()):
            attempt.outcome, attempt.status_code = Outcome.IN_PROGRESS, 409
            attempt.reason = "another request is processing this delivery"
            self._ledger.record(attempt)
            return Reply(
                409, {"message": "this delivery is being processed by another request; retry later", **_ids(attempt)}
            )
        attempt.outcome, attempt.status_code = Outcome.DUPLICATE, 200
        self._ledger.record(attempt)
        return Reply(
            200,
            {
                "status": Outcome.DUPLICATE.value,
                **_ids(attempt),
                "duplicates": len(claims),
                "event_ids": [claim.event.event_id for claim in claims],
            },
        )

    def _reject(self, attempt: DeliveryAttempt, status_code: int, reason: str) -> Reply:
        attempt.outcome, attempt.status_code, attempt.reason = Outcome.REJECTED, status_code, reason
        self._ledger.record(attempt)
        return Reply(status_code, {"message": reason, **_ids(attempt)})

    def _attempt(self, request: InboundWebhook, now: datetime) -> DeliveryAttempt:
        return DeliveryAttempt(
            attempt_id=self._new_id(),
            vendor=request.vendor[:64],
            received_at=now,
            outcome=Outcome.REJECTED,
            status_code=0,
            body=request.body,
            body_sha256=hashlib.sha256(request.body).hexdigest(),
            body_size=len(request.body),
            content_type=request.header("content-type"),
            user_agent=request.header("user-agent"),
            source_ip=request.source_ip,
        )


def _accepted(attempt: DeliveryAttempt, claims: list[Claim], statuses: dict[str, ClaimStatus]) -> DeliveryAttempt:
    attempt.outcome, attempt.status_code = Outcome.ACCEPTED, 202
    attempt.events = [
        EventRecord(
            vendor_event_id=claim.event.vendor_event_id,
            vendor_event_type=claim.event.vendor_event_type,
            event_type=claim.event.event_type.value,
            event_id=claim.event.event_id,
            disposition=_DISPOSITION[statuses[claim.dedupe_key]],
        )
        for claim in claims
    ]
    return attempt


def _ids(attempt: DeliveryAttempt) -> dict[str, str]:
    return {"delivery_id": attempt.attempt_id}
