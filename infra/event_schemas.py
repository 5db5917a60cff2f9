"""The EventBridge schema registry of the stage, holding one schema per canonical event type.

The schemas come from the pydantic models (`shared/events/schemas.py`), so a changed model deploys as a new
schema version, and consumers download code bindings or validate events against what the hub really sends.
"""

from __future__ import annotations

from aws_cdk import aws_eventschemas as eventschemas
from constructs import Construct

from infra.config import StageConfig, pascal
from shared.catalog import Catalog
from shared.events.canonical import WEBHOOK_EVENT_SOURCE, EventType
from shared.events.schemas import (
    SCHEMA_TYPE,
    event_schemas,
    registry_description,
    registry_name,
    schema_content,
    schema_name,
)


class EventSchemas(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, cfg: StageConfig, catalog: Catalog) -> None:
        super().__init__(scope, construct_id)
        self.registry = eventschemas.CfnRegistry(
            self,
            "Registry",
            registry_name=registry_name(cfg.name, catalog.bus_name),
            description=f"RevOps Hub {cfg.name}: schemas of the canonical events ({WEBHOOK_EVENT_SOURCE})",
        )
        self.schemas: dict[EventType, eventschemas.CfnSchema] = {}
        for event_type, schema in event_schemas().items():
            self.schemas[event_type] = eventschemas.CfnSchema(
                self,
                f"Schema{pascal(event_type.value)}",
                registry_name=self.registry.attr_registry_name,
                schema_name=schema_name(event_type),
                type=SCHEMA_TYPE,
                content=schema_content(schema),
                description=registry_description(event_type),
            )
