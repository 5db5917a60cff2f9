"""The schema registry: one per stage, in the stage's schemas stack, holding one draft 4 schema per type of every
event family the catalog publishes, whose content is exactly what `shared/events/schemas.py` generates from the
models."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aws_cdk.assertions import Match
from jsonschema import Draft4Validator

from infra.config import pascal
from shared.catalog import physical_name
from shared.events.attribution_events import AttributionEventType
from shared.events.canonical import EventType
from shared.events.families import family
from shared.events.finance_events import FinanceEventType
from shared.events.handoff_events import HandoffEventType
from shared.events.lead_events import LeadEventType
from shared.events.schemas import (
    MAX_CONTENT_CHARS,
    SCHEMA_TYPE,
    event_schema,
    registry_description,
    schema_content,
    schema_name,
)
from shared.events.success_events import SuccessEventType
from shared.events.sync_events import SyncEventType

if TYPE_CHECKING:
    from enum import StrEnum

    from tests.infra.conftest import Synth


def _schemas(synth: Synth) -> dict[str, dict[str, Any]]:
    """Properties of every AWS::EventSchemas::Schema, by schema name."""
    found = synth.schemas.template.find_resources("AWS::EventSchemas::Schema")
    return {resource["Properties"]["SchemaName"]: resource["Properties"] for resource in found.values()}


def _published_types(synth: Synth) -> list[StrEnum]:
    """Every type of every family whose source the synthesized catalog publishes under."""
    return [event_type for source in synth.catalog.event_sources for event_type in family(source).types]


def test_one_registry_named_by_stage_and_tagged_in_the_schemas_stack(synth: Synth) -> None:
    synth.schemas.template.resource_count_is("AWS::EventSchemas::Registry", 1)
    synth.schemas.template.has_resource_properties(
        "AWS::EventSchemas::Registry",
        {
            "RegistryName": physical_name(synth.stage, synth.catalog.bus_name),
            "Description": Match.string_like_regexp(r"revops\.webhooks, revops\.leads"),
            "Tags": Match.array_with(
                [{"Key": "project", "Value": "revops-hub"}, {"Key": "stage", "Value": synth.stage}]
            ),
        },
    )


def test_one_schema_per_type_of_every_family_in_that_registry(synth: Synth) -> None:
    # Given the schemas of the stack and the event types of every source the catalog publishes under
    schemas = _schemas(synth)
    types = _published_types(synth)
    registry_id = synth.schemas.stack.resolve(synth.schemas.stack.event_schemas.registry.logical_id)
    # Then there is exactly one schema per type, named <source>@<type>, all in the stage's registry
    assert len(types) == (
        len(EventType)
        + len(LeadEventType)
        + len(HandoffEventType)
        + len(FinanceEventType)
        + len(AttributionEventType)
        + len(SuccessEventType)
        + len(SyncEventType)
    )
    synth.schemas.template.resource_count_is("AWS::EventSchemas::Schema", len(types))
    assert set(schemas) == {schema_name(event_type) for event_type in types}
    assert {"revops.webhooks@deal.won", "revops.leads@lead.handoff_requested"} <= set(schemas)
    for name, props in schemas.items():
        assert props["RegistryName"] == {"Fn::GetAtt": [registry_id, "RegistryName"]}, name
        assert props["Type"] == SCHEMA_TYPE == "JSONSchemaDraft4", name


def test_schema_content_is_the_modules_output(synth: Synth) -> None:
    schemas = _schemas(synth)
    for event_type in _published_types(synth):
        props = schemas[schema_name(event_type)]
        # The content is a plain string (no tokens), parses as JSON and is what the models generate
        content = props["Content"]
        assert isinstance(content, str)
        assert len(content) <= MAX_CONTENT_CHARS
        assert json.loads(content) == event_schema(event_type)
        assert content == schema_content(event_schema(event_type))
        Draft4Validator.check_schema(json.loads(content))
        assert props["Description"] == registry_description(event_type)


def test_canonical_schemas_keep_the_construct_ids_they_were_deployed_with(synth: Synth) -> None:
    # A new logical id would create the schema again under its old name, which the registry refuses
    constructs = synth.schemas.stack.event_schemas.schemas
    for event_type in EventType:
        assert constructs[schema_name(event_type)].node.id == f"Schema{pascal(event_type.value)}"
    for event_type in LeadEventType:
        assert constructs[schema_name(event_type)].node.id == f"SchemaRevopsLeads{pascal(event_type.value)}"


def test_registry_and_schemas_need_no_nag_suppression(synth: Synth) -> None:
    # The guard rails find no nag or cfn-lint issue anywhere; here: none had to be suppressed on these resources
    for resource_type in ("AWS::EventSchemas::Registry", "AWS::EventSchemas::Schema"):
        for logical_id, resource in synth.schemas.template.find_resources(resource_type).items():
            metadata = resource.get("Metadata", {})
            assert "cdk_nag" not in metadata, logical_id
            assert "cfn-lint" not in metadata, logical_id


def test_the_schemas_stack_holds_the_registry_and_nothing_else(synth: Synth) -> None:
    # The registry grows with every event type: none of it may take room in the main stack's 500 resources
    types = {resource["Type"] for resource in synth.schemas.template.to_json()["Resources"].values()}
    assert types == {"AWS::EventSchemas::Registry", "AWS::EventSchemas::Schema"}
    for resource_type in types:
        synth.template.resource_count_is(resource_type, 0)
        synth.monitoring.template.resource_count_is(resource_type, 0)
