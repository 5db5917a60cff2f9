"""What a CRM's webhook says about a record, read from the canonical event the gateway made of it: which CRM,
which object and record, the mapped fields' values (in the CRM's names), when the change was made and by whom.

HubSpot reports one property per event (`contact.propertyChange`, `occurredAt`, `sourceId`); Salesforce's
outbound message carries the whole record, with `LastModifiedDate` and `LastModifiedById`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.crm.mappings import CrmMappings
from shared.crm.ports import CrmName, ObjectKind
from shared.events.canonical import CanonicalEvent

_HUBSPOT_OBJECTS = {"contact": "contacts", "company": "companies", "deal": "deals"}
# How finely each CRM times a change: Salesforce's LastModifiedDate is whole seconds (`.000`), HubSpot's
# `occurredAt` epoch milliseconds. A time compared with one of them is compared at its precision (`resolution`)
TIME_PRECISION: dict[str, timedelta] = {"salesforce": timedelta(seconds=1), "hubspot": timedelta(milliseconds=1)}
# HubSpot's `changeSource` values of a person's hand (its app, its mobile apps); an API write is INTEGRATION
_PERSON_SOURCES = frozenset({"CRM_UI", "MOBILE_IOS", "MOBILE_ANDROID"})


@dataclass(frozen=True)
class CrmReport:
    crm: CrmName
    kind: ObjectKind
    crm_id: str
    values: dict[str, Any]  # CRM field -> value as the CRM sent it
    at: datetime
    actor: str | None
    email: str | None
    cause: str  # the canonical event's id
    whole_record: bool  # Salesforce: every field is there (one absent was not sent, not blanked)
    by_person: bool = False  # the CRM says a person made it (so it cannot be an echo of the hub's writes)


def crm_report(event: CanonicalEvent, mappings: CrmMappings) -> CrmReport | None:
    """The report, or None when the event is no CRM record change the mappings know."""
    if event.data_by_reference:
        return None  # too large for the bus: reconciliation reads the record from the CRM instead
    if event.source_vendor == "hubspot":
        return _hubspot(event, mappings)
    if event.source_vendor == "salesforce":
        return _salesforce(event, mappings)
    return None


def _hubspot(event: CanonicalEvent, mappings: CrmMappings) -> CrmReport | None:
    object_type, _, action = event.vendor_event_type.partition(".")
    kind = mappings.kind_of("hubspot", _HUBSPOT_OBJECTS.get(object_type, ""))
    prop = event.data.get("property")
    crm_id = _bare(event.subject.contact_id if kind == "contact" else _id_of(event, kind))
    if kind is None or action != "propertyChange" or not isinstance(prop, str) or crm_id is None:
        return None
    source_id = event.data.get("source_id")
    change_source = _text(event.data.get("change_source"))  # text or nothing: a signed body may hold anything
    actor = f"hubspot:{source_id}" if source_id else change_source
    values = {prop: event.data.get("value")}
    by_person = change_source in _PERSON_SOURCES
    return CrmReport(
        "hubspot", kind, crm_id, values, event.occurred_at, actor, event.subject.email, event.event_id, False, by_person
    )


def _salesforce(event: CanonicalEvent, mappings: CrmMappings) -> CrmReport | None:
    sobject = event.data.get("sobject_type")
    fields = event.data.get("fields")
    kind = mappings.kind_of("salesforce", sobject) if isinstance(sobject, str) else None
    if kind is None or not isinstance(fields, dict):
        return None
    crm_id = _text(fields.get("Id"))
    if crm_id is None:
        return None
    at = _salesforce_time(fields.get("LastModifiedDate")) or event.occurred_at
    modified_by = _text(fields.get("LastModifiedById"))
    actor = f"salesforce:{modified_by}" if modified_by else None
    email = _text(fields.get("Email"))
    integration = mappings.integration_users.get("salesforce", ())
    by_person = modified_by is not None and modified_by not in integration
    values = dict(fields)
    # Salesforce makes the user who creates a record its owner: a record the hub's connected app created is
    # owned by the integration user until someone assigns it. That is nobody's choice of owner, so it is not
    # reported (else the hub's own write would come back as Salesforce naming its integration user the owner)
    for mapping in mappings.fields(kind):
        owner_field = mapping.crm_field("salesforce") if mapping.hub_field == "owner" else None
        if owner_field is not None and _text(values.get(owner_field)) in integration:
            del values[owner_field]
    return CrmReport("salesforce", kind, crm_id, values, at, actor, email, event.event_id, True, by_person)


def _id_of(event: CanonicalEvent, kind: ObjectKind | None) -> str | None:
    if kind == "account":
        return event.subject.account_id
    if kind == "deal":
        return event.subject.deal_id
    return None


def _bare(qualified: str | None) -> str | None:
    """`hubspot:501` -> `501`."""
    if not qualified:
        return None
    _, _, bare = qualified.partition(":")
    return bare or None


def _text(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _salesforce_time(value: object) -> datetime | None:
    """Salesforce writes `2026-11-30T09:15:02.000+0000` (and the API's `Z` form)."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = f"{text[:-2]}:{text[-2:]}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
