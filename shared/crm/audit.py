"""What sync remembers of each change: an audit entry per field change on a synced record (from either side,
applied or not), and the conflicts on critical fields that wait for a person."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from shared.crm.ports import ObjectKind
from shared.crm.resolution import Decision


@dataclass(frozen=True)
class AuditEntry:
    record_key: str
    hub_field: str
    outcome: str  # applied, kept, conflict (see resolution.Outcome), or resolved
    rule: str
    source: str
    actor: str | None
    changed_at: datetime  # when the change was made where it came from
    recorded_at: datetime  # when the hub decided
    old_value: str | None
    new_value: str | None  # the record's value after
    losing_value: str | None
    cause: str  # the event id, conflict id or run that brought it

    @property
    def entry_id(self) -> str:
        digest = hashlib.sha256(
            f"{self.record_key}|{self.hub_field}|{self.cause}|{self.source}|{self.changed_at.isoformat()}".encode()
        ).hexdigest()
        return digest[:16]

    @staticmethod
    def of(record_key: str, decision: Decision, recorded_at: datetime, cause: str) -> AuditEntry:
        return AuditEntry(
            record_key,
            decision.hub_field,
            decision.outcome.value,
            decision.rule,
            decision.source,
            decision.actor,
            decision.at,
            recorded_at,
            decision.previous,
            decision.held,
            decision.losing_value,
            cause,
        )

    def view(self) -> dict[str, Any]:
        return {
            "entry_id": self.entry_id,
            "record": self.record_key,
            "field": self.hub_field,
            "outcome": self.outcome,
            "rule": self.rule,
            "source": self.source,
            "actor": self.actor,
            "changed_at": self.changed_at.isoformat(),
            "recorded_at": self.recorded_at.isoformat(),
            "old_value": self.old_value,
            "new_value": self.new_value,
            "losing_value": self.losing_value,
            "cause": self.cause,
        }


class ConflictStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class Conflict:
    conflict_id: str
    record_key: str
    kind: ObjectKind
    hub_id: str
    hub_field: str
    hub_value: str | None
    hub_source: str
    hub_modified_at: datetime
    crm: str
    crm_value: str | None
    crm_modified_at: datetime
    flagged_at: datetime
    status: ConflictStatus = ConflictStatus.OPEN
    resolved_value: str | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None

    @staticmethod
    def id_for(record_key: str, hub_field: str, crm: str, value: str | None, at: datetime) -> str:
        return hashlib.sha256(f"{record_key}|{hub_field}|{crm}|{value}|{at.isoformat()}".encode()).hexdigest()[:24]

    def view(self) -> dict[str, Any]:
        return {
            "conflict_id": self.conflict_id,
            "record": self.record_key,
            "object": self.kind,
            "hub_id": self.hub_id,
            "field": self.hub_field,
            "status": self.status.value,
            "hub": {
                "value": self.hub_value,
                "source": self.hub_source,
                "modified_at": self.hub_modified_at.isoformat(),
            },
            "crm": {"name": self.crm, "value": self.crm_value, "modified_at": self.crm_modified_at.isoformat()},
            "flagged_at": self.flagged_at.isoformat(),
            "resolved_value": self.resolved_value,
            "resolved_by": self.resolved_by,
            "resolved_at": self.resolved_at.isoformat() if self.resolved_at else None,
        }
