"""shared/events/lead_taxonomy.py is held to the lead service, so the catalog's lead events cannot go stale.

The service (shared/leads/service.py) is the authority on which lead events are published with which fields;
the taxonomy describes them by hand. A lead is taken through its lifecycle over in-memory adapters, and every
event published on the way must match its type's registry schema and set exactly the type-specific fields
the taxonomy lists for its type (each of them at least once), as the taxonomy's examples do.
"""

from __future__ import annotations

import itertools
import uuid
from collections import defaultdict
from datetime import timedelta
from typing import Any

import pytest
from jsonschema import Draft4Validator

from shared.events.canonical import CanonicalEvent, EventType, Subject
from shared.events.lead_events import LeadEvent, LeadEventType
from shared.events.lead_taxonomy import LEAD_EVENT_TYPES, TYPE_SPECIFIC_FIELDS, describe, example_event
from shared.events.schemas import event_schema, eventbridge_event
from shared.leads.capture import LeadCapture
from shared.leads.model import Stage
from shared.leads.scoring_models import ScoringModels
from shared.leads.service import LeadService
from shared.scoring.model import load_model
from tests.fakes import FixedClock, InMemoryLeadRepository, RecordingPublisher

EMAIL = "sam@northwind.io"
VISITOR = Subject(contact_id="segment-anonymous:anon-42")
SAM = Subject(contact_id="segment:user-42", email=EMAIL)


class Journey:
    """Sam's lead journey from the README, through the lead service, recording what it publishes."""

    def __init__(self) -> None:
        self.clock = FixedClock()
        self.bus = RecordingPublisher()
        ids = itertools.count(1)
        self.service = LeadService(
            InMemoryLeadRepository(self.bus),
            ScoringModels(load_model()),
            self.clock,
            lambda: f"lead-{next(ids):04d}",
        )
        self._n = 0

    def handle(self, event_type: EventType, subject: Subject, data: dict[str, Any] | None = None) -> str | None:
        self._n += 1
        event = CanonicalEvent(
            event_id=str(uuid.uuid5(uuid.NAMESPACE_OID, f"journey-{self._n}")),
            event_type=event_type,
            occurred_at=self.clock.now(),
            received_at=self.clock.now(),
            source_vendor="segment_api",
            vendor_event_id=f"m-{self._n}",
            vendor_event_type="track",
            subject=subject,
            data=data or {},
            correlation_id="request-1",
            delivery_id="delivery-1",
        )
        return self.service.handle(event).contact_id

    def engage(self, subject: Subject, kind: str, **data: Any) -> None:
        self.handle(EventType.ENGAGEMENT_RECORDED, subject, {"kind": kind, **data})

    @property
    def published(self) -> list[LeadEvent]:
        return list(self.bus.published)


@pytest.fixture(scope="module")
def journey() -> list[LeadEvent]:
    sam = Journey()
    # An anonymous visitor reads the pricing page
    sam.engage(VISITOR, "pricing_page_visit", path="/pricing")
    # A web form captures Sam, an ICP fit
    captured = sam.service.capture(
        LeadCapture(
            email=EMAIL,
            source="web form",
            company="Northwind",
            job_title="VP of Revenue Operations",
            industry="Software",
            employee_count=450,
            country="US",
        )
    ).contact_id
    assert captured
    # Sam identifies as the visitor: the two merge, and the pricing visit asks for a handoff
    sam.handle(EventType.CONTACT_UPSERTED, SAM, {"anonymous_id": "anon-42", "user_id": "user-42"})
    # Sam gives a phone number and a last name, which no fit rule reads
    sam.handle(EventType.CONTACT_UPSERTED, SAM, {"traits": {"phone": "+1 415 555 0100", "last_name": "Okafor"}})
    # Weeks of engagement meet every MQL criterion
    for _ in range(6):
        sam.engage(SAM, "email_click")
        sam.clock.advance(timedelta(days=1))
    for piece in ("RevOps guide", "Pipeline report", "Attribution 101"):
        sam.engage(SAM, "content_download", name=piece)
    for _ in range(5):
        sam.engage(SAM, "page_view", path="/blog")
        sam.clock.advance(timedelta(hours=2))
    # Sales accept the handoff, and an admin undoes the merge
    sam.handle(EventType.HANDOFF_ACCEPTED, SAM, {"lead_id": captured})
    sam.service.unmerge(captured)
    return sam.published


def _by_type(events: list[LeadEvent]) -> dict[LeadEventType, list[LeadEvent]]:
    found: dict[LeadEventType, list[LeadEvent]] = defaultdict(list)
    for event in events:
        found[event.event_type].append(event)
    return found


def test_the_journey_publishes_every_lead_event_type(journey: list[LeadEvent]) -> None:
    assert set(_by_type(journey)) == set(LeadEventType)


def test_every_type_is_described() -> None:
    assert set(LEAD_EVENT_TYPES) == set(LeadEventType)
    for event_type in LeadEventType:
        assert describe(event_type).described
        assert set(describe(event_type).sets) <= set(TYPE_SPECIFIC_FIELDS)


def test_every_published_lead_event_matches_its_registry_schema(journey: list[LeadEvent]) -> None:
    for event in journey:
        delivered = eventbridge_event(event, event_id="6a7b8c9d-0000-4000-8000-000000000003")
        errors = [e.message for e in Draft4Validator(event_schema(event.event_type)).iter_errors(delivered)]
        assert errors == [], event.event_type


@pytest.mark.parametrize("event_type", list(LeadEventType), ids=str)
def test_each_type_sets_the_fields_the_taxonomy_lists_and_no_other_type_specific_one(
    event_type: LeadEventType, journey: list[LeadEvent]
) -> None:
    sets = describe(event_type).sets
    published = _by_type(journey)[event_type]
    for event in published:
        # Fields the taxonomy does not list for the type are null on every event of it
        unlisted = {name: getattr(event, name) for name in TYPE_SPECIFIC_FIELDS if name not in sets}
        assert {name: value for name, value in unlisted.items() if value is not None} == {}, event.reason
        # Every lead event says why, and where the lead stands
        assert event.reason
        assert event.stage in {stage.value for stage in Stage}
    # Each field it lists is set on some event of the type (some only where they apply)
    for name in sets:
        assert any(getattr(event, name) is not None for event in published), f"{event_type}: {name} never set"


@pytest.mark.parametrize("event_type", list(LeadEventType), ids=str)
def test_each_example_sets_exactly_the_fields_its_type_sets(event_type: LeadEventType) -> None:
    example = example_event(event_type)
    sets = describe(event_type).sets
    assert example.event_type is event_type
    assert {name for name in TYPE_SPECIFIC_FIELDS if getattr(example, name) is not None} == set(sets)
    assert example.reason
    assert example.stage in {stage.value for stage in Stage}


def test_the_stage_description_names_every_stage() -> None:
    description = LeadEvent.model_fields["stage"].description or ""
    assert all(f"`{stage.value}`" in description for stage in Stage)
