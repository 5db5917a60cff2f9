"""Event families: every source the hub publishes under has exactly one, so its events are registered and
documented; and a family is enough to find an event type's source, model and meaning."""

from __future__ import annotations

from enum import StrEnum

import pytest
from pydantic import BaseModel

from shared.catalog import CATALOG
from shared.events.families import FAMILIES, REQUIRED_DETAIL_FIELDS, EventFamily, family, family_of


def test_every_catalog_source_has_a_family_and_every_family_a_catalog_source() -> None:
    # A domain publishing under a source the catalog declares (bus archive, rules) must have its events
    # registered and documented, and a family must not describe a source nothing is declared to publish.
    sources = [f.source for f in FAMILIES]
    assert sorted(CATALOG.event_sources) == sorted(sources)
    assert len(set(CATALOG.event_sources)) == len(CATALOG.event_sources)
    for source in CATALOG.event_sources:
        assert family(source).source == source


def test_families_have_their_own_source_and_enum() -> None:
    sources = [f.source for f in FAMILIES]
    enums = [f.event_types for f in FAMILIES]
    assert len(set(sources)) == len(sources)
    assert len(set(enums)) == len(enums)


@pytest.mark.parametrize("events", FAMILIES, ids=lambda f: f.source)
def test_each_family_owns_its_types_and_models_them(events: EventFamily) -> None:
    assert events.types
    assert set(events.detail_model.model_fields) >= REQUIRED_DETAIL_FIELDS
    assert events.detail_model.model_fields["event_type"].annotation is events.event_types
    assert events.title.endswith("events")
    for event_type in events.types:
        assert family_of(event_type) is events
        example = events.example(event_type)
        assert isinstance(example, events.detail_model)
        assert example.event_type is event_type


def test_an_unknown_source_or_type_says_where_families_are_declared() -> None:
    class Orphan(StrEnum):
        SOMETHING = "something.happened"

    with pytest.raises(LookupError, match=r"shared/events/families\.py"):
        family("revops.nobody")
    with pytest.raises(LookupError, match=r"shared/events/families\.py"):
        family_of(Orphan.SOMETHING)


def test_a_family_needs_a_detail_model_the_envelope_can_be_made_from() -> None:
    class Kind(StrEnum):
        DONE = "thing.done"

    class NoTime(BaseModel):
        event_id: str
        event_type: Kind

    with pytest.raises(ValueError, match="occurred_at"):
        EventFamily(
            source="revops.things",
            name="thing event",
            publisher="things",
            summary="Things.",
            detail_model=NoTime,
            event_types=Kind,
            schema_version="1.0",
            meaning=lambda _: "",
            example=lambda _: NoTime(event_id="1", event_type=Kind.DONE),
            described=lambda _: True,
        )
