"""Request and response models of the sync routes (the OpenAPI document is generated from them)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.crm.audit import AuditEntry, Conflict
from shared.crm.records import SyncedRecord, parse_record_key, record_key

RecordRef = Annotated[
    str,
    Field(
        min_length=1,
        max_length=300,
        pattern=r"^[A-Za-z0-9:._@+\-]+$",
        description="`contact:<lead_id>`, `account:<account_id>`, `deal:<deal_id>`, or a lead id",
    ),
]


def record_of(reference: str) -> str:
    """A record key from what a caller passes: a key as it is, a bare id as a lead's."""
    return reference if parse_record_key(reference) else record_key("contact", reference)


class AuditEntryView(BaseModel):
    entry_id: str
    field: str = Field(description="The hub field (config/crm-mappings.json)")
    outcome: str = Field(description="`applied`, `kept` (the incoming value lost), `conflict`, or `resolved`")
    rule: str = Field(description="What decided: the mapping's rule, `tie_break`, `critical_conflict`, `direction_...`")
    source: str = Field(description="`hub`, `hubspot`, `salesforce`, or `person` (a resolution)")
    actor: str | None = Field(description="Who: the CRM user, the hub's domain, the person who resolved")
    changed_at: datetime = Field(description="When the change was made where it came from")
    recorded_at: datetime = Field(description="When the hub decided")
    old_value: str | None
    new_value: str | None = Field(description="The record's value after the decision")
    losing_value: str | None = Field(description="The value that lost (kept, conflict); null otherwise")
    cause: str = Field(description="The event, conflict or reconciliation run that brought the change")

    @staticmethod
    def of(entry: AuditEntry) -> AuditEntryView:
        return AuditEntryView.model_validate(entry.view())


class AuditTrail(BaseModel):
    record: str
    items: list[AuditEntryView]
    next_cursor: str | None


class SideView(BaseModel):
    value: str | None
    source: str | None = None
    name: str | None = None
    modified_at: datetime


class ConflictView(BaseModel):
    conflict_id: str
    record: str
    object: str
    hub_id: str
    field: str
    status: Literal["open", "resolved"]
    hub: SideView
    crm: SideView
    flagged_at: datetime
    resolved_value: str | None
    resolved_by: str | None
    resolved_at: datetime | None

    @staticmethod
    def of(conflict: Conflict) -> ConflictView:
        return ConflictView.model_validate(conflict.view())


class ConflictList(BaseModel):
    items: list[ConflictView]
    next_cursor: str | None


class Resolution(BaseModel):
    """Either `choose` (the hub's value or the CRM's) or `value` (another). Unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")

    choose: Literal["hub", "crm"] | None = Field(None, description="Keep the hub's value, or take the CRM's")
    value: str | None = Field(None, min_length=1, max_length=2000, description="Set this value instead")

    @model_validator(mode="after")
    def _one_of(self) -> Resolution:
        if (self.choose is None) == (self.value is None):
            raise ValueError("give exactly one of `choose` (hub or crm) and `value`")
        return self

    def value_for(self, conflict: Conflict) -> str | None:
        if self.choose == "hub":
            return conflict.hub_value
        if self.choose == "crm":
            return conflict.crm_value
        return self.value


class FieldView(BaseModel):
    value: str | None
    modified_at: datetime
    source: str
    actor: str | None


class CrmCopyView(BaseModel):
    id: str | None = Field(description="The record's id in that CRM")
    sync_version: int = Field(description="The record version last written there")
    pending: list[str] = Field(description="Fields the hub has yet to write there")


class SyncedRecordView(BaseModel):
    record: str
    object: str
    hub_id: str
    version: int
    fields: dict[str, FieldView]
    crms: dict[str, CrmCopyView]
    open_conflicts: dict[str, str] = Field(description="Field -> the conflict that holds it")


class LeadSyncView(BaseModel):
    """A lead's CRM sync, as `GET /api/v1/leads/{lead_id}` shows it: its ids in each CRM, the fields waiting for a
    person, and the latest entries of its audit trail (all of it: `GET /api/v1/sync/audit?record=`)."""

    record: str
    crm_ids: dict[str, str | None]
    open_conflicts: dict[str, str]
    audit: list[AuditEntryView]
    more_audit: bool = Field(description="Older entries exist: read them from `GET /api/v1/sync/audit`")

    @staticmethod
    def of(record: SyncedRecord | None, key: str, entries: list[AuditEntry], more: bool) -> LeadSyncView:
        return LeadSyncView(
            record=key,
            crm_ids={crm: copy.crm_id for crm, copy in sorted(record.crms.items())} if record else {},
            open_conflicts=dict(record.open_conflicts) if record else {},
            audit=[AuditEntryView.of(entry) for entry in entries],
            more_audit=more,
        )
