"""Which writes of a batch call HubSpot's errors are about (`hubspot_crm_batches.py`): those an error's
context names (by trace id, or by record id), and, for a whole call refused for values, those setting a
property it names (any value, or the very value it refuses)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from shared.adapters.hubspot_crm_errors import HubSpotError
from shared.adapters.hubspot_crm_plan import PlannedWrite
from shared.adapters.hubspot_crm_values import property_values

# Property errors that refuse every input setting the property, whatever the value.
PROPERTY_LEVEL_ERRORS = frozenset({"PROPERTY_DOESNT_EXIST", "READ_ONLY_VALUE", "PROPERTY_NOT_WRITABLE"})

_INVALID_PROPERTIES = re.compile(r"Property values were not valid:\s*(\[.*\])\s*$", re.DOTALL)


def items_named(context: Mapping[str, Any], items: list[PlannedWrite]) -> list[PlannedWrite]:
    """The items an error's `context` names: by trace id, or by record id (an update's id, an upsert's email)."""
    traces = {str(value) for value in context.get("objectWriteTraceId") or []}
    ids = {str(value).lower() for value in context.get("ids") or []}
    return [
        item
        for item in items
        if item.trace in traces
        or (item.crm_id is not None and item.crm_id.lower() in ids)
        or (item.op == "upsert" and (item.write.match_on or ("", ""))[1].lower() in ids)
    ]


def culprits_of(refused: HubSpotError, items: list[PlannedWrite]) -> list[PlannedWrite]:
    """The items a whole-call refusal is about: named in its context, or setting a property it names (any value
    for a property the portal lacks or does not let be written, the very value for a value it refuses)."""
    named = (
        items_named(refused.body.get("context") or {}, items) if isinstance(refused.body.get("context"), dict) else []
    )
    problems = _property_problems(refused)
    culprits = []
    for item in items:
        values = property_values(item.write)
        if item.op == "upsert":
            values.setdefault("email", (item.write.match_on or ("", ""))[1])
        for name, code, message in problems:
            if name not in values:
                continue
            if code in PROPERTY_LEVEL_ERRORS or _names_value(message, values[name]):
                culprits.append(item)
                break
    return [item for item in items if item in named or item in culprits]


def _names_value(message: str, value: str) -> bool:
    """Whether HubSpot's message about a value ("x@ is invalid", "vip was not one of the allowed options: [...]")
    is about this one: the value as a whole word, before any list of what is allowed."""
    if not value:
        return False
    head = message.split("[", 1)[0]
    return re.search(rf"(?<![\w@.+-]){re.escape(value)}(?![\w@.+-])", head) is not None


def _property_problems(refused: HubSpotError) -> list[tuple[str, str, str]]:
    """(property, error code, message) of each property a refusal names: from HubSpot's `errors` details and
    from the JSON list its "Property values were not valid: [...]" message carries."""
    problems = []
    for detail in refused.body.get("errors") or []:
        if isinstance(detail, dict):
            names = (detail.get("context") or {}).get("propertyName") or []
            for name in names if isinstance(names, list) else []:
                problems.append((str(name), str(detail.get("code") or ""), str(detail.get("message") or "")))
    listed = _INVALID_PROPERTIES.search(refused.message)
    if listed:
        try:
            entries = json.loads(listed.group(1))
        except ValueError:
            entries = []
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict) and entry.get("name"):
                problems.append((str(entry["name"]), str(entry.get("error") or ""), str(entry.get("message") or "")))
    return problems
