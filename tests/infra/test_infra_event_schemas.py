"""The schema registry: one per stage, holding one draft 4 schema per canonical event type, whose content is
exactly what `shared/events/schemas.py` generates from the models."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aws_cdk.assertions import Match
from jsonschema import Draft4Validator

from shared.catalog import physical_name
from shared.events.canonical import EventType
from shared.events.schemas import (
    MAX_CONTENT_CHARS,
    SCHEMA_TYPE,
    event_schema,
    registry_description,
    schema_content,
    schema_name,
)

if TYPE_CHECKING:
    from tests.infra.conftest import Synth


def _schemas(synth: Synth) -> dict[str, dict[str, Any]]:
    """Properties of every AWS::EventSchemas::Schema, by schema name."""
    found = synth.template.find_resources("AWS::EventSchemas::Schema")
    return {resource["Properties"]["SchemaName"]: resource["Properties"] for resource in found.values()}


def test_one_registry_named_by_stage_and_tagged(synth: Synth) -> None:
    synth.template.resource_count_is("AWS::EventSchemas::Registry", 1)
    synth.template.has_resource_properties(
        "AWS::EventSchemas::Registry",
        {
            "RegistryName": physical_name(synth.stage, synth.catalog.bus_name),
            "Description": Match.string_like_regexp(r"\S"),
            "Tags": Match.array_with(
                [{"Key": "project", "Value": "revops-hub"}, {"Key": "stage", "Value": synth.stage}]
            ),
        },
    )


def test_one_schema_per_event_type_in_that_registry(synth: Synth) -> None:
    # Given the schemas of the stack and the event types the code knows now
    schemas = _schemas(synth)
    registry_id = synth.stack.resolve(synth.stack.event_schemas.registry.logical_id)
    # Then there is exactly one schema per type, named <source>@<type>, all in the stage's registry
    synth.template.resource_count_is("AWS::EventSchemas::Schema", len(EventType))
    assert set(schemas) == {schema_name(event_type) for event_type in EventType}
    for name, props in schemas.items():
        assert props["RegistryName"] == {"Fn::GetAtt": [registry_id, "RegistryName"]}, name
        assert props["Type"] == SCHEMA_TYPE == "JSONSchemaDraft4", name


def test_schema_content_is_the_modules_output(synth: Synth) -> None:
    schemas = _schemas(synth)
    for event_type in EventType:
        props = schemas[schema_name(event_type)]
        # The content is a plain string (no tokens), parses as JSON and is what the models generate
        content = props["Content"]
        assert isinstance(content, str)
        assert len(content) <= MAX_CONTENT_CHARS
        assert json.loads(content) == event_schema(event_type)
        assert content == schema_content(event_schema(event_type))
        Draft4Validator.check_schema(json.loads(content))
        assert props["Description"] == registry_description(event_type)


def test_registry_and_schemas_need_no_nag_suppression(synth: Synth) -> None:
    # The guard rails find no nag or cfn-lint issue anywhere; here: none had to be suppressed on these resources
    for resource_type in ("AWS::EventSchemas::Registry", "AWS::EventSchemas::Schema"):
        for logical_id, resource in synth.template.find_resources(resource_type).items():
            metadata = resource.get("Metadata", {})
            assert "cdk_nag" not in metadata, logical_id
            assert "cfn-lint" not in metadata, logical_id
