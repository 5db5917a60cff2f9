"""What goes out to a CRM for a record: the outbound fields whose hub value differs from what that CRM holds
(the value the two last agreed on), translated into the CRM's names and values, stamped with the record's
sync version. Computed from the record as it is when the write is made, never from a queued copy: changes
that queued up for one record go out as one write of its latest values, in whatever order they were queued."""

from __future__ import annotations

from dataclasses import dataclass

from shared.crm.mappings import CrmMappings
from shared.crm.ports import CrmName, OutboundWrite
from shared.crm.records import MISSING, SyncedRecord


@dataclass(frozen=True)
class PlannedWrite:
    record: SyncedRecord
    crm: CrmName
    values: dict[str, str | None]  # hub field -> hub value being written (what the CRM will hold, in hub terms)
    write: OutboundWrite
    # hub field -> a placeholder the CRM requires on create ("[not provided]" for a Lead's Company): it comes
    # back in the CRM's webhooks and must be known as the hub's own, but the hub still holds no value for it
    placeholders: dict[str, str | None]


def planned_write(record: SyncedRecord, crm: CrmName, mappings: CrmMappings) -> PlannedWrite | None:
    """The write that brings `crm` up to the record, or None when it holds every outbound value already (or
    the record is not one the hub may create there)."""
    if record.merged_into is not None:
        return None
    obj = mappings.object(record.kind)
    copy = record.copy_in(crm)
    values: dict[str, str | None] = {}
    fields: dict[str, str | None] = {}
    for mapping in mappings.fields(record.kind):
        crm_field = mapping.crm_field(crm)
        if crm_field is None or not mapping.outbound or mapping.hub_field in record.open_conflicts:
            continue
        held = record.value(mapping.hub_field)
        agreed = copy.agreed_on(mapping.hub_field)
        unsure = mapping.hub_field in copy.unsure and held is not None  # never clears what it does not know
        settled = (held is None and agreed is MISSING) or agreed == held
        if (settled and not unsure) or not mapping.expressible(crm, held):
            continue
        values[mapping.hub_field] = held
        fields[crm_field] = mapping.to_crm(crm, held)
    if not fields:
        return None
    match_on = None
    placeholders: dict[str, str | None] = {}
    if copy.crm_id is None:
        if not obj.creates:
            return None
        if obj.match_on is not None:
            key = mappings.field(record.kind, obj.match_on)
            value = record.value(obj.match_on)
            crm_key = key.crm_field(crm) if key else None
            if key is None or crm_key is None or value is None:
                return None  # nothing to find the CRM's record by: wait until the hub knows it
            match_on = (crm_key, key.to_crm(crm, value) or value)
        for mapping in mappings.fields(record.kind):
            crm_field = mapping.crm_field(crm)
            default = mapping.on_create.get(crm)
            if crm_field is not None and default is not None and not fields.get(crm_field):
                fields[crm_field] = default
                placeholders[mapping.hub_field] = mapping.to_hub(crm, default)
    fields[getattr(obj.sync_version, crm)] = str(record.version)
    write = OutboundWrite(write_id=record.key, kind=record.kind, fields=fields, crm_id=copy.crm_id, match_on=match_on)
    return PlannedWrite(record, crm, values, write, placeholders)
