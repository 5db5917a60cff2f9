"""Events the CRM sync publishes (source `revops.sync`): a CRM's change applied to the hub's record, a conflict
on a critical field flagged for a person and its resolution, and each reconciliation run's counts. Ids are
deterministic: the same change, conflict or run gives the same id on every retry."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from shared.catalog import crm

SYNC_EVENT_SOURCE = crm.EVENT_SOURCE
SYNC_SCHEMA_VERSION = "1.0"
_NAMESPACE = uuid.UUID("c3a9e1f2-5b7d-4e60-8a1c-9d2b4f6e8a13")


class SyncEventType(StrEnum):
    FIELD_CHANGED = "sync.field_changed"
    CONFLICT_FLAGGED = "sync.conflict_flagged"
    CONFLICT_RESOLVED = "sync.conflict_resolved"
    RECONCILED = "sync.reconciled"


class SyncEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    event_id: str = Field(description="Deterministic UUID: the same change, conflict or run gives the same id.")
    event_type: SyncEventType = Field(description="What happened; the EventBridge `detail-type`.")
    schema_version: str = Field(default=SYNC_SCHEMA_VERSION, description="Version of these fields.")
    occurred_at: datetime = Field(description="When the hub decided (ISO 8601, UTC).")
    record: str | None = Field(
        None, description="The synced record: `contact:<lead_id>`, `account:<account_id>` or `deal:<deal_id>`."
    )
    field: str | None = Field(None, description="The hub field (a mapping's `hub_field`, config/crm-mappings.json).")
    crm: str | None = Field(None, description="`hubspot` or `salesforce`: where the change came from.")
    value: str | None = Field(
        None,
        description="sync.field_changed: the record's value now; sync.conflict_flagged: the CRM's value that waits; "
        "sync.conflict_resolved: the value chosen.",
    )
    previous_value: str | None = Field(None, description="The record's value before (the hub's side of a conflict).")
    changed_at: datetime | None = Field(None, description="When the change was made where it came from.")
    actor: str | None = Field(None, description="Who made the change or the resolution, where known.")
    conflict_id: str | None = Field(None, description="Conflict events: `GET /api/v1/sync/conflicts` lists it.")
    run_id: str | None = Field(None, description="sync.reconciled: the run.")
    counts: dict[str, int] | None = Field(
        None,
        description="sync.reconciled: records `compared`, `in_step`, `repaired` (a rule decided), `flagged` "
        "(conflicts), `unlinked` (a CRM record the hub does not know), per run.",
    )

    @staticmethod
    def id_for(*parts: str) -> str:
        return str(uuid.uuid5(_NAMESPACE, ":".join(parts)))

    def by_reference(self) -> SyncEvent:
        return self
