"""The lead service fed with vendor webhooks as the vendors' own adapters normalize them, over in-memory
adapters and wired as the lead processor is (the shipped scoring model and CRM mappings): what journey tests
at the unit tier drive."""

from __future__ import annotations

import itertools
import json
from datetime import datetime
from typing import Any

from shared.crm.account_owners import MappedAccountOwners
from shared.crm.mappings import load_crm_mappings
from shared.events.canonical import CanonicalEvent
from shared.events.lead_events import LeadEventType
from shared.leads.capture import LeadCapture
from shared.leads.crm_changes import synced_profile_fields
from shared.leads.scoring_models import ScoringModels
from shared.leads.service import LeadService
from shared.scoring.model import ScoringModel, load_model
from shared.webhooks.model import InboundWebhook
from shared.webhooks.normalizers import normalize
from shared.webhooks.registry import TRACKING_API, VENDORS
from shared.webhooks.vendor import DeliveryContext
from tests.fakes import FixedClock, InMemoryLeadRepository, InMemoryScoringModelStore, RecordingPublisher

MODEL = load_model()
MAPPINGS = load_crm_mappings()
# What the shipped CRM mappings let the CRM sync decide (the lead processor's wiring, shared.wiring.lead_service)
SHIPPED_SYNCED_FIELDS = synced_profile_fields(m.hub_field for m in MAPPINGS.fields("contact") if m.inbound)
ICP_FIELDS: dict[str, Any] = {"industry": "Software", "employee_count": 500, "country": "US"}


def normalized(
    vendor: str, body: Any, at: datetime, n: int, url: str = "https://hub.example/webhooks"
) -> list[CanonicalEvent]:
    """The canonical events the gateway makes of a vendor's webhook body (its `n`th delivery, received at `at`)."""
    adapter = TRACKING_API if vendor == "segment_api" else VENDORS[vendor]
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = InboundWebhook(vendor, "POST", url, {}, raw, "request-1")
    context = DeliveryContext(f"delivery-{n}", "request-1", at)
    return [normalize(adapter.name, event, context) for event in adapter.parse(request)]


def hubspot_change(
    object_id: int, prop: str, value: Any, at: datetime, n: int, subscription: str = "contact.propertyChange"
) -> list[dict[str, Any]]:
    """A HubSpot webhook body of one property change (event id `n`, occurred at `at`)."""
    return [
        {
            "eventId": n,
            "subscriptionId": 1,
            "portalId": 62515,
            "occurredAt": int(at.timestamp() * 1000),
            "subscriptionType": subscription,
            "attemptNumber": 0,
            "objectId": object_id,
            "propertyName": prop,
            "propertyValue": value,
        }
    ]


class Hub:
    """The lead service fed with canonical events made by the vendors' own adapters."""

    def __init__(self, store: InMemoryScoringModelStore | None = None, model: ScoringModel = MODEL) -> None:
        self.clock = FixedClock()
        self.bus = RecordingPublisher()
        self.repo = InMemoryLeadRepository(self.bus)
        self.store = store
        counter = itertools.count(1)
        self.service = LeadService(
            self.repo,
            ScoringModels(model, store),
            self.clock,
            lambda: f"id-{next(counter):04d}",
            crm_synced_fields=SHIPPED_SYNCED_FIELDS,
            account_owners=MappedAccountOwners(MAPPINGS),
        )
        self._deliveries = itertools.count(1)

    def deliver(self, vendor: str, body: Any, url: str = "https://hub.example/webhooks") -> list[CanonicalEvent]:
        events = normalized(vendor, body, self.clock.now(), next(self._deliveries), url)
        for event in events:
            self.service.handle(event)
        return events

    def segment(self, call: str, **message: Any) -> None:
        n = next(self._deliveries)
        body = {"type": call, "messageId": f"m-{n}", "timestamp": self.clock.now().isoformat(), **message}
        self.deliver("segment_api", body, url=f"https://hub.example/v1/{call}")

    def stripe(self, event_type: str, obj: dict[str, Any]) -> None:
        n = next(self._deliveries)
        created = int(self.clock.now().timestamp())
        self.deliver(
            "stripe",
            {"id": f"evt_{n}", "object": "event", "type": event_type, "created": created, "data": {"object": obj}},
        )

    def hubspot(
        self, object_id: int, prop: str, value: Any, subscription: str = "contact.propertyChange"
    ) -> list[CanonicalEvent]:
        body = hubspot_change(object_id, prop, value, self.clock.now(), next(self._deliveries), subscription)
        return self.deliver("hubspot", body)

    def lead(self, email: str) -> Any:
        contact = self.service.find_by_email(email)
        assert contact is not None, f"no lead for {email}"
        return contact

    def capture(self, email: str, **fields: Any) -> str:
        values = {"company": "Acme", "job_title": "VP of Sales", **fields}
        outcome = self.service.capture(LeadCapture(email=email, source="web form", **values))
        assert outcome.contact_id
        return outcome.contact_id

    def handoffs(self) -> list[Any]:
        return [e for e in self.bus.published if e.event_type is LeadEventType.HANDOFF_REQUESTED]

    def kinds(self, email: str) -> list[str]:
        return [line.kind for line in self.service.score_of(self.lead(email)).engagement_lines]
