"""Salesforce's records as the CRM port carries them, for `SalesforceCrm` (`salesforce_crm.py`): what an id
looks like, a field of an answered record, and the record as a `CrmSnapshot` with its values as text."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from shared.crm.ports import CrmSnapshot, CrmUnavailable, ObjectKind

SALESFORCE_ID = re.compile(r"[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?")


def snapshot(kind: ObjectKind, record: Mapping[str, Any], fields: Sequence[str]) -> CrmSnapshot:
    crm_id = field_value(record, "Id")
    modified = field_value(record, "LastModifiedDate")
    try:
        modified_at = datetime.fromisoformat(modified) if isinstance(modified, str) else None
    except ValueError:
        modified_at = None
    if not isinstance(crm_id, str) or modified_at is None:
        raise CrmUnavailable("Salesforce answered a record without its Id or LastModifiedDate")
    if modified_at.tzinfo is None:
        modified_at = modified_at.replace(tzinfo=UTC)
    return CrmSnapshot(kind, crm_id, {name: _text(field_value(record, name)) for name in fields}, modified_at)


def field_value(record: Mapping[str, Any], name: str) -> Any:
    """A field of an answered record by name, whatever the case the caller spelled it in."""
    if name in record:
        return record[name]
    lower = name.lower()
    return next((value for key, value in record.items() if key.lower() == lower), None)


def _text(value: Any) -> str | None:
    """A field's value as the port carries it: text, None for blank."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float | str):
        return str(value)
    import json

    return json.dumps(value, sort_keys=True, default=str)  # a compound field (an address)
