"""What goes out to a CRM for a record: the outbound fields whose hub value differs from what that CRM holds
(the value the two last agreed on), translated into the CRM's names and values, stamped with the record's
sync version. Computed from the record as it is when the write is made, never from a queued copy: changes
that queued up for one record go out as one write of its latest values, in whatever order they were queued."""

from __future__ import annotations

from dataclasses import dataclass, replace

from shared.crm.expansions import fitted
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
    if record.merged_into is not None or not mappings.has_object(record.kind):
        return None  # merged away, or of an object the mappings no longer sync
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
        if record.kind == "expansion":
            # what the hub computed may be longer than the CRM holds (a long account name in a subject)
            fields[crm_field] = fitted(crm, obj.crm_object(crm), crm_field, fields[crm_field])
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
    if obj.sync_version is not None:
        fields[getattr(obj.sync_version, crm)] = str(record.version)
    # the mappings choose what an expansion is in each CRM (a task or an opportunity): the write names it, where the
    # other kinds are the client's own (a contact is a Lead or a Contact as the Salesforce credentials say)
    crm_object = obj.crm_object(crm) if record.kind == "expansion" else None
    write = OutboundWrite(
        write_id=record.key,
        kind=record.kind,
        fields=fields,
        crm_id=copy.crm_id,
        match_on=match_on,
        crm_object=crm_object,
    )
    return PlannedWrite(record, crm, values, write, placeholders)


@dataclass(frozen=True)
class ParentLink:
    """Where a record that belongs to another (an expansion, to its account) stands in a CRM: `crm_id` the
    parent's id there (written, linked to it); else `waiting` (the parent is not there yet: try later), or
    neither (the hub can never create the parent there: `reason` says why)."""

    crm_id: str | None = None
    waiting: bool = False
    reason: str = ""


def parent_link(record: SyncedRecord, parent: SyncedRecord | None, crm: CrmName, mappings: CrmMappings) -> ParentLink:
    """Whether `record`'s parent is in `crm`, as its synced record `parent` says. A parent the hub holds no record
    of yet waits: the events that make it (an account's `customer.health_changed`) and its child (the same
    recompute's `customer.expansion_signal`) are published together and handled in either order. So does one not
    in the CRM yet (its write on its way, or in flight). Only a parent the hub can never create there is a reason:
    its notice is retried while it waits, as long as the queue's receive count allows, then dead-lettered (a
    redrive writes it once the parent is there)."""
    if record.parent is None:
        return ParentLink()
    if parent is None:
        return ParentLink(waiting=True)
    crm_id = parent.copy_in(crm).crm_id
    if crm_id is not None:
        return ParentLink(crm_id)
    never = _never_created(parent, crm, mappings)
    if never:
        return ParentLink(reason=f"{record.parent} is not in {crm}, and the hub cannot create it there: {never}")
    return ParentLink(waiting=True)


def _never_created(record: SyncedRecord, crm: CrmName, mappings: CrmMappings) -> str:
    """Why the hub can never create `record` in `crm` (it finds the CRM's by a field it does not know), or ""."""
    if record.merged_into is not None or not mappings.has_object(record.kind):
        return "it is synced no more"
    obj = mappings.object(record.kind)
    if not obj.creates:
        return f"the hub creates no {record.kind} there"
    if obj.match_on is not None and record.value(obj.match_on) is None:
        return f"it has no {obj.match_on} to find it by"
    return ""


def linked_to_parent(plan: PlannedWrite, parent: SyncedRecord, crm_id: str) -> PlannedWrite:
    """The plan's write linked to its parent's record in the CRM (a task to its company, an Account's Task)."""
    write = replace(plan.write, associate={**plan.write.associate, parent.kind: crm_id})
    return replace(plan, write=write)
