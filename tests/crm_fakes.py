"""In-memory stand-ins for the CRM sync's ports: the store (passes the same contract test as the DynamoDB
adapter), a CRM that keeps records and counts calls, the hub's directory, and a queue that keeps notices."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import count

from shared.crm.audit import AuditEntry, Conflict, ConflictStatus
from shared.crm.ports import (
    ChangeNotice,
    CrmName,
    CrmSnapshot,
    CrmUnavailable,
    HubProfile,
    Link,
    ObjectKind,
    OutboundWrite,
    RateLimited,
    StaleRecord,
    WriteResult,
)
from shared.crm.records import SyncedRecord
from shared.crm.store import AuditPage, ConflictPage, InvalidCursor


class InMemorySyncStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, SyncedRecord] = {}
        self._applied: dict[tuple[str, str], int] = {}  # (record key, event id) -> the version it stored
        self._audit: dict[str, list[AuditEntry]] = {}
        self._links: dict[tuple[str, str, str], str] = {}
        self._conflicts: dict[str, Conflict] = {}
        self._checkpoints: dict[tuple[str, str], datetime] = {}

    def record(self, key: str) -> SyncedRecord | None:
        return self._records.get(key)

    def record_and_applied(self, key: str, event_id: str) -> tuple[SyncedRecord | None, int | None]:
        with self._lock:
            return self._records.get(key), self._applied.get((key, event_id))

    def applied(self, key: str, event_id: str) -> bool:
        return (key, event_id) in self._applied

    def mark_decided(self, key: str, event_id: str) -> None:
        with self._lock:
            self._applied.setdefault((key, event_id), 0)

    def records(self, keys: Sequence[str]) -> dict[str, SyncedRecord]:
        return {k: self._records[k] for k in keys if k in self._records}

    def linked(self, crm: CrmName, kind: ObjectKind, crm_id: str) -> str | None:
        return self._links.get((crm, kind, crm_id))

    def commit(
        self,
        record: SyncedRecord,
        audit: Sequence[AuditEntry] = (),
        conflicts: Sequence[Conflict] = (),
        links: Sequence[Link] = (),
        applied: str | None = None,
    ) -> SyncedRecord:
        with self._lock:
            held = self._records.get(record.key)
            if (held.version if held else 0) != record.version:
                raise StaleRecord(record.key)
            if applied is not None:
                if (record.key, applied) in self._applied:
                    raise StaleRecord(f"event {applied} on record {record.key} was decided on already")
                self._applied[(record.key, applied)] = record.version + 1
            stored = replace(record, version=record.version + 1)
            self._records[record.key] = stored
            entries = self._audit.setdefault(record.key, [])
            known = {(e.recorded_at, e.entry_id) for e in entries}
            entries.extend(e for e in audit if (e.recorded_at, e.entry_id) not in known)
            for conflict in conflicts:
                self._conflicts[conflict.conflict_id] = conflict
            for link in links:
                self._links[(link.crm, link.kind, link.crm_id)] = link.record_key
            return stored

    def audit(self, key: str, cursor: str | None = None, limit: int = 50) -> AuditPage:
        entries = sorted(self._audit.get(key, []), key=lambda e: (e.recorded_at, e.entry_id), reverse=True)
        start = _offset(cursor)
        page = entries[start : start + limit]
        return AuditPage(page, str(start + limit) if start + limit < len(entries) else None)

    def conflict(self, conflict_id: str) -> Conflict | None:
        return self._conflicts.get(conflict_id)

    def conflicts(self, status: ConflictStatus | None, cursor: str | None = None, limit: int = 50) -> ConflictPage:
        chosen = [c for c in self._conflicts.values() if status is None or c.status is status]
        chosen.sort(key=lambda c: (c.flagged_at, c.conflict_id), reverse=True)
        start = _offset(cursor)
        page = chosen[start : start + limit]
        return ConflictPage(page, str(start + limit) if start + limit < len(chosen) else None)

    def checkpoint(self, crm: CrmName, kind: ObjectKind) -> datetime | None:
        return self._checkpoints.get((crm, kind))

    def save_checkpoint(self, crm: CrmName, kind: ObjectKind, until: datetime) -> None:
        self._checkpoints[(crm, kind)] = until


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    if not cursor.isdigit():
        raise InvalidCursor()
    return int(cursor)


@dataclass
class FakeCrm:
    """A CRM that keeps records by id, matches by one field, counts calls, and fails on demand."""

    name: CrmName
    max_batch: int = 100
    now: datetime | None = None
    records: dict[str, dict[str, str | None]] = field(default_factory=dict)
    kinds: dict[str, ObjectKind] = field(default_factory=dict)
    modified: dict[str, datetime] = field(default_factory=dict)
    calls: int = 0
    fail_calls: int = 0
    fail_with: str = "ratelimited"
    refuse_values: set[str] = field(default_factory=set)
    # what the CRM's webhooks would say, oldest first: (crm id, the fields that changed, when), like HubSpot's
    # property changes and Salesforce's outbound messages (a test delivers them when and in what order it likes)
    # and whether a person made the change (`edit`) or the hub's write did
    webhooks: list[tuple[str, dict[str, str | None], datetime, bool]] = field(default_factory=list)
    sent: list[OutboundWrite] = field(default_factory=list)  # every write asked for, as the writer sent it
    _ids: count = field(default_factory=lambda: count(1))

    def write(self, writes: Sequence[OutboundWrite]) -> list[WriteResult]:
        self.calls += 1
        self.sent.extend(writes)
        if self.fail_calls:
            self.fail_calls -= 1
            if self.fail_with == "ratelimited":
                raise RateLimited("429", 10)
            raise CrmUnavailable("503")
        results = []
        for write in writes:
            if any(v in self.refuse_values for v in write.fields.values()):
                results.append(WriteResult(write.write_id, False, error="INVALID_VALUE"))
                continue
            crm_id = write.crm_id
            created = False
            if crm_id is None and write.match_on is not None:
                name, value = write.match_on
                crm_id = next(
                    (i for v in (value, *write.match_also) for i, r in self.records.items() if r.get(name) == v), None
                )
            if crm_id is None:
                crm_id = f"{self.name[:2]}{next(self._ids)}"
                created = True
                self.records[crm_id] = {}
                if write.match_on:
                    self.records[crm_id][write.match_on[0]] = write.match_on[1]
            changed = {k: v for k, v in write.fields.items() if self.records[crm_id].get(k) != v or created}
            self.records[crm_id].update(write.fields)
            self.kinds[crm_id] = write.kind
            if self.now is not None:
                self.modified[crm_id] = self.now
                if changed:
                    self.webhooks.append((crm_id, self._reported(crm_id, changed), self.now, False))
            results.append(WriteResult(write.write_id, True, crm_id, created))
        return results

    def find(self, kind: ObjectKind, name: str, values: Sequence[str]) -> list[str]:
        """The ids of the records whose `name` holds one of the values (an erasure of a create never answered)."""
        self.calls += 1
        return [i for i, r in self.records.items() if r.get(name) in values and self.kinds.get(i, kind) == kind]

    def read(self, kind: ObjectKind, crm_ids: Sequence[str], fields: Sequence[str]) -> list[CrmSnapshot]:
        self.calls += 1
        return [self._snapshot(i, fields) for i in crm_ids if i in self.records]

    def changed_since(
        self, kind: ObjectKind, since: datetime, fields: Sequence[str], limit: int = 200
    ) -> list[CrmSnapshot]:
        self.calls += 1
        found = [i for i, at in self.modified.items() if at > since and self.kinds.get(i) == kind]
        found.sort(key=lambda i: self.modified[i])
        return [self._snapshot(i, fields) for i in found[:limit]]

    def edit(self, crm_id: str, values: Mapping[str, str | None], at: datetime) -> None:
        """A person changes the record in the CRM."""
        changed = {k: v for k, v in values.items() if self.records[crm_id].get(k) != v}
        self.records[crm_id].update(values)
        self.modified[crm_id] = at
        if changed:
            self.webhooks.append((crm_id, self._reported(crm_id, changed), at, True))

    def _reported(self, crm_id: str, changed: dict[str, str | None]) -> dict[str, str | None]:
        # HubSpot sends each changed property; Salesforce's outbound message the whole record as it is then
        return dict(self.records[crm_id]) if self.name == "salesforce" else changed

    def _snapshot(self, crm_id: str, fields: Sequence[str]) -> CrmSnapshot:
        record = self.records[crm_id]
        modified = self.modified.get(crm_id) or self.now or datetime.min
        return CrmSnapshot(self.kinds.get(crm_id, "contact"), crm_id, {f: record.get(f) for f in fields}, modified)


@dataclass
class FakeDirectory:
    leads_by_email: dict[str, str] = field(default_factory=dict)
    leads_by_crm_id: dict[tuple[str, str], str] = field(default_factory=dict)
    profiles: dict[str, HubProfile] = field(default_factory=dict)
    accounts: dict[str, HubProfile] = field(default_factory=dict)
    factors: dict[str, str] = field(default_factory=dict)
    account_of: dict[str, str] = field(default_factory=dict)  # lead id -> its account's id

    def lead_for(self, crm: CrmName, crm_id: str, email: str | None) -> str | None:
        found = self.leads_by_crm_id.get((crm, crm_id))
        return found or (self.leads_by_email.get(email.lower()) if email else None)

    def account_for(self, crm: CrmName, crm_id: str) -> str | None:
        return None

    def contact_profile(self, lead_id: str) -> HubProfile | None:
        return self.profiles.get(lead_id)

    def score_factors(self, lead_id: str) -> str | None:
        return self.factors.get(lead_id)

    def account_profile(self, account_id: str) -> HubProfile | None:
        return self.accounts.get(account_id)

    def account_contacts(self, account_id: str) -> list[str]:
        return sorted(lead for lead, account in self.account_of.items() if account == account_id)


@dataclass
class RecordingQueue:
    notices: list[ChangeNotice] = field(default_factory=list)

    def send(self, notices: Sequence[ChangeNotice]) -> None:
        self.notices.extend(notices)

    def take(self) -> list[ChangeNotice]:
        taken, self.notices = self.notices, []
        return taken
