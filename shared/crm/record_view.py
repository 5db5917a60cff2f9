"""A synced record as the sync API shows it: its fields with where and when each last changed, each CRM's copy
with the fields it still has to be written, and its open conflicts. A record the hub knows but has not synced
yet (an account or a lead the lead store holds, no change of it decided) is shown from what the hub knows of it:
version 0, in no CRM, its fields pending for each."""

from __future__ import annotations

from typing import Any

from shared.crm.links import LinkIds, no_links
from shared.crm.mappings import CRMS, HUB, MAX_VALUE_LENGTH, CrmMappings
from shared.crm.outbound import planned_write
from shared.crm.ports import HubProfile, ObjectKind
from shared.crm.records import CrmCopy, FieldState, SyncedRecord


def record_view(record: SyncedRecord, mappings: CrmMappings, link_ids: LinkIds = no_links) -> dict[str, Any]:
    """`link_ids`: a linked record's id in a CRM (`stored_links`), as the writer has it: a link (a contact's account)
    is pending once the linked record is there to be linked to."""
    return {
        "record": record.key,
        "object": record.kind,
        "hub_id": record.hub_id,
        "version": record.version,
        "fields": {
            name: {
                "value": state.value,
                "modified_at": state.modified_at.isoformat(),
                "source": state.source,
                "actor": state.actor,
            }
            for name, state in sorted(record.fields.items())
        },
        "crms": {
            crm: {
                "id": copy.crm_id,
                "sync_version": copy.sync_version,
                "pending": sorted(plan.values) if (plan := planned_write(record, crm, mappings, link_ids)) else [],
            }
            for crm, copy in sorted(record.crms.items())
        },
        "open_conflicts": dict(record.open_conflicts),
    }


def unsynced_record(kind: ObjectKind, hub_id: str, profile: HubProfile, mappings: CrmMappings) -> SyncedRecord:
    """A record the hub knows (`profile`: what its directory holds of it) and has not synced: its mapped fields
    as the hub's, a copy in each CRM holding nothing yet."""
    fields = {
        name: FieldState(value[:MAX_VALUE_LENGTH] if value is not None else None, at, HUB)
        for name, (value, at) in profile.values.items()
        if mappings.field(kind, name) is not None
    }
    return SyncedRecord(kind, hub_id, fields, {crm: CrmCopy() for crm in CRMS})
