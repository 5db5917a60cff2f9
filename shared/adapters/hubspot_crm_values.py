"""The hub's records as HubSpot's objects and back (`hubspot_crm.py`): which object a kind is, a write's fields
as the properties HubSpot takes, a record HubSpot answers with as a `CrmSnapshot` (its dates read), and the
batches of at most `MAX_BATCH` that every batch call takes."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from shared.crm.ports import CrmSnapshot, ObjectKind, OutboundWrite

OBJECT_TYPES: Mapping[str, str] = {"contact": "contacts", "account": "companies", "deal": "deals"}
MODIFIED_PROPERTY = {
    "contacts": "lastmodifieddate",
    "companies": "hs_lastmodifieddate",
    "deals": "hs_lastmodifieddate",
    "tasks": "hs_lastmodifieddate",
}
# HubSpot's own (HUBSPOT_DEFINED) association type from one object to another, for the links a create carries
# inline (`associations`): a task is never without its company, not even between two calls
ASSOCIATION_TYPE_IDS: Mapping[tuple[str, str], int] = {
    ("tasks", "companies"): 192,
    ("tasks", "contacts"): 204,
    ("tasks", "deals"): 216,
    ("deals", "companies"): 341,
    ("deals", "contacts"): 3,
    ("contacts", "companies"): 1,  # the contact's primary company (its `associatedcompanyid`)
}
# The links the hub makes labeled rather than default: a contact's company as its primary one
PRIMARY_TYPE_IDS: Mapping[tuple[str, str], int] = {("contacts", "companies"): 1}
MAX_BATCH = 100  # inputs per batch call, HubSpot's limit

_T = TypeVar("_T")


def write_object_type(write: OutboundWrite) -> str | None:
    """The HubSpot object a write goes to: the one it names (an expansion's task or deal), else its kind's."""
    return write.crm_object or OBJECT_TYPES.get(write.kind)


def object_type_of(kind: str) -> str:
    try:
        return OBJECT_TYPES[kind]
    except KeyError:
        raise ValueError(f"no HubSpot object for kind {kind!r}") from None


def property_values(write: OutboundWrite, creating: bool = False) -> dict[str, str]:
    """The fields as HubSpot takes them: "" clears a property (nothing to clear on a create)."""
    if creating:
        return {name: value for name, value in write.fields.items() if value is not None}
    return {name: "" if value is None else value for name, value in write.fields.items()}


def created_properties(write: OutboundWrite) -> dict[str, str]:
    """A new record's properties: the fields set, and the value it was matched on (so that it matches next time)."""
    properties = property_values(write, creating=True)
    if write.match_on is not None and write.match_on[1]:
        properties.setdefault(write.match_on[0], write.match_on[1])
    return properties


def chunks(items: Sequence[_T], size: int) -> Iterator[list[_T]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def snapshot(kind: ObjectKind, object_type: str, result: Any, fields: Sequence[str]) -> CrmSnapshot:
    properties = result.properties or {}
    modified = _parse_time(properties.get(MODIFIED_PROPERTY[object_type]))
    updated = result.updated_at if isinstance(result.updated_at, datetime) else None
    return CrmSnapshot(
        kind=kind,
        crm_id=str(result.id),
        fields={name: properties.get(name) or None for name in fields},
        modified_at=modified or aware(updated or datetime.fromtimestamp(0, UTC)),
    )


def _parse_time(value: object) -> datetime | None:
    """HubSpot's dates: ISO 8601 (`2026-11-25T12:00:00.123Z`), or epoch milliseconds in older properties."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        if text.isdigit():
            return datetime.fromtimestamp(int(text) / 1000, UTC)
        return aware(datetime.fromisoformat(text))
    except (ValueError, OverflowError, OSError):
        return None


def aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
