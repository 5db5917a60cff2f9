"""In-memory stand-ins for the privacy domain's ports: the erasure ledger (its contract test runs it beside the
DynamoDB adapter), a personal store that remembers what it was asked, and the CRM erasure queue."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.privacy.model import CrmRecordRef, ErasureReceipt, Person


class InMemoryErasureLedger:
    def __init__(self) -> None:
        self.receipts: dict[str, ErasureReceipt] = {}
        self.tombstones: dict[str, tuple[datetime, str]] = {}

    def receipt(self, email_hash: str) -> ErasureReceipt | None:
        kept = self.receipts.get(email_hash)
        return deepcopy(kept) if kept else None

    def open(self, email_hash: str, receipt: ErasureReceipt) -> ErasureReceipt:
        self.receipts.setdefault(email_hash, deepcopy(receipt))
        return deepcopy(self.receipts[email_hash])

    def save(self, email_hash: str, receipt: ErasureReceipt) -> None:
        self.receipts[email_hash] = deepcopy(receipt)

    def tombstone(self, subjects: Sequence[str], erased_at: datetime, erasure_id: str) -> None:
        for subject in subjects:
            self.tombstones[subject] = (erased_at, erasure_id)

    def erased_at(self, subjects: Sequence[str]) -> Mapping[str, datetime]:
        return {s: self.tombstones[s][0] for s in subjects if s in self.tombstones}


@dataclass
class FakeStore:
    """A store holding `held` items about whoever; erasing removes them (a second erasure finds none)."""

    name: str
    held: int = 0
    erased_for: list[Person] = field(default_factory=list)
    exported_for: list[Person] = field(default_factory=list)
    refs: list[CrmRecordRef] = field(default_factory=list)
    events: frozenset[str] = frozenset()

    def export(self, person: Person) -> Any:
        self.exported_for.append(person)
        return [{"store": self.name}] * self.held

    def erase(self, person: Person) -> int:
        self.erased_for.append(person)
        erased, self.held = self.held, 0
        return erased

    def crm_records(self, person: Person) -> list[CrmRecordRef]:
        return list(self.refs) if self.held else []

    def event_ids(self, person: Person) -> frozenset[str]:
        return self.events


@dataclass
class FakeDirectory(FakeStore):
    people: dict[str, Person] = field(default_factory=dict)

    def person(self, email: str) -> Person | None:
        return self.people.get(email)

    def export(self, person: Person) -> Any:
        self.exported_for.append(person)
        return {"profile": {"email": person.email} if self.held else {}, "identities": list(person.identity_keys)}

    def erase(self, person: Person) -> int:
        self.people.pop(person.email, None)
        return super().erase(person)


@dataclass
class RecordedCrmErasures:
    requested: list[CrmRecordRef] = field(default_factory=list)

    def request(self, records: Sequence[CrmRecordRef]) -> int:
        self.requested += records
        return len(records)
