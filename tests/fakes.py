"""In-memory adapters with the same contract as the AWS ones; unit tests and `make bench` run on them."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from shared.errors import InvalidInput
from shared.events.lead_events import LeadEvent
from shared.leads.model import (
    Account,
    ConsentRecord,
    Contact,
    EngagementRecord,
    Identity,
    MergeRecord,
    ScoreChange,
    Stage,
    Transition,
)
from shared.leads.ports import (
    AppliedEvent,
    AppliedModel,
    ChangeSet,
    ConcurrentUpdate,
    ContactPage,
    History,
    HistoryEntry,
    ModelVersionConflict,
    OwnerKind,
)
from shared.webhooks.model import (
    ClaimStatus,
    DeliveryAttempt,
    DeliveryPage,
    DeliveryQuery,
    Disposition,
    InboundWebhook,
    InvalidQuery,
    OutboxEntry,
    Outcome,
    StoredEvent,
)
from shared.webhooks.ports import BusEvent, EventPublisher, PublishResult


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


class InMemoryLedger:
    """The delivery ledger in memory: the first attempt to store an event claims it; stored attempts keep their
    request for the publisher. `outbox` is what the table's stream would deliver, in order."""

    def __init__(self) -> None:
        self.claims: dict[tuple[str, str], str] = {}  # (dedupe namespace, dedupe key) -> attempt id
        self.attempts: dict[str, DeliveryAttempt] = {}
        self.outbox: list[OutboxEntry] = []
        self._positions = 0
        self._merged: set[str] = set()  # one-event deliveries: stored with their event, read from the stream
        self._lock = threading.Lock()

    def accept(self, attempt: DeliveryAttempt, events: Sequence[StoredEvent]) -> dict[str, ClaimStatus]:
        with self._lock:
            statuses = {
                event.dedupe_key: ClaimStatus.DUPLICATE
                if (event.namespace, event.dedupe_key) in self.claims
                else ClaimStatus.NEW
                for event in events
            }
            new = [event for event in events if statuses[event.dedupe_key] is ClaimStatus.NEW]
            if not new:
                return statuses
            # as DynamoDB's stream does: a one-event delivery's entry brings its request, a batch's points at it
            request = _request_of(attempt) if len(events) == 1 else None
            for event in new:
                self.claims[(event.namespace, event.dedupe_key)] = attempt.attempt_id
                self._positions += 1
                self.outbox.append(
                    OutboxEntry(
                        position=f"{self._positions:012d}",
                        vendor=event.vendor,
                        dedupe_key=event.dedupe_key,
                        event_id=event.event_id,
                        attempt_id=attempt.attempt_id,
                        received_at=attempt.received_at,
                        request=request,
                    )
                )
            if request is not None:
                self._merged.add(attempt.attempt_id)
            dispositions = {
                e.event_id: Disposition.ACCEPTED if statuses[e.dedupe_key] is ClaimStatus.NEW else Disposition.DUPLICATE
                for e in events
            }
            records = [replace(r, disposition=dispositions.get(r.event_id, r.disposition)) for r in attempt.events]
            self.attempts[attempt.attempt_id] = replace(attempt, events=records)
            return statuses

    def record(self, attempt: DeliveryAttempt) -> None:
        with self._lock:
            self.attempts[attempt.attempt_id] = replace(attempt, events=list(attempt.events))

    def request_of(self, attempt_id: str) -> InboundWebhook | None:
        attempt = self.attempts.get(attempt_id)
        if attempt is None or attempt.outcome is not Outcome.ACCEPTED or attempt_id in self._merged:
            return None
        return _request_of(attempt)

    def take_outbox(self) -> list[OutboxEntry]:
        with self._lock:
            entries, self.outbox = self.outbox, []
            return entries

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


def _request_of(attempt: DeliveryAttempt) -> InboundWebhook:
    return InboundWebhook(attempt.vendor, "POST", attempt.url, dict(attempt.headers), attempt.body, attempt.request_id)


@dataclass
class CollectedDeadLetters:
    letters: list[tuple[OutboxEntry, str]] = field(default_factory=list)

    def send(self, entry: OutboxEntry, reason: str) -> None:
        self.letters.append((entry, reason))


class RecordingPublisher:
    """Publishes into a list; `refuse_next` makes the next entries fail like a FailedEntryCount > 0, with
    `refusal` as the error (a permanent one if its code is, as EventBridge's adapter classifies codes).

    Like the real bus, an event is serialized to JSON to be published: one that cannot be (text no UTF-8
    can hold) is refused for good."""

    def __init__(self) -> None:
        self.published: list[Any] = []
        self.refuse_next = 0
        self.refusal = "InternalFailure: injected"
        self.raise_next: Exception | None = None

    def publish(self, events: Sequence[BusEvent]) -> PublishResult:
        from shared.adapters.eventbridge_publisher import is_permanent

        if self.raise_next is not None:
            error, self.raise_next = self.raise_next, None
            raise error
        failed, permanent = {}, set()
        for event in events:
            try:
                event.model_dump_json()
            except ValueError as exc:
                failed[event.event_id] = f"{type(exc).__name__}: {exc}"
                permanent.add(event.event_id)
                continue
            if self.refuse_next > 0:
                self.refuse_next -= 1
                failed[event.event_id] = self.refusal
                if is_permanent(self.refusal.partition(":")[0]):
                    permanent.add(event.event_id)
            else:
                self.published.append(event)
        return PublishResult(failed=failed, permanent=frozenset(permanent))


_Entry = TypeVar("_Entry", Transition, ScoreChange, MergeRecord)


class InMemoryLeadRepository:
    """The lead repository contract in memory: a change commits all or nothing, contacts and accounts with
    optimistic versions, identities to their first claimant, engagements and applied events once per contact (or
    account) and event, lead events into the outbox. `bus` plays the lead publisher: a committed change's events
    are put on it at once (the stream's retries are the DynamoDB adapter's tests' to show)."""

    def __init__(self, bus: EventPublisher | None = None) -> None:
        import copy

        self._bus = bus
        self.outbox: list[LeadEvent] = []  # every lead event committed, in commit order

        self._copy = copy.deepcopy
        self._lock = threading.Lock()
        self.identity_owners: dict[str, str] = {}
        self.contacts_by_id: dict[str, Contact] = {}
        self.logs: dict[str, dict[str, EngagementRecord]] = {}
        self.consent_logs: dict[str, dict[str, ConsentRecord]] = {}
        self.applied_events: set[AppliedEvent] = set()
        self.entries: list[HistoryEntry] = []
        self.accounts: dict[str, Account] = {}
        self.account_identities: dict[str, str] = {}

    def owners(self, identities: Sequence[Identity]) -> dict[str, str]:
        return {i.key: self.identity_owners[i.key] for i in identities if i.key in self.identity_owners}

    def account_owners(self, identities: Sequence[Identity]) -> dict[str, str]:
        return {i.key: self.account_identities[i.key] for i in identities if i.key in self.account_identities}

    def contact(self, contact_id: str) -> Contact | None:
        found = self.contacts_by_id.get(contact_id)
        return self._copy(found) if found else None

    def contacts(self, contact_ids: Sequence[str]) -> dict[str, Contact]:
        return {cid: c for cid in contact_ids if (c := self.contact(cid)) is not None}

    def commit(self, change: ChangeSet) -> None:
        with self._lock:
            self._check(change)
            for contact in change.contacts.values():
                contact.version += 1
                self.contacts_by_id[contact.contact_id] = self._copy(contact)
            for claim in change.claims.values():
                self.identity_owners[claim.identity.key] = claim.contact_id
            for record in change.engagements:
                self.logs.setdefault(record.contact_id, {})[record.event_id] = record
            for consent in change.consents:
                self.consent_logs.setdefault(consent.contact_id, {})[consent.record_id] = consent
            for account in change.accounts.values():
                account.version += 1
                self.accounts[account.account_id] = self._copy(account)
            self.account_identities.update(change.account_claims)
            self.applied_events.update(change.applied)
            self.entries.extend(change.entries)
            self.outbox.extend(change.events)
        if self._bus is not None and change.events:
            self._bus.publish(change.events)

    def _check(self, change: ChangeSet) -> None:
        for contact in change.contacts.values():
            held = self.contacts_by_id.get(contact.contact_id)
            if (held is None and contact.version != 0) or (held is not None and held.version != contact.version):
                raise ConcurrentUpdate(contact.contact_id)
            if contact.contact_id in change.created and held is not None:
                raise ConcurrentUpdate(contact.contact_id)
        for claim in change.claims.values():
            if self.identity_owners.get(claim.identity.key) != claim.replaces:
                raise ConcurrentUpdate(f"identity {claim.identity.key} is claimed")
        for record in change.engagements:
            if record.event_id in self.logs.get(record.contact_id, {}):
                raise ConcurrentUpdate(f"engagement {record.event_id} is logged")
        for consent in change.consents:
            if consent.record_id in self.consent_logs.get(consent.contact_id, {}):
                raise ConcurrentUpdate(f"consent record {consent.record_id} is logged")
        for applied in change.applied:
            if applied in self.applied_events:
                raise ConcurrentUpdate(f"event {applied[2]} is applied to {applied[1]} already")
        for account in change.accounts.values():
            held_account = self.accounts.get(account.account_id)
            if (held_account.version if held_account else 0) != account.version:
                raise ConcurrentUpdate(account.account_id)
        for identity_key in change.account_claims:
            if identity_key in self.account_identities:
                raise ConcurrentUpdate(f"account identity {identity_key} is claimed")

    def has_engagement(self, contact_id: str, event_id: str) -> bool:
        return event_id in self.logs.get(contact_id, {})

    def applied(self, owner_kind: OwnerKind, owner_id: str, event_id: str) -> bool:
        return (owner_kind, owner_id, event_id) in self.applied_events

    def engagements(self, contact_ids: Sequence[str]) -> list[EngagementRecord]:
        return [record for cid in contact_ids for record in self.logs.get(cid, {}).values()]

    def consents(self, contact_ids: Sequence[str]) -> list[ConsentRecord]:
        return [record for cid in contact_ids for record in self.consent_logs.get(cid, {}).values()]

    def history(self, contact_id: str) -> History:
        mine = [e for e in self.entries if getattr(e, "contact_id", None) == contact_id]
        merges: dict[str, MergeRecord] = {}
        for entry in self.entries:
            if isinstance(entry, MergeRecord) and contact_id in (entry.survivor_id, entry.absorbed_id):
                merges[entry.merge_id] = entry  # later entries (undone) replace earlier ones

        def oldest_first(entries: list[_Entry]) -> list[_Entry]:
            return sorted(entries, key=lambda e: e.at)  # stable: entries of one instant stay in saved order

        return History(
            transitions=oldest_first([e for e in mine if isinstance(e, Transition)]),
            score_changes=oldest_first([e for e in mine if isinstance(e, ScoreChange)]),
            merges=oldest_first(list(merges.values())),
        )

    def by_stage(self, stage: Stage, min_score: float | None, limit: int, cursor: str | None) -> ContactPage:
        """Highest score first (an unscored contact counts as 0), ties by contact id descending."""
        if limit < 1:
            raise InvalidInput("limit must be at least 1")
        if cursor is not None and not (cursor.isascii() and cursor.isdigit()):
            raise InvalidInput("cursor is not one this API returned for this query; start again without it")

        def total(c: Contact) -> float:
            return c.score.total if c.score else 0.0

        matching = sorted(
            (
                c
                for c in self.contacts_by_id.values()
                if c.stage is stage and c.merged_into is None and (min_score is None or total(c) >= min_score)
            ),
            key=lambda c: (total(c), c.contact_id),
            reverse=True,
        )
        start = int(cursor or 0)
        page = matching[start : start + limit]
        more = start + limit < len(matching)
        return ContactPage([self._copy(c) for c in page], str(start + limit) if more else None)

    def contact_ids(self) -> Iterator[str]:
        return iter([cid for cid, c in self.contacts_by_id.items() if c.merged_into is None])

    def account(self, account_id: str) -> Account | None:
        found = self.accounts.get(account_id)
        return self._copy(found) if found else None

    def account_contacts(self, account_id: str) -> list[str]:
        return sorted(
            cid
            for cid, c in self.contacts_by_id.items()
            if account_id and c.account_id == account_id and c.merged_into is None
        )


class InMemoryScoringModelStore:
    def __init__(self) -> None:
        self.models: dict[str, AppliedModel] = {}
        self.active: str | None = None
        self.reads = 0

    def active_version(self) -> str | None:
        self.reads += 1
        return self.active

    def applied(self, version: str) -> AppliedModel | None:
        return self.models.get(version)

    def apply(self, model: AppliedModel) -> None:
        held = self.models.get(model.version)
        if held is not None and held.sha256 != model.sha256:
            raise ModelVersionConflict(
                f"scoring model version {model.version!r} was applied before with different rules"
            )
        self.models[model.version] = model
        self.active = model.version
