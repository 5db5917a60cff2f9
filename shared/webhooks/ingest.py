"""The webhook gateway's receiving half: verify → split into the vendor's events → store durably → answer.

A transactional outbox. The receiver never publishes: it stores the delivery and claims each of its events
in one write (one item for a one-event delivery, one transaction for a batch), and answers once that write
is durable. The publisher (`shared/webhooks/publishing.py`) puts what was stored on the bus from the table's
stream. So:
- nothing accepted is lost: a 202 means stored, and the stream delivers every stored event to the publisher,
  with retries and a dead-letter queue;
- a vendor's retry never publishes twice: its events are claimed already, so it is a duplicate (200), even
  while the first attempt is still in flight (the claim is the write itself: there is no lease to wait on);
  claims are per de-duplication namespace (`Vendor.dedupe_namespace`), so a Segment message that comes both
  through the tracking API and through Segment's webhook destination is stored once, the second a duplicate;
- a refused or dead bus does not concern the vendor: the publisher retries, the vendor is not asked to.

No input gives a 5xx: what can never succeed gets a permanent answer, never one the vendor retries forever.
- a body that cannot be split into the vendor's events (not JSON or past its bounds, ids of the wrong type,
  times out of range) is a 400 naming what is wrong; one over a protocol limit is a 413; where the vendor's
  protocol keeps a batch's good entries without its bad ones (the tracking API: `Vendor.refused`), the good ones
  are stored and the answer and the log name the others, by position and why;
- an adapter raising anything else is a bug of ours: logged with its traceback, marked as an incident, and
  answered 400 "could not read this payload: <type>", since the vendor's retries would fail the same way;
- text no store or bus can carry (lone UTF-16 surrogates) is mended (`reading.py`), and the log says so.
Every attempt lands in the delivery log, raw body included, indexed under everyone it names
(`shared.webhooks.subjects`: an event under its own person, and the body under each further email it holds, which
the ledger is handed as the attempt's `subjects`); a refused body that cannot be (too large to search, or naming
too many people) is logged by its size and hash only.

This module is on the receiver's import path: it imports no pydantic and nothing that does.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime

from shared.events.ids import event_id
from shared.webhooks.model import (
    ClaimStatus,
    DeliveryAttempt,
    Disposition,
    EventRecord,
    InboundWebhook,
    Outcome,
    StoredEvent,
    VendorEvent,
    stored_headers,
)
from shared.webhooks.ports import Clock, DeliveryLedger, PayloadTooLargeToStore, SecretSource
from shared.webhooks.reading import read_events
from shared.webhooks.signatures import SignatureError
from shared.webhooks.subjects import MAX_BODY_BYTES_SEARCHED, MAX_BODY_SUBJECTS, people_of_event, subjects_of_body
from shared.webhooks.vendor import MalformedPayload, NoSuchCall, PayloadTooLarge, Refusal, Reply, Vendor

_log = logging.getLogger(__name__)

_UNINDEXED = (
    f"it is over {MAX_BODY_BYTES_SEARCHED} bytes (inflated), gzip that does not inflate, "
    f"or names more than {MAX_BODY_SUBJECTS} people"
)
# How many refused entries an answer names (`Vendor.refused`): a batch may hold thousands; their count is always said
MAX_REFUSALS_NAMED = 100
_MAX_REFUSALS_LOGGED = 10  # the log's reason names fewer: it shares a DynamoDB item with the body
_MAX_REFUSAL_CHARACTERS = 300
_DISPOSITION = {ClaimStatus.NEW: Disposition.ACCEPTED, ClaimStatus.DUPLICATE: Disposition.DUPLICATE}


class WebhookIngest:
    def __init__(
        self,
        vendors: Mapping[str, Vendor],
        secrets: SecretSource,
        ledger: DeliveryLedger,
        clock: Clock,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self._vendors = vendors
        self._secrets = secrets
        self._ledger = ledger
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
            events, mended = ([], 0) if handshake is not None else read_events(vendor, request)
            refused = [] if handshake is not None else vendor.refused(request)
        except PayloadTooLarge as exc:
            return self._reject(attempt, 413, f"{vendor.name} payload too large: {exc}")
        except NoSuchCall as exc:
            return self._reject(attempt, 404, str(exc))
        except MalformedPayload as exc:
            return self._reject(attempt, 400, f"malformed {vendor.name} payload: {exc}")
        except Exception as exc:  # a bug of ours: see `_unreadable`
            return self._unreadable(vendor, attempt, exc)
        if handshake is not None:
            attempt.outcome, attempt.status_code, attempt.reason = Outcome.HANDSHAKE, handshake.status_code, None
            self._ledger.record(attempt)
            return handshake
        notes: list[str] = []
        also_named: tuple[str, ...] = ()
        if refused:
            # the refused messages stay in the kept body: an erasure must find it under each email they hold too
            named_in_body = subjects_of_body(attempt.body, attempt.headers.get("content-encoding"))
            if named_in_body is None:
                return self._reject(attempt, 400, f"malformed {vendor.name} payload: {refused[0].reason}")
            also_named = named_in_body
            notes.append(_refusals_logged(refused, len(events) + len(refused)))
        if mended:
            notes.append(
                f"lone UTF-16 surrogates in {mended} of {len(events)} events were replaced with U+FFFD "
                "(no store or bus can carry them; the raw body is kept)"
            )
        attempt.reason = "; ".join(notes) or None
        unique = list({event.dedupe_key: event for event in events}.values())
        reply = self._store(vendor, attempt, unique, also_named)
        if refused and 200 <= reply.status_code < 300 and isinstance(reply.body, dict):
            named = [{"index": r.position, "reason": _clipped(r.reason)} for r in refused[:MAX_REFUSALS_NAMED]]
            reply = replace(reply, body={**reply.body, "refused": named, "refused_count": len(refused)})
        return reply

    def _store(
        self, vendor: Vendor, attempt: DeliveryAttempt, events: list[VendorEvent], also_named: tuple[str, ...] = ()
    ) -> Reply:
        """Store the events; `also_named`: the subjects of whoever else the kept body names (refused entries)."""
        namespace = vendor.dedupe_namespace  # Segment's two ways in share one: a message is stored once either way
        people = [people_of_event(vendor.name, e.payload) for e in events]
        stored = [
            StoredEvent(vendor.name, e.dedupe_key, event_id(namespace, e.dedupe_key), own, dedupe_namespace=namespace)
            for e, (own, _) in zip(events, people, strict=True)
        ]
        attempt.outcome, attempt.status_code = Outcome.ACCEPTED, 202
        attempt.events = _records(events, stored, {e.dedupe_key: ClaimStatus.NEW for e in events})
        # Everyone else the body names, for the ledger's pointer items: none in most deliveries (one put, as ever)
        owners = {own for own, _ in people}
        further_people = [p for _, further in people for p in further]
        attempt.subjects = tuple(dict.fromkeys(p for p in [*further_people, *also_named] if p not in owners))
        try:
            statuses = self._ledger.accept(attempt, stored)
        except PayloadTooLargeToStore as exc:
            # the log keeps the body's size and hash, not what it could not (nor whom it named)
            attempt.body, attempt.events, attempt.subjects = b"", [], ()
            return self._reject(attempt, 413, str(exc))
        attempt.events = _records(events, stored, statuses)
        event_ids = [event.event_id for event in stored]
        new = sum(status is ClaimStatus.NEW for status in statuses.values())
        if new:
            body = {"accepted": new, "duplicates": len(stored) - new, "event_ids": event_ids}
            return Reply(202, {"status": Outcome.ACCEPTED.value, **_ids(attempt), **body})
        attempt.outcome, attempt.status_code = Outcome.DUPLICATE, 200
        attempt.body, attempt.subjects = b"", ()  # the first attempt keeps the body; the log this one's size and hash
        self._ledger.record(attempt)
        return Reply(
            200, {"status": Outcome.DUPLICATE.value, **_ids(attempt), "duplicates": len(stored), "event_ids": event_ids}
        )

    def _unreadable(self, vendor: Vendor, attempt: DeliveryAttempt, exc: Exception) -> Reply:
        """An adapter raised what it never should: a bug of ours, not the sender's. The vendor gets a 400 all
        the same, because its retries would fail the same way for as long as it keeps them up; the log keeps
        the attempt (raw body included, for a redrive once the bug is fixed), we get the traceback, and the
        answer is marked so the function reports it."""
        _log.exception(
            "could not read a %s payload (delivery %s): a bug in its adapter", vendor.name, attempt.attempt_id
        )
        kind = type(exc).__name__
        return replace(self._reject(attempt, 400, f"could not read this payload: {kind}"), incident=kind)

    def _reject(self, attempt: DeliveryAttempt, status_code: int, reason: str) -> Reply:
        attempt.outcome, attempt.status_code, attempt.reason = Outcome.REJECTED, status_code, reason
        if attempt.body:
            subjects = subjects_of_body(attempt.body, attempt.headers.get("content-encoding"))
            if subjects is None:  # an erasure could not find it under everyone it names: the log keeps size and hash
                attempt.body = b""
                attempt.reason = f"{reason}; the body was not kept: {_UNINDEXED}"
            attempt.subjects = subjects or ()
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
            url=request.url,
            request_id=request.request_id,
            headers=stored_headers(request.headers),
        )


def _records(
    events: list[VendorEvent], stored: list[StoredEvent], statuses: Mapping[str, ClaimStatus]
) -> list[EventRecord]:
    return [
        EventRecord(
            vendor_event_id=event.vendor_event_id,
            vendor_event_type=event.vendor_event_type,
            event_id=claim.event_id,
            disposition=_DISPOSITION[statuses[claim.dedupe_key]],
        )
        for event, claim in zip(events, stored, strict=True)
    ]


def _clipped(reason: str) -> str:
    return reason if len(reason) <= _MAX_REFUSAL_CHARACTERS else reason[: _MAX_REFUSAL_CHARACTERS - 1] + "…"


def _refusals_logged(refused: list[Refusal], total: int) -> str:
    named = "; ".join(_clipped(r.reason) for r in refused[:_MAX_REFUSALS_LOGGED])
    more = len(refused) - _MAX_REFUSALS_LOGGED
    return f"{len(refused)} of {total} messages refused, the rest kept: {named}" + (
        f"; and {more} more" if more > 0 else ""
    )


def _ids(attempt: DeliveryAttempt) -> dict[str, str]:
    return {"delivery_id": attempt.attempt_id}
