"""Canonical events: the one envelope every vendor's webhook is normalized into before it reaches the bus.

The taxonomy is versioned by `SCHEMA_VERSION`; consumers match on `detail-type` (the event type) and may
rely on every field of `CanonicalEvent`. Vendor-specific ids travel as `"<vendor>:<id>"` strings in
`subject` so identity resolution can tie them to hub contacts, accounts and deals later.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.catalog import webhooks
from shared.events.ids import event_id
from shared.events.types import EngagementKind as EngagementKind  # re-exported: the taxonomy's home
from shared.events.types import EventType as EventType

WEBHOOK_EVENT_SOURCE = webhooks.EVENT_SOURCE  # the catalog names every source the hub publishes

SCHEMA_VERSION = "1.0"


class Subject(BaseModel):
    """Who the event is about, as the vendor names them (`"<vendor>:<id>"`), plus an email when known."""

    model_config = ConfigDict(frozen=True)

    contact_id: str | None = Field(
        default=None, description='The person, as `"<vendor>:<id>"` (e.g. `"hubspot:501"`); null when not known.'
    )
    account_id: str | None = Field(
        default=None,
        description='The company or customer account, as `"<vendor>:<id>"` (e.g. `"stripe:cus_123"`); '
        "null when not known.",
    )
    deal_id: str | None = Field(
        default=None, description='The deal or opportunity, as `"<vendor>:<id>"`; null when the event is about none.'
    )
    email: str | None = Field(default=None, description="The person's email address when the vendor sent one.")


class CanonicalEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    event_id: str = Field(
        description="Deterministic UUID of the vendor event: a retried or re-published vendor event keeps its id, "
        "so consumers de-duplicate on it. A Segment message has one id whether it came through the tracking API "
        "or Segment's webhook destination (and is published once)."
    )
    event_type: EventType = Field(description="What happened; the same value as the EventBridge `detail-type`.")
    schema_version: str = Field(
        default=SCHEMA_VERSION, description="Version of this envelope and of the event-type taxonomy."
    )
    occurred_at: datetime = Field(
        description="When it happened at the vendor (ISO 8601); the receipt time when the vendor does not say. "
        "Also the EventBridge event's `time`."
    )
    received_at: datetime = Field(description="When the hub received the webhook delivery (ISO 8601).")
    source_vendor: str = Field(
        description="The vendor that sent it, as in `POST /webhooks/{vendor}`: `stripe`, `hubspot`, ..."
    )
    vendor_event_id: str | None = Field(
        description="The vendor's own id of the event (Stripe `evt_...`, HubSpot `eventId`); null when it has none."
    )
    vendor_event_type: str = Field(
        description="The vendor's own name of the event (`invoice.paid`, `contact.propertyChange`, ...)."
    )
    subject: Subject = Field(default_factory=Subject, description="Who the event is about.")
    data: dict[str, Any] = Field(
        default_factory=dict,
        description="Type-specific payload normalized from the vendor event; empty when `data_by_reference` is true.",
    )
    correlation_id: str = Field(
        description="Id of the HTTP request that delivered the webhook (the API Gateway request id), for tracing."
    )
    delivery_id: str = Field(
        description="Id of the delivery in the hub's webhook delivery log (`GET /api/v1/webhooks/deliveries`), "
        "which keeps the raw body."
    )
    data_by_reference: bool = Field(
        default=False,
        description="True when the event was too large for EventBridge and travels without `data`: fetch the stored "
        "delivery `delivery_id` instead.",
    )

    def by_reference(self) -> CanonicalEvent:
        """This event without its data, for events too large for the bus: consumers fetch the stored
        delivery `delivery_id` instead."""
        return self.model_copy(update={"data": {}, "data_by_reference": True})

    @staticmethod
    def id_for(namespace: str, dedupe_key: str) -> str:
        """Deterministic: see `shared.events.ids.event_id`, which computes it without this model. `namespace` is
        the vendor's de-duplication namespace (its name, but `segment_api` for both of Segment's ways in)."""
        return event_id(namespace, dedupe_key)
