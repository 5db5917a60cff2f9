"""The EventBridge schema registry of the stage, holding one schema per type of every event family whose source
the catalog publishes under (`shared/events/families.py`).

The schemas come from the pydantic models (`shared/events/schemas.py`), so a changed model deploys as a new
schema version, and consumers download code bindings or validate events against what the hub really sends.
"""

from __future__ import annotations

from enum import StrEnum

from aws_cdk import aws_eventschemas as eventschemas
from constructs import Construct

from infra.config import StageConfig, pascal
from shared.catalog import Catalog
from shared.events.canonical import WEBHOOK_EVENT_SOURCE
from shared.events.families import EventFamily, family
from shared.events.schemas import (
    SCHEMA_TYPE,
    event_schema,
    registry_description,
    registry_name,
    schema_content,
    schema_name,
)

# The canonical event schemas were deployed before there were other families, under ids without their source.
# They keep them: a new logical id creates the new schema before deleting the old one, and the registry
# refuses a second schema of the same name.
_SOURCE_LESS_IDS = frozenset({WEBHOOK_EVENT_SOURCE})


class EventSchemas(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, cfg: StageConfig, catalog: Catalog) -> None:
        super().__init__(scope, construct_id)
        families = [family(source) for source in catalog.event_sources]
        self.registry = eventschemas.CfnRegistry(
            self,
            "Registry",
            registry_name=registry_name(cfg.name, catalog.bus_name),
            description=f"RevOps Hub {cfg.name}: schemas of the events on the hub bus "
            f"({', '.join(f.source for f in families)})",
        )
        # By schema name, `<source>@<detail-type>`.
        self.schemas: dict[str, eventschemas.CfnSchema] = {}
        for events in families:
            for event_type in events.types:
                self.schemas[schema_name(event_type)] = eventschemas.CfnSchema(
                    self,
                    schema_construct_id(events, event_type),
                    registry_name=self.registry.attr_registry_name,
                    schema_name=schema_name(event_type),
                    type=SCHEMA_TYPE,
                    content=schema_content(event_schema(event_type)),
                    description=registry_description(event_type),
                )


def schema_construct_id(events: EventFamily, event_type: StrEnum) -> str:
    """`SchemaRevopsLeadsLeadMerged`; `SchemaDealWon` for the canonical events (see `_SOURCE_LESS_IDS`)."""
    source = "" if events.source in _SOURCE_LESS_IDS else pascal(events.source)
    return f"Schema{source}{pascal(event_type.value)}"
