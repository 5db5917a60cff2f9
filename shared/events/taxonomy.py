"""What each canonical event type means, which vendor events become it, and an example of it.

Hand-maintained prose for the schema registry descriptions and `docs/events.md`. The vendor adapters in
`shared/webhooks/vendors/` are the authority on mappings; this table describes them for readers and is not
imported by them (nor does it import them). A type missing here is still published, registered and
documented, flagged as not described yet; add it here when adding it to `EventType`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from shared.events.canonical import CanonicalEvent, EventType, Subject


@dataclass(frozen=True)
class Emitter:
    """Vendor events the hub maps onto a canonical type (`condition`: when only some of them do)."""

    vendor: str
    vendor_event_types: tuple[str, ...]
    condition: str = ""


@dataclass(frozen=True)
class Example:
    vendor: str
    vendor_event_type: str
    vendor_event_id: str | None
    subject: Subject = field(default_factory=Subject)
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EventTypeInfo:
    meaning: str
    emitters: tuple[Emitter, ...] = ()
    example: Example | None = None
    described: bool = True


NOT_DESCRIBED = EventTypeInfo(
    meaning="Not described yet: add it to `EVENT_TYPES` in `shared/events/taxonomy.py`.", described=False
)

_HUBSPOT_PORTAL = 62515
_STRIPE_CUSTOMER = "stripe:cus_Q1a2b3c4"
_STRIPE_EMAIL = "billing@example.com"


def _deal_stage(stage: str) -> dict[str, Any]:
    return {
        "action": "propertyChange",
        "property": "dealstage",
        "value": stage,
        "change_source": "CRM_UI",
        "portal_id": _HUBSPOT_PORTAL,
        "stage": stage,
    }


def _deal_example(stage: str) -> Example:
    return Example("hubspot", "deal.propertyChange", "1004", Subject(deal_id="hubspot:7001"), _deal_stage(stage))


EVENT_TYPES: Mapping[EventType, EventTypeInfo] = MappingProxyType(
    {
        EventType.CONTACT_UPSERTED: EventTypeInfo(
            meaning="A person was created or changed in a CRM or marketing tool; `data` says what changed.",
            emitters=(
                Emitter("hubspot", ("contact.creation", "contact.propertyChange", "contact.merge", "contact.restore")),
            ),
            example=Example(
                "hubspot",
                "contact.propertyChange",
                "1001",
                Subject(contact_id="hubspot:501", email="ada@example.com"),
                {
                    "action": "propertyChange",
                    "property": "email",
                    "value": "ada@example.com",
                    "change_source": "CRM_UI",
                    "portal_id": _HUBSPOT_PORTAL,
                },
            ),
        ),
        EventType.ACCOUNT_UPSERTED: EventTypeInfo(
            meaning="A company or paying customer was created or changed.",
            emitters=(
                Emitter("hubspot", ("company.creation", "company.propertyChange", "company.merge", "company.restore")),
                Emitter("stripe", ("customer.created", "customer.updated")),
            ),
            example=Example(
                "stripe",
                "customer.updated",
                "evt_1QExampleCustomer",
                Subject(account_id=_STRIPE_CUSTOMER, email=_STRIPE_EMAIL),
                {"name": "Example Ltd", "email": _STRIPE_EMAIL, "livemode": False},
            ),
        ),
        EventType.ENGAGEMENT_RECORDED: EventTypeInfo(
            meaning="A person engaged with marketing or sales: opened or clicked an email, viewed a page, submitted "
            "a form, booked a meeting, signed up for a trial, ...",
        ),
        EventType.DEAL_STAGE_CHANGED: EventTypeInfo(
            meaning="A deal moved to another pipeline stage that neither wins nor loses it.",
            emitters=(
                Emitter("hubspot", ("deal.propertyChange",), "of `dealstage`, to a stage other than closed won/lost"),
            ),
            example=_deal_example("contractsent"),
        ),
        EventType.DEAL_WON: EventTypeInfo(
            meaning="A deal was closed won.",
            emitters=(Emitter("hubspot", ("deal.propertyChange",), "of `dealstage` to `closedwon`"),),
            example=_deal_example("closedwon"),
        ),
        EventType.DEAL_LOST: EventTypeInfo(
            meaning="A deal was closed lost.",
            emitters=(Emitter("hubspot", ("deal.propertyChange",), "of `dealstage` to `closedlost`"),),
            example=_deal_example("closedlost"),
        ),
        EventType.PAYMENT_SUCCEEDED: EventTypeInfo(
            meaning="A customer paid: an invoice, a payment intent, a charge or a checkout. Amounts are in the "
            "currency's minor unit.",
            emitters=(
                Emitter(
                    "stripe",
                    ("invoice.paid", "invoice.payment_succeeded", "payment_intent.succeeded", "charge.succeeded"),
                ),
                Emitter("stripe", ("checkout.session.completed",), "when its `payment_status` is `paid`"),
            ),
            example=Example(
                "stripe",
                "invoice.paid",
                "evt_1QExampleInvoice",
                Subject(account_id=_STRIPE_CUSTOMER, email=_STRIPE_EMAIL),
                {
                    "object": "invoice",
                    "object_id": "in_1QExample",
                    "amount_minor": 4900,
                    "currency": "usd",
                    "invoice_id": "in_1QExample",
                    "subscription_id": "sub_1QExample",
                    "livemode": False,
                },
            ),
        ),
        EventType.PAYMENT_FAILED: EventTypeInfo(
            meaning="A customer's payment failed; `data.failure_reason` says why when the vendor does.",
            emitters=(Emitter("stripe", ("invoice.payment_failed", "payment_intent.payment_failed", "charge.failed")),),
            example=Example(
                "stripe",
                "charge.failed",
                "evt_1QExampleCharge",
                Subject(account_id=_STRIPE_CUSTOMER, email=_STRIPE_EMAIL),
                {
                    "object": "charge",
                    "object_id": "ch_1QExample",
                    "amount_minor": 4900,
                    "currency": "usd",
                    "invoice_id": "in_1QExample",
                    "subscription_id": None,
                    "livemode": False,
                    "failure_reason": "Your card was declined.",
                },
            ),
        ),
        EventType.SUBSCRIPTION_CHANGED: EventTypeInfo(
            meaning="A subscription was created, changed, paused, resumed or cancelled; `data.change` says which "
            "and `data.previous_status` what it was.",
            emitters=(Emitter("stripe", ("customer.subscription.*",)),),
            example=Example(
                "stripe",
                "customer.subscription.updated",
                "evt_1QExampleSubscription",
                Subject(account_id=_STRIPE_CUSTOMER),
                {
                    "change": "updated",
                    "subscription_id": "sub_1QExample",
                    "status": "past_due",
                    "previous_status": "active",
                    "items": [{"price_id": "price_1QExample", "quantity": 5}],
                    "cancel_at_period_end": False,
                    "current_period_end": 1767225600,
                },
            ),
        ),
        EventType.SUPPORT_TICKET_OPENED: EventTypeInfo(meaning="A customer opened a support ticket."),
        EventType.SUPPORT_TICKET_SOLVED: EventTypeInfo(meaning="A support ticket was solved."),
        EventType.SURVEY_RESPONDED: EventTypeInfo(meaning="A person answered a survey (NPS, CSAT, ...)."),
        EventType.PRODUCT_USAGE_REPORTED: EventTypeInfo(
            meaning="Product usage of a user or account was reported by a product analytics tool."
        ),
        EventType.HANDOFF_ACCEPTED: EventTypeInfo(
            meaning="A lead or account handed over between teams (marketing to sales, sales to customer success) "
            "was accepted by its new owner."
        ),
        EventType.VENDOR_UNMAPPED: EventTypeInfo(
            meaning="A verified vendor event the hub does not map to a canonical type yet. It is kept and published, "
            "never dropped: `data.payload` holds the vendor's event as received.",
            emitters=(
                Emitter("hubspot", ("*",), "any other subscription type"),
                Emitter("stripe", ("*",), "any other event type"),
            ),
            example=Example(
                "hubspot",
                "contact.associationChange",
                "1005",
                Subject(),
                {
                    "payload": {
                        "eventId": 1005,
                        "subscriptionId": 3001,
                        "portalId": _HUBSPOT_PORTAL,
                        "occurredAt": 1736933400000,
                        "subscriptionType": "contact.associationChange",
                        "attemptNumber": 0,
                        "objectId": 501,
                        "changeSource": "CRM_UI",
                    }
                },
            ),
        ),
    }
)


def describe(event_type: EventType) -> EventTypeInfo:
    return EVENT_TYPES.get(event_type, NOT_DESCRIBED)


# Fixed values, so the examples (and the document built from them) are the same on every run.
EXAMPLE_OCCURRED_AT = datetime(2025, 1, 15, 9, 30, 0, tzinfo=UTC)
EXAMPLE_RECEIVED_AT = datetime(2025, 1, 15, 9, 30, 2, 250000, tzinfo=UTC)
EXAMPLE_DELIVERY_ID = "0b9f5a7e-3c1d-4e2f-8a6b-5d4c3b2a1f00"
EXAMPLE_CORRELATION_ID = "c7d8e9f0-1a2b-4c3d-9e8f-7a6b5c4d3e2f"
NO_VENDOR_EXAMPLE = Example("example", "example.event", None)


def example_event(event_type: EventType) -> CanonicalEvent:
    """A deterministic canonical event of `event_type`, as the gateway would publish it."""
    example = describe(event_type).example or NO_VENDOR_EXAMPLE
    return CanonicalEvent(
        event_id=CanonicalEvent.id_for(example.vendor, example.vendor_event_id or f"example:{event_type.value}"),
        event_type=event_type,
        occurred_at=EXAMPLE_OCCURRED_AT,
        received_at=EXAMPLE_RECEIVED_AT,
        source_vendor=example.vendor,
        vendor_event_id=example.vendor_event_id,
        vendor_event_type=example.vendor_event_type,
        subject=example.subject,
        data=dict(example.data),
        correlation_id=EXAMPLE_CORRELATION_ID,
        delivery_id=EXAMPLE_DELIVERY_ID,
    )
