"""The webhook gateway's one use case: verify → de-duplicate → keep durably → publish canonical events.

Exactly once, nothing lost:
- the raw delivery and the claims on its events are stored in one write before anything is acknowledged;
- a claim is a lease: an attempt that dies mid-way leaves it to expire, and the vendor's retry takes over;
- when the bus refuses an event its claim is released and the vendor gets a 503, so its retry publishes it;
- an event whose claim is already PUBLISHED is acknowledged `200` and not published again.

No input gives a 5xx: what can never succeed gets a permanent answer, never one the vendor retries forever.
- a body that is not what the vendor sends (wrong types, times out of range, JSON past its bounds) is a 400
  naming what is wrong; one over a protocol limit is a 413;
- an adapter raising anything else is a bug of ours: logged with its traceback, counted, and answered 400
  "could not read this payload: <type>", since the vendor's retries would fail the same way;
- text no bus can carry (lone UTF-16 surrogates) is replaced with U+FFFD, and the log entry says so;
- an event the bus refuses for good (malformed, invalid) is a 400, and the log says why; only refusals a
  retry can fix (throttling, an outage, our own permissions) are a 503.
Every one of them lands in the delivery log, raw body included.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta

from shared.webhooks.model import (
    Claim,
    ClaimStatus,
    DeliveryAttempt,
    Disposition,
    EventRecord,
    InboundWebhook,
    Outcome,
    VendorEvent,
)
from shared.webhooks.normalizers import normalize
from shared.webhooks.payload import escape_lone_surrogates, has_lone_surrogates, replace_lone_surrogates
from shared.webhooks.ports import Clock, DeliveryLedger, EventPublisher, PayloadTooLargeToStore, SecretSource
from shared.webhooks.signatures import SignatureError
from shared.webhooks.vendor import DeliveryContext, MalformedPayload, PayloadTooLarge, Reply, Vendor

_log = logging.getLogger(__name__)

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
        answer = self._receive(vendor, request, attempt, now)
        return replace(vendor.reply(answer), incident=answer.incident)

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
            claims, note = ([], None) if handshake is not None else self._read(vendor, request, attempt, now)
        except PayloadTooLarge as exc:
            return self._reject(attempt, 413, f"{vendor.name} payload too large: {exc}")
        except MalformedPayload as exc:
            return self._reject(attempt, 400, f"malformed {vendor.name} payload: {exc}")
        except Exception as exc:  # a bug of ours: see `_unreadable`
            return self._unreadable(vendor, attempt, exc)
        if handshake is not None:
            attempt.outcome, attempt.status_code, attempt.reason = Outcome.HANDSHAKE, handshake.status_code, None
            self._ledger.record(attempt)
            return handshake
        attempt.reason = note
        try:
            statuses = self._ledger.claim(
                claims, now, now + CLAIM_LEASE, lambda found: _accepted(attempt, claims, found)
            )
        except PayloadTooLargeToStore as exc:
            # the log keeps the body's size and hash, not what it could not store
            attempt.body, attempt.events = b"", []
            return self._reject(attempt, 413, str(exc))
        new = [claim for claim in claims if statuses[claim.dedupe_key] is ClaimStatus.NEW]
        if not new:
            return self._already_seen(attempt, claims, statuses)
        return self._publish(attempt, claims, statuses, new)

    def _read(
        self, vendor: Vendor, request: InboundWebhook, attempt: DeliveryAttempt, now: datetime
    ) -> tuple[list[Claim], str | None]:
        """The delivery's events as claims, each normalized, and a note for the log on what had to be mended."""
        parsed = vendor.parse(request)
        vendor_events = [_mend(event) if _unencodable(event) else event for event in parsed]
        mended = sum(event is not original for event, original in zip(vendor_events, parsed, strict=True))
        context = DeliveryContext(attempt.attempt_id, request.request_id, now)
        by_key = {
            e.dedupe_key: Claim(vendor.name, e.dedupe_key, normalize(vendor.name, e, context)) for e in vendor_events
        }
        note = None
        if mended:
            note = (
                f"lone UTF-16 surrogates in {mended} of {len(parsed)} events were replaced with U+FFFD "
                "(no bus can carry them; the raw body is kept)"
            )
        return list(by_key.values()), note

    def _unreadable(self, vendor: Vendor, attempt: DeliveryAttempt, exc: Exception) -> Reply:
        """An adapter raised what it never should: a bug of ours, not the sender's. The vendor gets a 400 all
        the same, because its retries would fail the same way for as long as it keeps them up; the log keeps
        the attempt (raw body included, for a redrive once the bug is fixed), we get the traceback, and the
        answer is marked so the function counts it."""
        _log.exception(
            "could not read a %s payload (delivery %s): a bug in its adapter", vendor.name, attempt.attempt_id
        )
        kind = type(exc).__name__
        return replace(self._reject(attempt, 400, f"could not read this payload: {kind}"), incident=kind)

    def _publish(
        self, attempt: DeliveryAttempt, claims: list[Claim], statuses: dict[str, ClaimStatus], new: list[Claim]
    ) -> Reply:
        permanent: frozenset[str] = frozenset()
        try:
            result = self._publisher.publish([claim.event for claim in new])
            failed, permanent = result.failed, result.permanent
        except Exception as exc:  # the bus being unreachable must still release the claims
            failed = {claim.event.event_id: f"{type(exc).__name__}: {exc}" for claim in new}
        published = [claim for claim in new if claim.event.event_id not in failed]
        refused = [claim for claim in new if claim.event.event_id in failed]
        # Refused claims are released either way: a retry may publish what the bus refused for now, and a
        # redrive of the stored delivery what it refused for good once the cause is fixed.
        self._ledger.settle(published, refused)
        _accepted(attempt, claims, statuses)
        if not refused:
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
        for record in attempt.events:
            if record.event_id in failed:
                record.disposition = Disposition.FAILED
        note = f"; {attempt.reason}" if attempt.reason else ""
        attempt.outcome = Outcome.FAILED
        retryable = {event_id: error for event_id, error in failed.items() if event_id not in permanent}
        if retryable:
            first_error = next(iter(retryable.values()))
            attempt.status_code = 503
            attempt.reason = (
                f"event bus refused {len(refused)} of {len(new)} events ({first_error}); vendor will retry{note}"
            )
            self._ledger.record(attempt)
            return Reply(503, {"message": "could not publish the delivery; please retry", **_ids(attempt)})
        first_error = next(iter(failed.values()))
        attempt.status_code = 400
        attempt.reason = (
            f"event bus refused {len(refused)} of {len(new)} events for good ({first_error}): retrying cannot "
            f"publish them, so the vendor is told to stop; the raw body is kept here for a redrive{note}"
        )
        self._ledger.record(attempt)
        return Reply(
            400,
            {
                "message": f"the event bus cannot accept {len(refused)} of the {len(new)} events of this delivery "
                f"({first_error}); retrying will not help",
                **_ids(attempt),
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


def _unencodable(event: VendorEvent) -> bool:
    return has_lone_surrogates([event.dedupe_key, event.vendor_event_id, event.vendor_event_type, event.payload])


def _mend(event: VendorEvent) -> VendorEvent:
    """The event with text a bus can carry: ids keep each surrogate as its escape (so they stay distinct),
    everything else gets U+FFFD in its place."""
    return VendorEvent(
        dedupe_key=escape_lone_surrogates(event.dedupe_key),
        vendor_event_id=escape_lone_surrogates(event.vendor_event_id) if event.vendor_event_id else None,
        vendor_event_type=replace_lone_surrogates(event.vendor_event_type),
        occurred_at=event.occurred_at,
        payload=replace_lone_surrogates(dict(event.payload)),
    )
