"""Event families: one per source the hub publishes on its bus, with what consumers need to know of it.

A family is the unit the schema registry (`shared/events/schemas.py`, `infra/event_schemas.py`) and the event
catalog (`shared/events/catalog_doc.py`) iterate over: its `source`, the pydantic model of `detail`, the enum
of its types (each the `detail-type` and `detail.event_type`), what each type means, an example `detail` of
each, and the version of its schema. A domain that publishes under a new source adds a family to `FAMILIES`
(and its source to `CATALOG.event_sources`; a unit test holds the two to each other); nothing else changes
for its events to be registered and documented.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel

from shared.events import (
    attribution_taxonomy,
    finance_taxonomy,
    handoff_taxonomy,
    lead_taxonomy,
    success_taxonomy,
    sync_taxonomy,
    taxonomy,
)
from shared.events.attribution_events import (
    ATTRIBUTION_EVENT_SOURCE,
    ATTRIBUTION_SCHEMA_VERSION,
    AttributionEvent,
    AttributionEventType,
)
from shared.events.canonical import SCHEMA_VERSION, WEBHOOK_EVENT_SOURCE, CanonicalEvent, EventType
from shared.events.finance_events import (
    FINANCE_EVENT_SOURCE,
    FINANCE_SCHEMA_VERSION,
    FinanceEvent,
    FinanceEventType,
)
from shared.events.handoff_events import HANDOFF_EVENT_SOURCE, HANDOFF_SCHEMA_VERSION, HandoffEvent, HandoffEventType
from shared.events.lead_events import LEAD_EVENT_SOURCE, LEAD_SCHEMA_VERSION, LeadEvent, LeadEventType
from shared.events.success_events import SUCCESS_EVENT_SOURCE, SUCCESS_SCHEMA_VERSION, SuccessEvent, SuccessEventType
from shared.events.sync_events import SYNC_EVENT_SOURCE, SYNC_SCHEMA_VERSION, SyncEvent, SyncEventType

# What the schemas and the EventBridge envelope need of every detail model.
REQUIRED_DETAIL_FIELDS = frozenset({"event_id", "event_type", "occurred_at"})


class PublishedEvent(Protocol):
    """An event as its domain puts it on the bus: the `detail`, with what the envelope is made of."""

    @property
    def event_type(self) -> StrEnum: ...

    @property
    def occurred_at(self) -> datetime: ...

    def model_dump_json(self) -> str: ...


@dataclass(frozen=True)
class EventFamily:
    source: str
    name: str  # what one event is called, in lower case: "lead event"
    publisher: str  # who puts them on the bus: "the hub's lead domain"
    summary: str  # one paragraph of Markdown: what the events are about, and when they are published
    detail_model: type[BaseModel]
    event_types: type[StrEnum]
    schema_version: str
    meaning: Callable[[StrEnum], str]
    example: Callable[[StrEnum], PublishedEvent]  # an event of that type, as its domain publishes it
    described: Callable[[StrEnum], bool]  # false: `meaning` and `example` are placeholders

    def __post_init__(self) -> None:
        fields = self.detail_model.model_fields
        missing = sorted(REQUIRED_DETAIL_FIELDS - set(fields))
        if missing:
            raise ValueError(f"{self.source}: {self.detail_model.__name__} lacks {missing}")
        if fields["event_type"].annotation is not self.event_types:
            raise ValueError(f"{self.source}: {self.detail_model.__name__}.event_type is not a {self.event_types}")

    @property
    def label(self) -> str:
        """`name` starting a sentence: "Lead event"."""
        return self.name[:1].upper() + self.name[1:]

    @property
    def title(self) -> str:
        """The family's heading: "Lead events"."""
        return f"{self.label}s"

    @property
    def types(self) -> tuple[StrEnum, ...]:
        return tuple(self.event_types)


WEBHOOK_EVENTS = EventFamily(
    source=WEBHOOK_EVENT_SOURCE,
    name="canonical event",
    publisher="the hub's webhook gateway",
    summary="Every vendor webhook the hub accepts, and every call to its Segment-compatible tracking API, leaves "
    "as canonical events: one envelope for every vendor, `data` normalized from the vendor's event.",
    detail_model=CanonicalEvent,
    event_types=EventType,
    schema_version=SCHEMA_VERSION,
    meaning=lambda event_type: taxonomy.describe(EventType(event_type)).meaning,
    example=lambda event_type: taxonomy.example_event(EventType(event_type)),
    described=lambda event_type: taxonomy.describe(EventType(event_type)).described,
)

LEAD_EVENTS = EventFamily(
    source=LEAD_EVENT_SOURCE,
    name="lead event",
    publisher="the hub's lead domain",
    summary="What happened to a lead: its score, its lifecycle stage, a handoff to sales, a merge or unmerge of "
    "two contacts. They are made as canonical events change leads (`lead_processor`), on lead capture and "
    "unmerge (`leads_api`), every hour (`lead_nurture`) and when `make rescore` applies a scoring model; each is "
    "stored in the same transaction as the change that made it (the lead table's outbox) and `lead_publisher` "
    "puts it on the bus from the table's stream, so an event goes out exactly when its change was stored. Every "
    "event carries the lead as it is after the change (`lead_id`, `email`, `stage`, the scores, "
    "`model_version`) and a `reason`; the other fields are set by some types only.",
    detail_model=LeadEvent,
    event_types=LeadEventType,
    schema_version=LEAD_SCHEMA_VERSION,
    meaning=lambda event_type: lead_taxonomy.describe(LeadEventType(event_type)).meaning,
    example=lambda event_type: lead_taxonomy.example_event(LeadEventType(event_type)),
    described=lambda event_type: lead_taxonomy.describe(LeadEventType(event_type)).described,
)

HANDOFF_EVENTS = EventFamily(
    source=HANDOFF_EVENT_SOURCE,
    name="handoff event",
    publisher="the hub's handoff domain",
    summary="Who got a lead (or a won customer), when they took it, and what the hub did when a deadline passed. "
    "`handoff_router` publishes them as it routes lead.handoff_requested and applies Slack clicks, "
    "`handoffs_api` on accept, reject and a lead's first touch, `handoff_timers` when an SLA deadline or a reminder "
    "comes due. Every event carries `handoff_id`, `lead_id`, `priority`, `rep_id`, `team` and `status`; one event "
    "per stored transition, its id derived from the transition.",
    detail_model=HandoffEvent,
    event_types=HandoffEventType,
    schema_version=HANDOFF_SCHEMA_VERSION,
    meaning=lambda event_type: handoff_taxonomy.describe(HandoffEventType(event_type)).meaning,
    example=lambda event_type: handoff_taxonomy.example_event(HandoffEventType(event_type)),
    described=lambda event_type: handoff_taxonomy.describe(HandoffEventType(event_type)).described,
)

FINANCE_EVENTS = EventFamily(
    source=FINANCE_EVENT_SOURCE,
    name="finance event",
    publisher="the hub's finance domain",
    summary="Every spend line the ledger accepts, and every budget threshold crossed or forecast overrun. "
    "`finance_api` publishes them as spend is recorded and budgets change. Money is decimal strings: as paid "
    "(`amount`, `currency`) and in the company currency (`company_amount`, `budget`, `actual`, `forecast`).",
    detail_model=FinanceEvent,
    event_types=FinanceEventType,
    schema_version=FINANCE_SCHEMA_VERSION,
    meaning=lambda event_type: finance_taxonomy.describe(FinanceEventType(event_type)).meaning,
    example=lambda event_type: finance_taxonomy.example_event(FinanceEventType(event_type)),
    described=lambda event_type: finance_taxonomy.describe(FinanceEventType(event_type)).described,
)

ATTRIBUTION_EVENTS = EventFamily(
    source=ATTRIBUTION_EVENT_SOURCE,
    name="attribution event",
    publisher="the hub's attribution domain",
    summary="Every conversion credited to its journey's touches under every model, and every new fit of the "
    "data-driven model. `attribution_recorder` publishes `conversion.attributed` as won deals and first payments "
    "arrive; the `attribution-data-driven` schedule publishes `attribution.model_fitted`. Money is decimal "
    "strings in the company currency.",
    detail_model=AttributionEvent,
    event_types=AttributionEventType,
    schema_version=ATTRIBUTION_SCHEMA_VERSION,
    meaning=lambda event_type: attribution_taxonomy.describe(AttributionEventType(event_type)).meaning,
    example=lambda event_type: attribution_taxonomy.example_event(AttributionEventType(event_type)),
    described=lambda event_type: attribution_taxonomy.describe(AttributionEventType(event_type)).described,
)

SUCCESS_EVENTS = EventFamily(
    source=SUCCESS_EVENT_SOURCE,
    name="customer success event",
    publisher="the hub's customer success domain",
    summary="Every change of an account's health, and every account that becomes a churn risk. "
    "`success_recorder` publishes them as signals arrive (usage, tickets, NPS answers, payments, subscriptions, "
    "CSM touches); the `success-nightly` schedule publishes the changes time alone makes. Scores are 0-100 to "
    "two decimals, as lead scores are.",
    detail_model=SuccessEvent,
    event_types=SuccessEventType,
    schema_version=SUCCESS_SCHEMA_VERSION,
    meaning=lambda event_type: success_taxonomy.describe(SuccessEventType(event_type)).meaning,
    example=lambda event_type: success_taxonomy.example_event(SuccessEventType(event_type)),
    described=lambda event_type: success_taxonomy.describe(SuccessEventType(event_type)).described,
)

SYNC_EVENTS = EventFamily(
    source=SYNC_EVENT_SOURCE,
    name="CRM sync event",
    publisher="the hub's CRM sync",
    summary="What the CRM sync decided: a CRM's change applied to the hub's record, a conflict on a critical field "
    "flagged for a person and its resolution, and each reconciliation run's counts. `crm_sync_recorder` publishes "
    "them as HubSpot's and Salesforce's webhooks arrive, `crm_sync_api` on a resolution, the `crm-sync-reconcile` "
    "schedule after each run. Records are `contact:<lead_id>`, `account:<account_id>`, `deal:<deal_id>`; fields are "
    "the hub's names of `config/crm-mappings.json`. The lead processor takes a lead's synced profile fields (email, "
    "name, company, title, phone, country) from `sync.field_changed` and `sync.conflict_resolved` of `contact:` "
    "records, never straight from a CRM's webhook once the lead has an email: only the sync tells a person's change "
    "from an echo of the hub's own write, and a critical field's conflict changes the lead only once resolved.",
    detail_model=SyncEvent,
    event_types=SyncEventType,
    schema_version=SYNC_SCHEMA_VERSION,
    meaning=lambda event_type: sync_taxonomy.describe(SyncEventType(event_type)).meaning,
    example=lambda event_type: sync_taxonomy.example_event(SyncEventType(event_type)),
    described=lambda event_type: sync_taxonomy.describe(SyncEventType(event_type)).described,
)

# In the order the catalog documents them.
FAMILIES: tuple[EventFamily, ...] = (
    WEBHOOK_EVENTS,
    LEAD_EVENTS,
    HANDOFF_EVENTS,
    FINANCE_EVENTS,
    ATTRIBUTION_EVENTS,
    SUCCESS_EVENTS,
    SYNC_EVENTS,
)


def family(source: str) -> EventFamily:
    """The family of events published under `source`."""
    for candidate in FAMILIES:
        if candidate.source == source:
            return candidate
    raise LookupError(f"no event family publishes under {source!r}: add one to FAMILIES in shared/events/families.py")


def family_of(event_type: StrEnum) -> EventFamily:
    """The family whose enum `event_type` belongs to (by enum, not value: two sources may share a type name)."""
    for candidate in FAMILIES:
        if type(event_type) is candidate.event_types:
            return candidate
    raise LookupError(f"{event_type!r} is no family's event type: add its family to shared/events/families.py")
