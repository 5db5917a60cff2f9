"""JSON Schemas of the events the hub publishes, as consumers receive them from EventBridge, for the schema registry.

One schema per type of every event family (`shared/events/families.py`), describing the whole EventBridge
event: `source` is the family's source, `detail-type` is the type, and `detail` is the family's detail model
as JSON, with `event_type` fixed to that type. Each is named `<source>@<detail-type>`.

The registry takes OpenAPI 3 or JSON Schema draft 4 (`JSONSchemaDraft4`); the schemas here are draft 4, so any
consumer can validate events with an off-the-shelf validator. Pydantic emits draft 2020-12, which
`to_draft4` rewrites: `$defs` becomes `definitions`, `const` a one-value `enum`, an optional's
`anyOf [T, null]` a `type: [T, "null"]`, a `$ref` with sibling keywords an `allOf`, and annotations draft 4
does not know are dropped; validation keywords it cannot express are refused rather than silently lost.

Pure (no AWS, no I/O), and everything is derived from the families and their enums at call time, so new types
and new families need no edit here.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from datetime import UTC
from enum import StrEnum
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema
from pydantic_core import core_schema

from shared.catalog import CATALOG, physical_name
from shared.events.families import FAMILIES, EventFamily, PublishedEvent, family_of

SCHEMA_TYPE = "JSONSchemaDraft4"
DRAFT4 = "http://json-schema.org/draft-04/schema#"

# Schema registry limits (CreateSchema: content up to 100,000 characters, description up to 256; schema names
# up to 385 characters of letters, digits, `.`, `-`, `_` and `@`).
MAX_CONTENT_CHARS = 100_000
MAX_DESCRIPTION_CHARS = 256
_SCHEMA_NAME = re.compile(r"[A-Za-z0-9.\-_@]{1,385}")


def envelope_fields(family: EventFamily) -> dict[str, dict[str, Any]]:
    """Top-level fields of every event EventBridge delivers, in its own order, described for `family`."""
    return {
        "version": {"type": "string", "description": 'EventBridge envelope version; "0".'},
        "id": {
            "type": "string",
            "description": "EventBridge's id of this put; differs between re-publications, so de-duplicate on "
            "`detail.event_id` instead.",
        },
        "detail-type": {"type": "string", "description": f"The {family.name} type."},
        "source": {"type": "string", "description": f"Where the event comes from: {family.publisher}."},
        "account": {"type": "string", "description": "AWS account of the hub's bus."},
        "time": {"type": "string", "format": "date-time", "description": "`detail.occurred_at`, to the second, UTC."},
        "region": {"type": "string", "description": "AWS region of the hub's bus."},
        "resources": {"type": "array", "items": {"type": "string"}, "description": "Always empty."},
        "detail": {"$ref": f"#/$defs/{detail_definition(family)}"},
    }


def detail_definition(family: EventFamily) -> str:
    """Where `detail` is defined in the schema: under the detail model's name (`CanonicalEvent`)."""
    return family.detail_model.__name__


# Draft 2020-12 keywords whose value is a schema, a list of schemas, or a map of name to schema; everything else
# is a leaf whose value is copied as it is (`enum`, `default` and `required` hold data, not schemas).
_SCHEMA_VALUED = {"items", "additionalProperties", "additionalItems", "not"}
_SCHEMA_LISTS = {"allOf", "anyOf", "oneOf"}
_SCHEMA_MAPS = {"properties", "patternProperties", "definitions"}
# Annotations draft 4 does not define; dropping them changes no validation result.
_DROPPED = {
    "$id",
    "$anchor",
    "$comment",
    "$schema",
    "examples",
    "readOnly",
    "writeOnly",
    "deprecated",
    "contentEncoding",
    "contentMediaType",
    "contentSchema",
    "discriminator",
}
# Validation keywords draft 4 cannot express: dropping them would accept events the model rejects.
_UNSUPPORTED = {
    "if",
    "then",
    "else",
    "contains",
    "minContains",
    "maxContains",
    "propertyNames",
    "dependentRequired",
    "dependentSchemas",
    "unevaluatedItems",
    "unevaluatedProperties",
    "$dynamicRef",
    "$dynamicAnchor",
}
_JSON_TYPES = {"string", "number", "integer", "boolean", "object", "array", "null"}


class _AsSerialized(GenerateJsonSchema):
    """The shape `model_dump_json()` produces, which is what the publisher puts on the bus: every field is
    always present (null or default included), so every field is required."""

    def field_is_required(
        self,
        field: core_schema.ModelField | core_schema.DataclassField | core_schema.TypedDictField,
        total: bool,
    ) -> bool:
        if self.mode == "serialization" and field["type"] != "typed-dict-field":
            return field.get("serialization_exclude_if") is None
        return super().field_is_required(field, total)


def registry_name(stage: str, bus_name: str = CATALOG.bus_name) -> str:
    """The stage's registry, named after the bus whose events it describes: `revops-<stage>-events`."""
    return physical_name(stage, bus_name)


def schema_name(event_type: StrEnum) -> str:
    """`<source>@<detail-type>`, the naming EventBridge schema discovery uses, e.g. `revops.leads@lead.merged`."""
    return registry_schema_name(family_of(event_type).source, event_type.value)


def registry_schema_name(source: str, detail_type: str) -> str:
    name = f"{source}@{detail_type}"
    if not _SCHEMA_NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a valid schema registry name (letters, digits, . - _ @; up to 385)")
    return name


def any_type_detail_schema(family: EventFamily) -> dict[str, Any]:
    """The draft 4 schema of `detail` for any of the family's types (`event_type` one of them all)."""
    return to_draft4(_model_schema(family.detail_model))


def detail_schema(event_type: StrEnum) -> dict[str, Any]:
    """The family's detail model as pydantic emits its JSON Schema (draft 2020-12), with `event_type` fixed."""
    schema = copy.deepcopy(_model_schema(family_of(event_type).detail_model))
    field = schema["properties"]["event_type"]
    schema["properties"]["event_type"] = {"type": "string", "const": event_type.value} | _annotations(field)
    return schema


def event_schema(event_type: StrEnum) -> dict[str, Any]:
    """The draft 4 JSON Schema of the whole EventBridge event of `event_type`."""
    family = family_of(event_type)
    detail = detail_schema(event_type)
    definitions = detail.pop("$defs", {})
    detail_name = detail_definition(family)
    if detail_name in definitions:
        raise ValueError(f"the models already define {detail_name!r}")
    properties = envelope_fields(family)
    properties["detail-type"]["const"] = event_type.value
    properties["source"]["const"] = family.source
    envelope = {
        "title": schema_name(event_type),
        "description": description(event_type),
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "$defs": {detail_name: detail, **definitions},
    }
    return {
        "$schema": DRAFT4,
        **to_draft4(envelope),
        # What EventBridge's own schemas carry, so the registry and code bindings know the event.
        "x-amazon-events-source": family.source,
        "x-amazon-events-detail-type": event_type.value,
    }


def event_schemas() -> dict[str, dict[str, Any]]:
    """Every type's schema by schema name, family by family, each in its enum's order."""
    return {schema_name(t): event_schema(t) for family in FAMILIES for t in family.types}


def schema_content(schema: Mapping[str, Any]) -> str:
    """The registry `Content`: compact, stable JSON (same models, same text), within the registry's limit."""
    content = json.dumps(schema, separators=(",", ":"))
    if len(content) > MAX_CONTENT_CHARS:
        raise ValueError(f"{schema.get('title')}: {len(content)} characters, the registry takes {MAX_CONTENT_CHARS}")
    return content


def description(event_type: StrEnum) -> str:
    """What the event means (from its family), for the schema and for the registry entry."""
    family = family_of(event_type)
    return f"{family.meaning(event_type)} {family.label} schema version {family.schema_version}."


def registry_description(event_type: StrEnum) -> str:
    """`description` cut to the registry's limit."""
    text = description(event_type)
    return text if len(text) <= MAX_DESCRIPTION_CHARS else text[: MAX_DESCRIPTION_CHARS - 3].rstrip() + "..."


def eventbridge_event(
    event: PublishedEvent,
    *,
    event_id: str,
    account: str = "123456789012",
    region: str = "us-east-1",
) -> dict[str, Any]:
    """`event` as EventBridge delivers it to a rule's target after the publisher put it on the bus."""
    occurred = event.occurred_at if event.occurred_at.tzinfo else event.occurred_at.replace(tzinfo=UTC)
    return {
        "version": "0",
        "id": event_id,
        "detail-type": event.event_type.value,
        "source": family_of(event.event_type).source,
        "account": account,
        "time": occurred.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [],
        "detail": json.loads(event.model_dump_json()),
    }


def _model_schema(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema(mode="serialization", schema_generator=_AsSerialized)


# --- draft 2020-12 -> draft 4 -----------------------------------------------------------------------------


def to_draft4(schema: Mapping[str, Any]) -> dict[str, Any]:
    """`schema` (draft 2020-12, as pydantic emits it) in draft 4, with definitions nobody references removed."""
    converted = _convert(schema, "#")
    if "definitions" in converted:
        used = _referenced(converted)
        converted["definitions"] = {k: v for k, v in converted["definitions"].items() if k in used}
        if not converted["definitions"]:
            del converted["definitions"]
    return converted


def _convert(schema: Mapping[str, Any], path: str) -> dict[str, Any]:
    if not isinstance(schema, Mapping):
        raise TypeError(f"{path}: a schema must be an object, got {type(schema).__name__}")
    unsupported = sorted(set(schema) & _UNSUPPORTED)
    if unsupported:
        raise ValueError(f"{path}: draft 4 cannot express {unsupported}")
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _DROPPED:
            continue
        if key == "$defs" or key in _SCHEMA_MAPS:
            target = "definitions" if key == "$defs" else key
            out[target] = {name: _convert(sub, f"{path}/{target}/{name}") for name, sub in value.items()}
        elif key in _SCHEMA_LISTS:
            out[key] = [_convert(sub, f"{path}/{key}/{i}") for i, sub in enumerate(value)]
        elif key == "prefixItems":
            out["items"] = [_convert(sub, f"{path}/prefixItems/{i}") for i, sub in enumerate(value)]
        elif key == "items" and "prefixItems" in schema:
            # Beside prefixItems, 2020-12 `items` constrains the items after them: draft 4's additionalItems.
            out["additionalItems"] = value if isinstance(value, bool) else _convert(value, f"{path}/items")
        elif key in _SCHEMA_VALUED and isinstance(value, Mapping):
            out[key] = _convert(value, f"{path}/{key}")
        elif key == "$ref":
            out[key] = _ref(value, path)
        elif key == "const":
            if "enum" in schema and value not in schema["enum"]:
                raise ValueError(f"{path}: const {value!r} is outside its enum")
            out["enum"] = [value]
        elif key == "enum" and "const" in schema:
            continue  # the const alone says it
        elif key in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(value, bool):
            # 2020-12 numbers become draft 4's bound plus boolean flag.
            out["minimum" if key == "exclusiveMinimum" else "maximum"] = value
            out[key] = True
        else:
            out[key] = copy.deepcopy(value)
    if "$ref" in out and len(out) > 1:
        # Draft 4 ignores everything beside a $ref; keep the reference alone and the rest next to it.
        out = {"allOf": [{"$ref": out.pop("$ref")}], **out}
    return _collapse_nullable(out)


def _ref(ref: str, path: str) -> str:
    if ref.startswith("#/$defs/"):
        return "#/definitions/" + ref.removeprefix("#/$defs/")
    if ref.startswith("#/definitions/") or ref == "#":
        return ref
    raise ValueError(f"{path}: only local references can be converted, not {ref!r}")


def _collapse_nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """`anyOf: [{type: T, ...}, {type: null}]` (pydantic's `T | None`) as `type: [T, "null"]`, which draft 4
    validators and code generators read as a nullable T. Anything else stays an `anyOf`."""
    branches = schema.get("anyOf")
    if not isinstance(branches, list) or {"type": "null"} not in branches or len(branches) != 2:
        return schema
    [other] = [b for b in branches if b != {"type": "null"}]
    kind = other.get("type")
    if not isinstance(kind, str) or kind not in _JSON_TYPES or set(other) & (set(schema) - {"anyOf"}):
        return schema
    merged = {k: v for k, v in schema.items() if k != "anyOf"} | other | {"type": [kind, "null"]}
    if "enum" in merged:
        merged["enum"] = [*merged["enum"], None]
    return merged


def _referenced(schema: Any) -> set[str]:
    """Names of the definitions reachable through `$ref`s outside the definitions, and from those."""
    definitions = schema.get("definitions", {})
    outside = {k: v for k, v in schema.items() if k != "definitions"}
    found: set[str] = set()
    pending = _refs_in(outside)
    while pending:
        name = pending.pop()
        if name not in found and name in definitions:
            found.add(name)
            pending |= _refs_in(definitions[name])
    return found


def _refs_in(value: Any) -> set[str]:
    if isinstance(value, Mapping):
        refs = {value["$ref"].removeprefix("#/definitions/")} if isinstance(value.get("$ref"), str) else set()
        for sub in value.values():
            refs |= _refs_in(sub)
        return refs
    if isinstance(value, list):
        return set().union(*(_refs_in(sub) for sub in value)) if value else set()
    return set()


def _annotations(schema: Mapping[str, Any]) -> dict[str, Any]:
    return {k: schema[k] for k in ("title", "description") if k in schema}
