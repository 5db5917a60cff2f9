"""What goes out to a CRM for a record: the outbound fields whose hub value differs from what that CRM holds
(the value the two last agreed on), translated into the CRM's names and values, stamped with the record's
sync version. Computed from the record as it is when the write is made, never from a queued copy: changes
that queued up for one record go out as one write of its latest values, in whatever order they were queued."""

from __future__ import annotations

from dataclasses import dataclass, replace

from shared.crm.expansions import fitted
from shared.crm.links import LinkIds, no_links
from shared.crm.mappings import CrmMappings, FieldMapping
from shared.crm.ports import CrmName, ObjectKind, OutboundWrite
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


def planned_write(
    record: SyncedRecord, crm: CrmName, mappings: CrmMappings, link_ids: LinkIds = no_links
) -> PlannedWrite | None:
    """The write that brings `crm` up to the record, or None when it holds every outbound value already (or
    the record is not one the hub may create there). `link_ids`: a linked record's id in the CRM (a contact's
    account's company), without which a link (`links_to`) waits."""
    if record.merged_into is not None or not mappings.has_object(record.kind):
        return None  # merged away, or of an object the mappings no longer sync
    obj = mappings.object(record.kind)
    copy = record.copy_in(crm)
    values: dict[str, str | None] = {}
    fields: dict[str, str | None] = {}
    associate: dict[ObjectKind, str] = {}
    dissociate: dict[ObjectKind, str] = {}
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
        if mapping.links_to is not None:
            link = _link(mapping, record, crm, held, link_ids)
            if link is None:
                continue  # the linked record is not in that CRM yet: its next write takes it
            if crm == "hubspot":
                # HubSpot's link is an association (its primary company), not a property the API sets
                new_id, old_id = link
                if new_id is not None:
                    associate[mapping.links_to] = new_id
                if old_id is not None:
                    dissociate[mapping.links_to] = old_id
            else:
                fields[crm_field] = link[0]
            values[mapping.hub_field] = held
            continue
        values[mapping.hub_field] = held
        fields[crm_field] = mapping.to_crm(crm, held)
        if record.kind == "expansion":
            # what the hub computed may be longer than the CRM holds (a long account name in a subject)
            fields[crm_field] = fitted(crm, obj.crm_object(crm), crm_field, fields[crm_field])
    if not fields and not associate and not dissociate:
        return None
    match_on = None
    match_also: tuple[str, ...] = ()
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
            claim = copy.creating
            if claim is not None and claim.match_field == crm_key:
                # a create sent before may have been applied with another value (its answer lost, the value
                # changed since): it is looked up by those too, the newest first
                match_also = tuple(v for v in reversed(claim.sent) if v.casefold() != match_on[1].casefold())
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
        match_also=match_also,
        crm_object=crm_object,
        associate=associate,
        dissociate=dissociate,
    )
    return PlannedWrite(record, crm, values, write, placeholders)


def _link(
    mapping: FieldMapping, record: SyncedRecord, crm: CrmName, held: str | None, link_ids: LinkIds
) -> tuple[str | None, str | None] | None:
    """(the linked record's id in `crm`, the id of the one it replaces there when the hub set that one), or None
    while the hub's linked record is not in `crm` yet (or, unlinking, when the link there is not the hub's)."""
    assert mapping.links_to is not None
    new_id = link_ids(mapping.links_to, held, crm) if held is not None else None
    if held is not None and new_id is None:
        return None
    copy = record.copy_in(crm)
    agreed = copy.agreed_on(mapping.hub_field)
    hub_set = isinstance(agreed, str) and any(v == agreed for v, _ in copy.written.get(mapping.hub_field, ()))
    old_id = link_ids(mapping.links_to, agreed, crm) if hub_set and isinstance(agreed, str) else None
    if new_id is None and old_id is None:
        return None  # nothing the hub may undo: a link a person made stays theirs
    return new_id, (old_id if old_id != new_id else None)


def link_waits_for(
    record: SyncedRecord, linked: SyncedRecord, crm: CrmName, mappings: CrmMappings, link_ids: LinkIds
) -> bool:
    """Whether `record`'s link to `linked` (a contact's account) is still to go to `crm` and can now, `linked`
    being there: its next write would carry the link (the contact's association with the account's company)."""
    names = [
        m.hub_field
        for m in mappings.fields(record.kind)
        if m.links_to == linked.kind and record.value(m.hub_field) == linked.hub_id
    ]
    if not names:
        return False
    plan = planned_write(record, crm, mappings, link_ids)
    return plan is not None and any(name in plan.values for name in names)


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
