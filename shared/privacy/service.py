"""Erasure and export of a person across the hub (issue 15 §2).

Erasure, synchronous: every store is reached by key or index (`shared/adapters/dynamodb_privacy_*.py`), so
a person's erasure is a few hundred small reads and writes, well within the API function's timeout; what takes
time in the CRMs is the sync writer's, through its queue. In this order:

1. The person: the contact holding the email, the contacts merged with it, their identities and accounts
   (the lead store), plus the subjects an earlier run found (the receipt's), for data that arrived since.
2. The receipt, kept under the hash of the email (`in_progress`), then a tombstone per subject hash: from here
   on every consumer drops events about the person that happened, or reached the hub, before now
   (`shared.privacy.guard`).
3. The CRMs are asked to delete their records of the person (queued for the sync's writer).
4. Each store deletes or anonymizes what it holds; the lead store last, because it is what finds the person:
   a run that fails half way is run again by the same request and finds what is left.
5. The receipt, `completed`, adds what this run erased to what earlier runs did.

The same request again answers the same `erasure_id` and status; it erases nothing more unless data about the
person arrived since (a new lead with the same email, a vendor's late retry).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from shared.errors import InvalidInput
from shared.leads.identity import normalize_email
from shared.privacy.model import STORES, ErasureReceipt, ErasureStatus, Person
from shared.privacy.ports import CrmErasures, DeliveryLog, ErasureLedger, PersonalStore, PersonDirectory, SyncedRecords
from shared.privacy.subject_keys import email_key, normalized_email, subject_hash


class NotAnEmail(InvalidInput):
    pass


@dataclass(frozen=True)
class ErasureOutcome:
    receipt: ErasureReceipt
    erased_now: dict[str, int]
    first: bool  # this request started the erasure (no receipt was kept for the email before)


class PrivacyService:
    def __init__(
        self,
        directory: PersonDirectory,
        deliveries: DeliveryLog,
        others: Sequence[PersonalStore],
        synced: SyncedRecords,
        crm: CrmErasures,
        ledger: ErasureLedger,
        clock: Callable[[], datetime],
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self._directory = directory
        self._deliveries = deliveries
        self._others = list(others)
        self._synced = synced
        self._crm = crm
        self._ledger = ledger
        self._clock = clock
        self._new_id = new_id

    def erase(self, email: str) -> ErasureOutcome:
        normalized, email_hash = _email(email)
        kept = self._ledger.receipt(email_hash)
        person = self._person(normalized, kept, self._found(email))
        now = self._clock()
        receipt = kept or self._ledger.open(
            email_hash, ErasureReceipt(self._new_id(), ErasureStatus.IN_PROGRESS, requested_at=now)
        )
        receipt.remember(person.subjects, person.contact_ids)
        self._ledger.save(email_hash, receipt)
        self._ledger.tombstone(receipt.subjects, now, receipt.erasure_id)
        person = replace(person, event_ids=self._deliveries.event_ids(person))
        counts = dict.fromkeys(STORES, 0)
        counts["crm"] = self._crm.request(self._synced.crm_records(person))
        for store in [self._deliveries, *self._others, self._synced, self._directory]:
            counts[store.name] = counts.get(store.name, 0) + store.erase(person)
        receipt.add(counts)
        receipt.status, receipt.completed_at, receipt.runs = ErasureStatus.COMPLETED, self._clock(), receipt.runs + 1
        self._ledger.save(email_hash, receipt)
        return ErasureOutcome(receipt, counts, first=kept is None)

    def export(self, email: str) -> dict[str, Any]:
        """Everything the hub holds about the person, as one document (JSON values)."""
        normalized, email_hash = _email(email)
        kept = self._ledger.receipt(email_hash)
        found = self._found(email)
        person = self._person(normalized, kept, found)
        person = replace(person, event_ids=self._deliveries.event_ids(person))
        lead = self._directory.export(person)
        sections = {store.name: store.export(person) for store in self._others}
        return {
            "email": normalized,
            "exported_at": self._clock().isoformat(),
            "known": found is not None,
            "lead_ids": list(person.contact_ids),
            **lead,
            "deliveries": self._deliveries.export(person),
            **sections,
            "sync": self._synced.export(person),
            "erasure": receipt_view(kept) if kept else None,
        }

    def _found(self, email: str) -> Person | None:
        """The person the lead store holds under the email as the lead processor files it
        (`shared.leads.identity.normalize_email`: trimmed and lower-cased, its Unicode form as sent), so an erasure
        or export finds exactly the leads a capture of that address made; None when no lead can hold it."""
        lead_email = normalize_email(email)
        return self._directory.person(lead_email) if lead_email is not None else None

    def _person(self, email: str, kept: ErasureReceipt | None, found: Person | None) -> Person:
        found = found or Person(email=email)
        if kept is None:
            return found
        return replace(
            found,
            known_subjects=kept.subjects,
            contact_ids=tuple(dict.fromkeys([*found.contact_ids, *kept.contact_ids])),
        )


def _email(email: str) -> tuple[str, str]:
    normalized = normalized_email(email)
    key = email_key(email)
    if normalized is None or key is None:
        raise NotAnEmail(f"email: {email[:80]!r} is not an email address")
    return normalized, subject_hash(key)


# What every export holds, whoever it is about: who was asked for, and when.
_EXPORT_HEADER = frozenset({"email", "exported_at"})


def holds_anything(export: Mapping[str, Any]) -> bool:
    """Whether an export (`PrivacyService.export`) shows anything the hub holds under the email: a lead (`known`),
    an erasure's receipt, or any item in any section."""
    return any(_held(value) for name, value in export.items() if name not in _EXPORT_HEADER)


def _held(value: object) -> bool:
    if isinstance(value, Mapping):
        return any(_held(v) for v in value.values())
    return bool(value)  # a section's items, `known`, a receipt


def receipt_view(receipt: ErasureReceipt) -> dict[str, Any]:
    """The receipt as the API shows it: no email, no subject hashes."""
    view: dict[str, Any] = {
        "erasure_id": receipt.erasure_id,
        "status": receipt.status.value,
        "requested_at": receipt.requested_at.isoformat(),
        "completed_at": receipt.completed_at.isoformat() if receipt.completed_at else None,
        "erased": dict(receipt.erased),
        "runs": receipt.runs,
        "lead_ids": list(receipt.contact_ids),  # random ids that named the person; the audit trail's targets
    }
    return view
