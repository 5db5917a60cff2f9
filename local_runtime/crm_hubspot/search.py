"""A search's filters and sorts, checked against the portal's properties, and how a record is matched and
ordered by them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from local_runtime.crm_hubspot.portal import (
    DATE_PROPERTIES,
    MAX_FILTER_GROUPS,
    MAX_FILTERS,
    MAX_FILTERS_PER_GROUP,
    NUMERIC,
    SEARCH_OPERATORS,
)
from local_runtime.crm_hubspot.records import Record
from local_runtime.crm_hubspot.responses import Refused, shown_value, validation_error
from local_runtime.crm_hubspot.values import is_number, parse_time


def filter_groups(object_type: str, known: frozenset[str], raw: object) -> list[list[dict[str, Any]]]:
    if raw is None:
        return []
    if not isinstance(raw, list) or len(raw) > MAX_FILTER_GROUPS:
        raise Refused(validation_error(f"filterGroups must be a list of at most {MAX_FILTER_GROUPS} groups"))
    groups, total = [], 0
    for g, group in enumerate(raw):
        filters = group.get("filters") if isinstance(group, dict) else None
        if not isinstance(filters, list) or len(filters) > MAX_FILTERS_PER_GROUP:
            raise Refused(
                validation_error(f"filterGroups[{g}].filters must be a list of at most {MAX_FILTERS_PER_GROUP}")
            )
        total += len(filters)
        if total > MAX_FILTERS:
            raise Refused(validation_error(f"a search takes at most {MAX_FILTERS} filters in all"))
        groups.append(
            [_filter(object_type, known, f, f"filterGroups[{g}].filters[{i}]") for i, f in enumerate(filters)]
        )
    return groups


def _filter(object_type: str, known: frozenset[str], raw: object, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise Refused(validation_error(f"{where} must be an object"))
    name, operator = raw.get("propertyName"), raw.get("operator")
    if not isinstance(name, str) or name not in known:
        raise Refused(
            validation_error(f"{where}.propertyName: Property {shown_value(name)} does not exist on {object_type}")
        )
    if operator not in SEARCH_OPERATORS:
        raise Refused(validation_error(f"{where}.operator must be one of {', '.join(sorted(SEARCH_OPERATORS))}"))
    checked: dict[str, Any] = {"name": name, "operator": operator}
    if operator in ("IN", "NOT_IN"):
        values = raw.get("values")
        if not isinstance(values, list) or not values or not all(isinstance(v, str | int | float) for v in values):
            raise Refused(validation_error(f"{where}.values must be a non-empty list for {operator}"))
        checked["values"] = [_filter_key(name, str(v), where) for v in values]
    elif operator not in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
        value = raw.get("value")
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise Refused(validation_error(f"{where}.value is required for {operator}"))
        if operator in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
            checked["value"] = str(value).strip("*").lower()
        else:
            checked["value"] = _filter_key(name, str(value), where)
        if operator == "BETWEEN":
            high = raw.get("highValue")
            if not isinstance(high, str | int | float) or isinstance(high, bool):
                raise Refused(validation_error(f"{where}.highValue is required for BETWEEN"))
            checked["high"] = _filter_key(name, str(high), where)
    return checked


def search_sorts(object_type: str, known: frozenset[str], raw: object) -> list[tuple[str, bool]]:
    if raw is None:
        return []
    if not isinstance(raw, list) or len(raw) > 1:
        raise Refused(validation_error("sorts must be a list of one sort at most: HubSpot applies one sort a search"))
    sorts = []
    for position, item in enumerate(raw):
        if isinstance(item, str):  # "createdate" or "-createdate"
            name, descending = item.lstrip("-"), item.startswith("-")
        elif isinstance(item, dict) and isinstance(item.get("propertyName"), str):
            direction = item.get("direction", "ASCENDING")
            if direction not in ("ASCENDING", "DESCENDING"):
                raise Refused(validation_error(f"sorts[{position}].direction must be ASCENDING or DESCENDING"))
            name, descending = item["propertyName"], direction == "DESCENDING"
        else:
            raise Refused(validation_error(f"sorts[{position}] must be {{'propertyName', 'direction'}}"))
        if name not in known:
            raise Refused(
                validation_error(f"sorts[{position}]: Property {shown_value(name)} does not exist on {object_type}")
            )
        sorts.append((name, descending))
    return sorts


def _sort_key(name: str, value: str) -> Any:
    """How a value compares: dates by their moment, numbers by their value, text without case."""
    if name in DATE_PROPERTIES:
        parsed = parse_time(value)
        return (0, parsed.timestamp()) if parsed else (1, value)
    if name in NUMERIC and is_number(value):
        return (0, float(value))
    return (1, value.lower())


def record_sort_key(name: str, record: Record) -> Any:
    return _sort_key(name, record.properties[name])


def _filter_key(name: str, value: str, where: str) -> Any:
    if name in DATE_PROPERTIES:
        parsed = parse_time(value)
        if parsed is None:
            raise Refused(validation_error(f"{where}: {value[:40]!r} is not a date (epoch milliseconds or ISO 8601)"))
        return (0, parsed.timestamp())
    if name in NUMERIC:
        if not is_number(value):
            raise Refused(validation_error(f"{where}: {value[:40]!r} is not a number"))
        return (0, float(value))
    return (1, value.lower())


def matches(record: Record, checked: Mapping[str, Any]) -> bool:
    name, operator = checked["name"], checked["operator"]
    raw = record.properties.get(name) or None
    if operator == "HAS_PROPERTY":
        return raw is not None
    if operator == "NOT_HAS_PROPERTY":
        return raw is None
    if operator in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        contains = raw is not None and checked["value"] in raw.lower()
        return contains if operator == "CONTAINS_TOKEN" else not contains
    if raw is None:
        return operator in ("NEQ", "NOT_IN")
    key = _sort_key(name, raw)
    if operator == "IN":
        return key in checked["values"]
    if operator == "NOT_IN":
        return key not in checked["values"]
    value = checked["value"]
    if key[0] != value[0]:
        return operator == "NEQ"
    comparisons: dict[str, Callable[[], bool]] = {
        "EQ": lambda: key == value,
        "NEQ": lambda: key != value,
        "LT": lambda: key < value,
        "LTE": lambda: key <= value,
        "GT": lambda: key > value,
        "GTE": lambda: key >= value,
        "BETWEEN": lambda: value <= key <= checked["high"],
    }
    return comparisons[operator]()


def matches_query(record: Record, searchable: Sequence[str], query: str) -> bool:
    wanted = query.strip("*").lower()
    return any(wanted in (record.properties.get(name) or "").lower() for name in searchable)
