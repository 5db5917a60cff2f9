"""A synced record as the sync API shows it: its fields with where and when each last changed, each CRM's copy
with the fields it still has to be written, and its open conflicts."""

from __future__ import annotations

from typing import Any

from shared.crm.mappings import CrmMappings
from shared.crm.outbound import planned_write
from shared.crm.records import SyncedRecord


def record_view(record: SyncedRecord, mappings: CrmMappings) -> dict[str, Any]:
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
                "pending": sorted(plan.values) if (plan := planned_write(record, crm, mappings)) else [],
            }
            for crm, copy in sorted(record.crms.items())
        },
        "open_conflicts": dict(record.open_conflicts),
    }
