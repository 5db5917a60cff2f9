"""A record as the stand-in keeps it, and as HubSpot's API answers it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from local_runtime.crm_hubspot.portal import CREATED_PROPERTY, MODIFIED_PROPERTY
from local_runtime.crm_hubspot.values import iso


@dataclass
class Record:
    id: str
    properties: dict[str, str]
    created_at: datetime
    updated_at: datetime


def shape(record: Record, names: Sequence[str] | None) -> dict[str, Any]:
    """A record as HubSpot's API answers it: the properties named (null when unset), all of them when None."""
    properties = (
        dict(sorted(record.properties.items()))
        if names is None
        else {name: record.properties.get(name) for name in names}
    )
    return {
        "id": record.id,
        "properties": properties,
        "createdAt": iso(record.created_at),
        "updatedAt": iso(record.updated_at),
        "archived": False,
    }


def written(object_type: str, values: Mapping[str, str]) -> list[str]:
    """What a write answers: the properties written and the ones the CRM keeps."""
    kept = [CREATED_PROPERTY[object_type], MODIFIED_PROPERTY[object_type], "hs_object_id"]
    return list(dict.fromkeys([*values, *kept]))
