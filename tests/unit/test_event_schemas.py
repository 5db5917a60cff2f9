"""The registry schemas: valid JSON Schema draft 4, derived from the models, one per type of every event family,
and they accept exactly the events the hub publishes (wrapped the way EventBridge delivers them)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import pytest
from jsonschema import Draft4Validator

from shared.events.canonical import WEBHOOK_EVENT_SOURCE, CanonicalEvent, EventType, Subject
from shared.events.families import FAMILIES, EventFamily, family_of
from shared.events.finance_events import FINANCE_EVENT_SOURCE
from shared.events.handoff_events import HANDOFF_EVENT_SOURCE
from shared.events.lead_events import LEAD_EVENT_SOURCE, LeadEvent, LeadEventType
from shared.events.schemas import (
    DRAFT4,
    MAX_CONTENT_CHARS,
    MAX_DESCRIPTION_CHARS,
    SCHEMA_TYPE,
    any_type_detail_schema,
    detail_definition,
    event_schema,
    event_schemas,
    eventbridge_event,
    registry_description,
    registry_name,
    registry_schema_name,
    schema_content,
    schema_name,
    to_draft4,
)

ALL_TYPES: list[StrEnum] = [event_type for family in FAMILIES for event_type in family.types]
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _id(event_type: StrEnum) -> str:
    return schema_name(event_type)


def _validator(event_type: StrEnum) -> Draft4Validator:
    return Draft4Validator(event_schema(event_type), format_checker=Draft4Validator.FORMAT_CHECKER)


def _errors(event_type: StrEnum, event: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in _validator(event_type).iter_errors(event)]


def _canonical(event_type: EventType, **changes: Any) -> CanonicalEvent:
    fields: dict[str, Any] = {
        "event_id": CanonicalEvent.id_for("stripe", "evt_1"),
        "event_type": event_type,
        "occurred_at": NOW,
        "received_at": NOW,
        "source_vendor": "stripe",
        "vendor_event_id": "evt_1",
        "vendor_event_type": "invoice.paid",
        "subject": Subject(account_id="stripe:cus_1", email="a@example.com"),
        "data": {"amount_minor": 4900, "currency": "usd", "nested": {"list": [1, None, "x"]}},
        "correlation_id": "req-1",
        "delivery_id": "delivery-1",
    }
    return CanonicalEvent(**(fields | changes))


def _lead(event_type: LeadEventType, **changes: Any) -> LeadEvent:
    fields: dict[str, Any] = {
        "event_id": LeadEvent.id_for("lead-1", event_type, "x"),
        "event_type": event_type,
        "occurred_at": NOW,
        "lead_id": "lead-1",
        "email": "ada@acme.io",
        "stage": "MQL",
        "previous_stage": "Lead",
        "score": 212.35,
        "previous_score": 190.0,
        "fit_score": 85.0,
        "engagement_score": 127.35,
        "priority": "immediate",
        "reason": "segment_api track demo-1",
        "other_lead_id": "lead-2",
        "cause_event_id": CanonicalEvent.id_for("segment_api", "demo-1"),
        "model_version": "2026.1",
        "correlation_id": "req-1",
    }
    return LeadEvent(**(fields | changes))


def _bare_lead(event_type: LeadEventType) -> LeadEvent:
    """An anonymous visitor's first event: every optional field null, the scores zero."""
    return LeadEvent(
        event_id=LeadEvent.id_for("lead-1", event_type, "y"),
        event_type=event_type,
        occurred_at=NOW,
        lead_id="lead-1",
        stage="Visitor",
        score=0.0,
        fit_score=0,
        engagement_score=0.0,
    )


def _walk(schema: Any, path: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(schema, dict):
        yield path, schema
        for key, value in schema.items():
            yield from _walk(value, f"{path}/{key}")
    elif isinstance(schema, list):
        for i, value in enumerate(schema):
            yield from _walk(value, f"{path}/{i}")


# --- the schemas themselves -------------------------------------------------------------------------------


def test_there_is_one_schema_per_type_of_every_family_in_enum_order() -> None:
    schemas = event_schemas()
    assert list(schemas) == [f"{family.source}@{t.value}" for family in FAMILIES for t in family.event_types]
    assert len(schemas) == sum(len(f.event_types) for f in FAMILIES) >= len(EventType) + len(LeadEventType)
    assert {WEBHOOK_EVENT_SOURCE, LEAD_EVENT_SOURCE, HANDOFF_EVENT_SOURCE, FINANCE_EVENT_SOURCE} <= {
        family.source for family in FAMILIES
    }
    assert SCHEMA_TYPE == "JSONSchemaDraft4"


@pytest.mark.parametrize("event_type", ALL_TYPES, ids=_id)
def test_every_schema_is_valid_draft4(event_type: StrEnum) -> None:
    schema = event_schema(event_type)
    assert schema["$schema"] == DRAFT4
    Draft4Validator.check_schema(schema)


@pytest.mark.parametrize("event_type", ALL_TYPES, ids=_id)
def test_no_draft_2020_constructs_survive_and_every_ref_resolves(event_type: StrEnum) -> None:
    schema = event_schema(event_type)
    for path, node in _walk(schema):
        if path.endswith("/properties") or path.endswith("/definitions"):
            continue  # maps of names, not schemas
        assert not {"$defs", "const", "prefixItems", "examples"} & set(node), path
        if "$ref" in node:
            assert set(node) == {"$ref"}, f"{path}: draft 4 ignores keywords beside $ref"
            name = node["$ref"].removeprefix("#/definitions/")
            assert node["$ref"].startswith("#/definitions/"), path
            assert name in schema["definitions"], path


@pytest.mark.parametrize("event_type", ALL_TYPES, ids=_id)
def test_schema_pins_source_detail_type_and_event_type(event_type: StrEnum) -> None:
    family = family_of(event_type)
    schema = event_schema(event_type)
    assert schema["properties"]["source"]["enum"] == [family.source]
    assert schema["properties"]["detail-type"]["enum"] == [event_type.value]
    detail = schema["definitions"][family.detail_model.__name__]
    assert detail["properties"]["event_type"]["enum"] == [event_type.value]
    assert schema["x-amazon-events-source"] == family.source
    assert schema["x-amazon-events-detail-type"] == event_type.value
    # The enum of every type is not needed once the type is fixed
    assert family.event_types.__name__ not in schema["definitions"]


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.source)
def test_detail_lists_every_model_field_with_its_description_and_all_are_required(family: EventFamily) -> None:
    model = family.detail_model
    detail = event_schema(family.types[-1])["definitions"][detail_definition(family)]
    assert detail_definition(family) == model.__name__
    assert list(detail["properties"]) == list(model.model_fields)
    # model_dump_json always writes every field, so consumers may rely on each being present
    assert detail["required"] == list(model.model_fields)
    for name, field in model.model_fields.items():
        assert field.description, f"{model.__name__}.{name} has no description for consumers"
        assert detail["properties"][name]["description"] == field.description


def test_canonical_subject_fields_are_all_required_and_nullable() -> None:
    subject = event_schema(EventType.DEAL_WON)["definitions"]["Subject"]
    assert subject["required"] == list(Subject.model_fields)
    assert subject["properties"]["email"]["type"] == ["string", "null"]


def test_lead_priority_is_one_of_its_levels_or_null() -> None:
    detail = event_schema(LeadEventType.HANDOFF_REQUESTED)["definitions"]["LeadEvent"]
    assert detail["properties"]["priority"]["enum"] == ["immediate", "priority", "standard", None]
    assert detail["properties"]["score"]["type"] == "number"


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.source)
def test_generic_detail_schema_allows_every_event_type(family: EventFamily) -> None:
    schema = any_type_detail_schema(family)
    Draft4Validator.check_schema(schema)
    assert schema["definitions"][family.event_types.__name__]["enum"] == [t.value for t in family.event_types]


@pytest.mark.parametrize("event_type", ALL_TYPES, ids=_id)
def test_registry_names_descriptions_and_content_fit_the_registry(event_type: StrEnum) -> None:
    family = family_of(event_type)
    name = schema_name(event_type)
    assert name == f"{family.source}@{event_type.value}"
    assert 0 < len(registry_description(event_type)) <= MAX_DESCRIPTION_CHARS
    assert registry_description(event_type).startswith(family.meaning(event_type)[:100])
    content = schema_content(event_schema(event_type))
    assert len(content) <= MAX_CONTENT_CHARS
    assert json.loads(content) == event_schema(event_type)
    # Same models, same text: no needless schema versions on deploy
    assert schema_content(event_schema(event_type)) == content


def test_schema_names_outside_the_registry_rules_are_refused() -> None:
    with pytest.raises(ValueError, match="not a valid schema registry name"):
        registry_schema_name(WEBHOOK_EVENT_SOURCE, "deal won")


def test_a_type_of_no_family_has_no_schema() -> None:
    class Orphan(StrEnum):
        # Same value as a canonical type: the family is found by enum, never by value
        DEAL_WON = "deal.won"

    with pytest.raises(LookupError, match="no family"):
        event_schema(Orphan.DEAL_WON)


def test_registry_is_named_after_the_bus() -> None:
    assert registry_name("dev") == "revops-dev-events"


# --- real events against the schemas ----------------------------------------------------------------------


@pytest.mark.parametrize("event_type", ALL_TYPES, ids=_id)
def test_the_example_of_each_type_validates_and_parses_back(event_type: StrEnum) -> None:
    family = family_of(event_type)
    example = family.example(event_type)
    assert example.event_type is event_type
    delivered = eventbridge_event(example, event_id="6a7b8c9d-0000-4000-8000-000000000001")
    assert delivered["source"] == family.source
    assert _errors(event_type, delivered) == []
    assert family.detail_model.model_validate(delivered["detail"]) == example


@pytest.mark.parametrize("event_type", list(EventType), ids=_id)
def test_published_canonical_events_of_each_type_validate(event_type: EventType) -> None:
    # Given canonical events as the gateway builds them: full, sparse (nulls, empty subject), by reference
    events = [
        _canonical(event_type),
        _canonical(event_type, vendor_event_id=None, subject=Subject(), data={}),
        _canonical(event_type).by_reference(),
    ]
    for event in events:
        # When wrapped the way EventBridge delivers them to a rule target
        delivered = eventbridge_event(event, event_id="6a7b8c9d-0000-4000-8000-000000000001")
        # Then they match their type's schema
        assert _errors(event_type, delivered) == []


@pytest.mark.parametrize("event_type", list(LeadEventType), ids=_id)
def test_published_lead_events_of_each_type_validate(event_type: LeadEventType) -> None:
    # Given lead events as the lead domain builds them: every field set, and an anonymous visitor's bare one
    for event in (_lead(event_type), _bare_lead(event_type), _lead(event_type).by_reference()):
        delivered = eventbridge_event(event, event_id="6a7b8c9d-0000-4000-8000-000000000002")
        # Then, delivered by EventBridge, they match their type's schema
        assert delivered["source"] == LEAD_EVENT_SOURCE
        assert _errors(event_type, delivered) == []


@pytest.mark.parametrize(
    "event", [_canonical(EventType.PAYMENT_SUCCEEDED), _lead(LeadEventType.MERGED)], ids=["canonical", "lead"]
)
def test_delivered_json_is_what_the_publisher_puts_on_the_bus(event: CanonicalEvent | LeadEvent) -> None:
    delivered = eventbridge_event(event, event_id="x")
    assert delivered["detail"] == json.loads(event.model_dump_json())
    assert delivered["detail-type"] == event.event_type.value
    assert delivered["time"] == "2025-03-01T12:00:00Z"
    assert type(event).model_validate(delivered["detail"]) == event


@pytest.mark.parametrize(
    ("event", "other"),
    [
        (_canonical(EventType.PAYMENT_SUCCEEDED), EventType.PAYMENT_FAILED),
        (_lead(LeadEventType.MERGED), LeadEventType.UNMERGED),
        (_lead(LeadEventType.HANDOFF_REQUESTED), EventType.HANDOFF_ACCEPTED),
    ],
    ids=["payment", "merge", "across-families"],
)
def test_an_event_under_another_types_detail_type_fails(event: CanonicalEvent | LeadEvent, other: StrEnum) -> None:
    # Given an event as delivered
    delivered = eventbridge_event(event, event_id="x")
    # When it is checked against another type's schema, or relabelled
    relabelled = copy.deepcopy(delivered) | {"detail-type": other.value}
    # Then both fail: source, detail-type and detail.event_type are pinned
    assert _errors(other, delivered)
    assert any(e.startswith("detail-type") for e in _errors(event.event_type, relabelled))


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda e: e.update(source="revops.other"), "source"),
        (lambda e: e.pop("detail"), ""),
        (lambda e: e["detail"].pop("correlation_id"), "detail"),
        (lambda e: e["detail"].update(event_type="deal.won"), "detail/event_type"),
        (lambda e: e["detail"].update(event_id=None), "detail/event_id"),
        (lambda e: e["detail"].update(data_by_reference="no"), "detail/data_by_reference"),
        (lambda e: e["detail"].update(data=[1, 2]), "detail/data"),
        (lambda e: e["detail"]["subject"].pop("email"), "detail/subject"),
        (lambda e: e["detail"]["subject"].update(contact_id=42), "detail/subject/contact_id"),
    ],
    ids=[
        "other-source",
        "no-detail",
        "missing-field",
        "wrong-event-type",
        "null-id",
        "flag-not-bool",
        "data-not-object",
        "subject-field-missing",
        "subject-id-not-string",
    ],
)
def test_malformed_canonical_events_fail(change: Any, where: str) -> None:
    delivered = eventbridge_event(_canonical(EventType.PAYMENT_SUCCEEDED), event_id="x")
    change(delivered)
    errors = _errors(EventType.PAYMENT_SUCCEEDED, delivered)
    assert any(e.split(":")[0] == where for e in errors), errors


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda e: e.update(source=WEBHOOK_EVENT_SOURCE), "source"),
        (lambda e: e["detail"].pop("other_lead_id"), "detail"),
        (lambda e: e["detail"].update(event_type="lead.merged"), "detail/event_type"),
        (lambda e: e["detail"].update(priority="urgent"), "detail/priority"),
        (lambda e: e["detail"].update(score="high"), "detail/score"),
        (lambda e: e["detail"].update(lead_id=None), "detail/lead_id"),
        (lambda e: e["detail"].update(stage=None), "detail/stage"),
    ],
    ids=[
        "webhook-source",
        "missing-field",
        "wrong-event-type",
        "unknown-priority",
        "score-not-number",
        "null-lead",
        "null-stage",
    ],
)
def test_malformed_lead_events_fail(change: Any, where: str) -> None:
    delivered = eventbridge_event(_lead(LeadEventType.HANDOFF_REQUESTED), event_id="x")
    change(delivered)
    errors = _errors(LeadEventType.HANDOFF_REQUESTED, delivered)
    assert any(e.split(":")[0] == where for e in errors), errors


def test_times_must_be_date_times() -> None:
    # jsonschema checks date-time only with rfc3339-validator installed (it comes with moto's dependencies)
    pytest.importorskip("rfc3339_validator")
    delivered = eventbridge_event(_canonical(EventType.DEAL_WON), event_id="x")
    delivered["time"] = "yesterday"
    delivered["detail"]["received_at"] = "2025-13-01"
    assert {e.split(":")[0] for e in _errors(EventType.DEAL_WON, delivered)} == {"time", "detail/received_at"}
    lead = eventbridge_event(_lead(LeadEventType.MERGED), event_id="x")
    lead["detail"]["occurred_at"] = "soon"
    assert {e.split(":")[0] for e in _errors(LeadEventType.MERGED, lead)} == {"detail/occurred_at"}


# --- the 2020-12 -> draft 4 conversion --------------------------------------------------------------------


def test_conversion_rewrites_refs_const_and_nullable() -> None:
    converted = to_draft4(
        {
            "$defs": {"Kind": {"enum": ["a", "b"], "type": "string"}, "Unused": {"type": "string"}},
            "properties": {
                "kind": {"$ref": "#/$defs/Kind", "description": "which"},
                "maybe_kind": {"anyOf": [{"$ref": "#/$defs/Kind"}, {"type": "null"}]},
                "fixed": {"const": "x", "type": "string"},
                "narrowed": {"enum": ["x", "y"], "const": "y"},
                "note": {"anyOf": [{"type": "string", "maxLength": 3}, {"type": "null"}], "default": None},
                "choice": {"anyOf": [{"enum": ["x", "y"], "type": "string"}, {"type": "null"}]},
                "const": {"type": "integer", "examples": [1]},
            },
        }
    )
    Draft4Validator.check_schema(converted)
    props = converted["properties"]
    assert props["kind"] == {"allOf": [{"$ref": "#/definitions/Kind"}], "description": "which"}
    assert props["maybe_kind"] == {"anyOf": [{"$ref": "#/definitions/Kind"}, {"type": "null"}]}
    assert props["fixed"] == {"enum": ["x"], "type": "string"}
    assert props["narrowed"] == {"enum": ["y"]}
    assert props["note"] == {"default": None, "type": ["string", "null"], "maxLength": 3}
    assert props["choice"] == {"enum": ["x", "y", None], "type": ["string", "null"]}
    assert props["const"] == {"type": "integer"}  # a property named like a keyword stays a property
    assert converted["definitions"] == {"Kind": {"enum": ["a", "b"], "type": "string"}}
    validator = Draft4Validator(converted)
    assert validator.is_valid({"kind": "a", "maybe_kind": None, "fixed": "x", "note": None, "choice": None})
    assert not validator.is_valid({"choice": "z"})
    assert not validator.is_valid({"note": "long"})


def test_conversion_of_numeric_bounds_and_tuples() -> None:
    converted = to_draft4(
        {
            "properties": {
                "ratio": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
                "pair": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}], "items": False},
            }
        }
    )
    Draft4Validator.check_schema(converted)
    assert converted["properties"]["ratio"] == {
        "type": "number",
        "minimum": 0,
        "exclusiveMinimum": True,
        "maximum": 1,
        "exclusiveMaximum": True,
    }
    validator = Draft4Validator(converted)
    assert validator.is_valid({"ratio": 0.5, "pair": ["a", 1]})
    assert not validator.is_valid({"ratio": 0})
    assert not validator.is_valid({"pair": ["a", 1, 2]})


@pytest.mark.parametrize(
    "schema",
    [
        {"propertyNames": {"pattern": "^a"}},
        {"properties": {"x": {"if": {"type": "string"}, "then": {"minLength": 1}}}},
        {"$ref": "https://example.com/other.json"},
        {"enum": ["x"], "const": "y"},
    ],
    ids=["propertyNames", "if-then", "remote-ref", "const-outside-enum"],
)
def test_what_draft4_cannot_express_is_refused_not_dropped(schema: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"cannot|only local|outside"):
        to_draft4(schema)
