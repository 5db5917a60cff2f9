"""A synced field that links a record to another (a contact's account: `links_to` in the mappings). The hub holds
the linked record's hub id (the account's id); a CRM holds that record's id there (HubSpot's `associatedcompanyid`,
a Salesforce Contact's `AccountId`). Translated through the synced records' links both ways: a CRM's id comes in
as the hub record it is linked to, or, when the hub knows none yet (a company the hub has not heard of), as that
CRM's id qualified (`hubspot:501`), which the lead processor finds or makes the account of; the hub's id goes
out as the linked record's id in that CRM, and only once it is there (an account the hub has not synced to
HubSpot yet leaves the contact's association to a later write)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from shared.crm.mappings import CRMS, CrmMappings, FieldMapping
from shared.crm.ports import CrmName, HubDirectory, ObjectKind
from shared.crm.records import MISSING, FieldState, SyncedRecord, parse_record_key, record_key
from shared.crm.store import SyncStore

# (linked kind, hub id, crm) -> that record's id in the CRM, None while it has none there
LinkIds = Callable[[ObjectKind, str, CrmName], str | None]


def no_links(kind: ObjectKind, hub_id: str, crm: CrmName) -> str | None:
    return None


def stored_links(store: SyncStore) -> LinkIds:
    """The linked record's id in a CRM, as its synced record holds it (or the CRM's own id, qualified)."""

    def crm_id(kind: ObjectKind, hub_id: str, crm: CrmName) -> str | None:
        own, _, bare = hub_id.partition(":")
        if own in CRMS and bare:
            return bare if own == crm else None  # a record only that CRM knows
        linked = store.record(record_key(kind, hub_id))
        return linked.copy_in(crm).crm_id if linked is not None and linked.merged_into is None else None

    return crm_id


def hub_link(
    mapping: FieldMapping, crm: CrmName, crm_id: str | None, store: SyncStore, directory: HubDirectory
) -> str | None:
    """A CRM's link value as the hub holds it: the hub id of the record that CRM id is, else `<crm>:<id>`."""
    if crm_id is None or mapping.links_to is None:
        return crm_id
    key = store.linked(crm, mapping.links_to, crm_id)
    parsed = parse_record_key(key) if key else None
    if parsed is not None:
        return parsed[1]
    known = directory.account_for(crm, crm_id) if mapping.links_to == "account" else None
    return known or f"{crm}:{crm_id}"


def canonical_links(
    record: SyncedRecord, mappings: CrmMappings, store: SyncStore, directory: HubDirectory
) -> SyncedRecord:
    """The record with each link value a CRM named before the hub knew its record (`hubspot:501`) replaced by that
    record's hub id once known, in the value, what each CRM agreed on and what the hub told: one record is one
    value, whoever named it first (else the hub's lead naming the account by its id would look like a change)."""
    for mapping in mappings.fields(record.kind):
        if mapping.links_to is None:
            continue

        def known(value: str | None, mapping: FieldMapping = mapping) -> str | None:
            crm, _, bare = (value or "").partition(":")
            if crm not in CRMS or not bare:
                return value
            return hub_link(mapping, crm, bare, store, directory)

        name = mapping.hub_field
        state = record.fields.get(name)
        if state is not None and known(state.value) != state.value:
            record = record.with_field(
                name, FieldState(known(state.value), state.modified_at, state.source, state.actor)
            )
        for crm in CRMS:
            copy = record.copy_in(crm)
            agreed = copy.agreed_on(name)
            if agreed is not MISSING and isinstance(agreed, str) and known(agreed) != agreed:
                record = record.with_copy(crm, replace(copy, agreed={**copy.agreed, name: known(agreed)}))
        if name in record.hub_told and known(record.hub_told[name]) != record.hub_told[name]:
            record = replace(record, hub_told={**record.hub_told, name: known(record.hub_told[name])})
    return record
