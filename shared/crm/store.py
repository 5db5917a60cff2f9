"""Where sync keeps its records, their audit trail, the conflicts and the links to CRM records (the port; the
DynamoDB adapter is `shared/adapters/dynamodb_crm_sync.py`, the in-memory fake `tests/crm_fakes.py`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from shared.crm.audit import AuditEntry, Conflict, ConflictStatus
from shared.crm.ports import CrmName, Link, ObjectKind
from shared.crm.records import SyncedRecord
from shared.errors import InvalidInput


class InvalidCursor(InvalidInput):
    def __init__(self) -> None:
        super().__init__("cursor: not one this API gave; pass back `next_cursor` as it came")


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    next_cursor: str | None


@dataclass(frozen=True)
class ConflictPage:
    conflicts: list[Conflict]
    next_cursor: str | None


class SyncStore(Protocol):
    def record(self, key: str) -> SyncedRecord | None: ...

    def record_and_applied(self, key: str, event_id: str) -> tuple[SyncedRecord | None, int | None]:
        """The stored record (None: absent) and, when a commit of it recorded the event as decided on already
        (`commit(applied=)`), the version that commit stored (else None), in one read."""
        ...

    def applied(self, key: str, event_id: str) -> bool:
        """Whether a commit of the record recorded the event as decided on already (`commit(applied=)`)."""
        ...

    def mark_decided(self, key: str, event_id: str) -> None:
        """Record that the event was decided on the stored record and changed nothing (`record_and_applied` then
        answers version 0: nothing to tell a CRM): deciding it again later, on a directory that moved on since
        (a replay), would decide on what it never said. Once; a second mark changes nothing."""
        ...

    def records(self, keys: Sequence[str]) -> dict[str, SyncedRecord]:
        """The stored records among `keys` (absent ones left out), read in as few calls as the store allows."""
        ...

    def linked(self, crm: CrmName, kind: ObjectKind, crm_id: str) -> str | None:
        """The record key a CRM record is linked to."""
        ...

    def commit(
        self,
        record: SyncedRecord,
        audit: Sequence[AuditEntry] = (),
        conflicts: Sequence[Conflict] = (),
        links: Sequence[Link] = (),
        applied: str | None = None,
    ) -> SyncedRecord:
        """Store the record at `record.version + 1` on condition that the stored one is at `record.version`
        (absent for 0), with its audit entries, conflicts (new or updated) and links, and the id of the bus event
        it decided (`applied`: recorded once, so a redelivery or a replay of it is known), all or nothing.
        Raises StaleRecord when the condition fails. Returns the record as stored."""
        ...

    def audit(self, key: str, cursor: str | None = None, limit: int = 50) -> AuditPage:
        """The record's audit trail, newest first."""
        ...

    def conflict(self, conflict_id: str) -> Conflict | None: ...

    def conflicts(self, status: ConflictStatus | None, cursor: str | None = None, limit: int = 50) -> ConflictPage:
        """Conflicts, newest flagged first; only those of `status` when given."""
        ...

    def checkpoint(self, crm: CrmName, kind: ObjectKind) -> datetime | None:
        """Until when reconciliation has compared `kind` in `crm`."""
        ...

    def save_checkpoint(self, crm: CrmName, kind: ObjectKind, until: datetime) -> None: ...
