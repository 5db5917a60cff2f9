"""What the privacy domain needs from storage and the CRM sync. The DynamoDB adapters
(`shared/adapters/dynamodb_privacy_*.py`) and the in-memory fakes (`tests/privacy_fakes.py`) both honour it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from shared.privacy.model import CrmRecordRef, ErasureReceipt, Person


class PersonalStore(Protocol):
    """One table's part of a person: what it holds about them (an export's section) and their erasure, which
    deletes or irreversibly anonymizes it and counts what it changed (0 when nothing was left)."""

    name: str

    def export(self, person: Person) -> Any:
        """JSON-ready."""
        ...

    def erase(self, person: Person) -> int: ...


class PersonDirectory(PersonalStore, Protocol):
    """The lead store: who an email is (the contact holding it, the contacts merged with it, their identities)."""

    def person(self, email: str) -> Person | None:
        """None when no contact holds the email."""
        ...


class DeliveryLog(PersonalStore, Protocol):
    def event_ids(self, person: Person) -> frozenset[str]:
        """The canonical event ids of the person's stored deliveries (found through the subject index)."""
        ...


class SyncedRecords(PersonalStore, Protocol):
    def crm_records(self, person: Person) -> list[CrmRecordRef]:
        """The CRM records the sync linked to the person's contacts."""
        ...


class CrmErasures(Protocol):
    def request(self, records: Sequence[CrmRecordRef]) -> int:
        """Ask the sync's writer to delete the records in their CRMs (queued); how many were asked."""
        ...


class ErasureLedger(Protocol):
    """Receipts (by the hash of the email) and tombstones (by subject hash): the hub's memory of an erasure."""

    def receipt(self, email_hash: str) -> ErasureReceipt | None: ...

    def open(self, email_hash: str, receipt: ErasureReceipt) -> ErasureReceipt:
        """Keep `receipt` unless one is kept already (a concurrent first request); the one kept."""
        ...

    def save(self, email_hash: str, receipt: ErasureReceipt) -> None: ...

    def tombstone(self, subjects: Sequence[str], erased_at: datetime, erasure_id: str) -> None:
        """Mark each subject hash erased at `erased_at` (a later erasure moves it later)."""
        ...


class Tombstones(Protocol):
    def erased_at(self, subjects: Sequence[str]) -> Mapping[str, datetime]:
        """When each of the subject hashes that were erased was erased last; the others are absent."""
        ...
