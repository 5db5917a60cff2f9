"""What each canonical event type means, which vendor events become it, and an example of it.

Hand-maintained prose for the schema registry descriptions and `docs/events.md` (it is the canonical event
family's, `shared/events/families.py`). The vendor normalizers in `shared/webhooks/normalizers/` are the
authority on mappings; this table describes them for readers and is not imported by them (nor does it import
them). A type missing here is still published, registered and documented, flagged as not described yet; add
it here when adding it to `EventType`.

`tests/unit/test_event_taxonomy.py` holds this table to the normalizers: every registered vendor must emit
something here, every `Emitter` must name a registered vendor, and every vendor event type it lists must
normalize to the type it is listed under.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from shared.events.canonical import CanonicalEvent, EngagementKind, EventType, Subject


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
_ZENDESK_REQUESTER = "6596848315901"
_ZENDESK_ORGANIZATION = "8800"

# Segment's spec event names the hub reads as a particular engagement kind (`TRACK_KINDS` in
# shared/webhooks/normalizers/segment.py, which compares them case-insensitively).
_SEGMENT_TRACK_KINDS = (
    ("Demo Requested", EngagementKind.DEMO_REQUEST),
    ("Trial Started", EngagementKind.TRIAL_SIGNUP),
    ("Signed Up", EngagementKind.TRIAL_SIGNUP),
    ("Form Submitted", EngagementKind.FORM_SUBMIT),
    ("Email Opened", EngagementKind.EMAIL_OPEN),
    ("Email Link Clicked", EngagementKind.EMAIL_CLICK),
    ("Webinar Attended", EngagementKind.WEBINAR_ATTENDED),
    ("Content Downloaded", EngagementKind.CONTENT_DOWNLOAD),
    ("File Downloaded", EngagementKind.CONTENT_DOWNLOAD),
    ("Meeting Booked", EngagementKind.MEETING_BOOKED),
    ("Pricing Page Viewed", EngagementKind.PRICING_PAGE_VISIT),
)
_SEGMENT_TRACK_CONDITION = (
    "as the kind its event name (any case) stands for: "
    + ", ".join(f"`{name}` → `{kind.value}`" for name, kind in _SEGMENT_TRACK_KINDS)
    + f"; any other name → `{EngagementKind.TRACK.value}`"
)


def _segment(vendor_event_types: tuple[str, ...], condition: str = "") -> tuple[Emitter, Emitter]:
    """Segment's webhook destination (`segment`) and the Segment-compatible tracking API (`segment_api`) share
    one normalization, so they emit the same types from the same messages."""
    return Emitter("segment", vendor_event_types, condition), Emitter("segment_api", vendor_event_types, condition)


def _standard(event_type: EventType) -> Emitter:
    """A Standard Webhooks sender publishes any canonical type but vendor.unmapped by naming it as its `type`."""
    return Emitter(
        "standard",
        (event_type.value,),
        "(the sender's `type`, taken at its word; `data` is published as sent)",
    )


def _deal_stage(stage: str) -> dict[str, Any]:
    return {
        "action": "propertyChange",
        "property": "dealstage",
        "value": stage,
        "change_source": "CRM_UI",
        "source_id": "userId:1234",
        "portal_id": _HUBSPOT_PORTAL,
        "stage": stage,
    }


def _deal_example(stage: str) -> Example:
    return Example("hubspot", "deal.propertyChange", "1004", Subject(deal_id="hubspot:7001"), _deal_stage(stage))


def _zendesk_ticket(status: str) -> dict[str, Any]:
    return {
        "ticket_id": "35436",
        "subject": "Cannot export invoices",
        "status": status,
        "priority": "HIGH",
        "type": "INCIDENT",
        "channel": "web_form",
        "tags": ["billing"],
        "requester_id": _ZENDESK_REQUESTER,
        "assignee_id": "6596848316002",
        "group_id": "7700",
        "organization_id": _ZENDESK_ORGANIZATION,
    }


_ZENDESK_SUBJECT = Subject(contact_id=f"zendesk:{_ZENDESK_REQUESTER}", account_id=f"zendesk:{_ZENDESK_ORGANIZATION}")


EVENT_TYPES: Mapping[EventType, EventTypeInfo] = MappingProxyType(
    {
        EventType.CONTACT_UPSERTED: EventTypeInfo(
            meaning="A person (contact, lead or user) was created or changed in a CRM, support or messaging tool, "
            "or identified by a website or app. `data` is what the vendor sent about them; its shape depends on the "
            "vendor.",
            emitters=(
                Emitter(
                    "hubspot",
                    ("contact.creation", "contact.propertyChange", "contact.merge", "contact.restore"),
                    "(a change of `associatedcompanyid` names the account as `hubspot:<company id>`; one of "
                    "`num_conversion_events` is a form submission, see `engagement.recorded`)",
                ),
                Emitter("salesforce", ("Lead", "Contact"), "(outbound messages, named by their sObject type)"),
                *_segment(("identify", "alias")),
                Emitter("zendesk", ("user.created",), "(new users only, of any role: agents and admins too)"),
                Emitter(
                    "intercom", ("contact.user.created", "contact.lead.created", "user.created"), "(new contacts only)"
                ),
                _standard(EventType.CONTACT_UPSERTED),
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
                    "source_id": "userId:1234",
                    "portal_id": _HUBSPOT_PORTAL,
                },
            ),
        ),
        EventType.ACCOUNT_UPSERTED: EventTypeInfo(
            meaning="A company or paying customer account was created or changed. `data` is what the vendor sent "
            "about it; its shape depends on the vendor.",
            emitters=(
                Emitter("hubspot", ("company.creation", "company.propertyChange", "company.merge", "company.restore")),
                Emitter("salesforce", ("Account",), "(outbound messages, named by their sObject type)"),
                Emitter(
                    "stripe",
                    ("customer.created", "customer.updated"),
                    "(the customer `stripe:<cus id>` is both the account and the person, with its email)",
                ),
                *_segment(("group",), "(the account is `segment:<groupId>` from both Segment routes)"),
                _standard(EventType.ACCOUNT_UPSERTED),
            ),
            example=Example(
                "stripe",
                "customer.updated",
                "evt_1QExampleCustomer",
                Subject(contact_id=_STRIPE_CUSTOMER, account_id=_STRIPE_CUSTOMER, email=_STRIPE_EMAIL),
                {"name": "Example Ltd", "email": _STRIPE_EMAIL, "livemode": False},
            ),
        ),
        EventType.ENGAGEMENT_RECORDED: EventTypeInfo(
            meaning="A person engaged with marketing or sales: opened or clicked an email, viewed a page, submitted "
            "a form, booked or cancelled a meeting, ... `data.kind` says which (an `EngagementKind`), the rest of "
            "`data` depends on it.",
            emitters=(
                *_segment(("track",), _SEGMENT_TRACK_CONDITION),
                *_segment(
                    ("page", "screen"),
                    f"as `{EngagementKind.PRICING_PAGE_VISIT.value}` when the page's path contains `pricing`, "
                    f"else as `{EngagementKind.PAGE_VIEW.value}`",
                ),
                Emitter("calendly", ("invitee.created",), f"as `{EngagementKind.MEETING_BOOKED.value}`"),
                Emitter(
                    "calendly",
                    ("invitee.canceled",),
                    f"as `{EngagementKind.MEETING_CANCELED.value}` (a reschedule arrives as this, with "
                    "`data.rescheduled` true, plus an `invitee.created` for the new time)",
                ),
                Emitter("calendly", ("routing_form_submission.created",), f"as `{EngagementKind.FORM_SUBMIT.value}`"),
                Emitter(
                    "hubspot",
                    ("contact.propertyChange",),
                    f"of `num_conversion_events` (one per form submission), as `{EngagementKind.FORM_SUBMIT.value}`",
                ),
                Emitter(
                    "salesforce",
                    ("CampaignMember",),
                    f"whose `HasResponded` is true, as `{EngagementKind.CAMPAIGN_RESPONSE.value}` of the Lead or "
                    "Contact; `data.campaign`: `name` the CampaignId, `source` `salesforce`, `medium` the campaign's "
                    "type (a `Campaign_Type__c` formula field on CampaignMember) lower-cased",
                ),
                _standard(EventType.ENGAGEMENT_RECORDED),
            ),
            example=Example(
                "segment",
                "track",
                "ajs-next-1736933400000-5b2c7e1d",
                Subject(contact_id="segment:u_501", email="ada@example.com"),
                {
                    "kind": EngagementKind.DEMO_REQUEST.value,
                    "name": "Demo Requested",
                    "url": "https://www.example.com/demo",
                    "path": "/demo",
                    "referrer": "https://www.google.com/",
                    "properties": {"company_size": "51-200"},
                    "anonymous_id": "0f8d1c2e-6a4b-4e3f-9b7a-1c2d3e4f5a6b",
                    "user_id": "u_501",
                    "traits": {"email": "ada@example.com"},
                },
            ),
        ),
        EventType.DEAL_STAGE_CHANGED: EventTypeInfo(
            meaning="A deal changed while in an open pipeline stage (neither won nor lost): HubSpot's deal moved "
            "stage, or Salesforce reported any change of an open opportunity. `data.stage` is the stage.",
            emitters=(
                Emitter(
                    "hubspot",
                    ("deal.propertyChange",),
                    "of `dealstage`, to a stage other than `closedwon` and `closedlost` (custom pipelines' stage ids "
                    "included, even those of their won and lost stages)",
                ),
                Emitter(
                    "salesforce",
                    ("Opportunity",),
                    "when open (`IsWon` and `IsClosed` not true, `StageName` neither `Closed Won` nor `Closed Lost`): "
                    "every outbound message about it, whether or not its stage changed",
                ),
                _standard(EventType.DEAL_STAGE_CHANGED),
            ),
            example=_deal_example("contractsent"),
        ),
        EventType.DEAL_WON: EventTypeInfo(
            meaning="A deal was closed won. From Salesforce it can repeat: every outbound message about a won "
            "opportunity is one.",
            emitters=(
                Emitter("hubspot", ("deal.propertyChange",), "of `dealstage` to `closedwon` (any case)"),
                Emitter(
                    "salesforce", ("Opportunity",), "when `IsWon` is true or `StageName` is `Closed Won` (any case)"
                ),
                _standard(EventType.DEAL_WON),
            ),
            example=_deal_example("closedwon"),
        ),
        EventType.DEAL_LOST: EventTypeInfo(
            meaning="A deal was closed lost. From Salesforce it can repeat: every outbound message about a closed, "
            "not won opportunity is one.",
            emitters=(
                Emitter("hubspot", ("deal.propertyChange",), "of `dealstage` to `closedlost` (any case)"),
                Emitter(
                    "salesforce",
                    ("Opportunity",),
                    "when not won and `IsClosed` is true or `StageName` is `Closed Lost` (any case)",
                ),
                _standard(EventType.DEAL_LOST),
            ),
            example=_deal_example("closedlost"),
        ),
        EventType.DEAL_UPDATED: EventTypeInfo(
            meaning="A deal was created or changed without a change of stage: HubSpot's deal creation, and its "
            "property changes other than `dealstage` (`data.property`, `data.value`). An `amount` change carries "
            "`data.amount` (the decimal text HubSpot sends, in the company currency); an "
            "`hs_salesforceopportunityid` change (HubSpot's Salesforce integration linking the deal to its "
            "Opportunity) carries `data.salesforce_opportunity_id`, as does any HubSpot deal event whose payload "
            "holds that property: attribution then counts the HubSpot deal as that Salesforce deal. It says nothing "
            "of the deal's status: a deal first seen this way is open.",
            emitters=(
                Emitter("hubspot", ("deal.creation",)),
                Emitter(
                    "hubspot",
                    ("deal.propertyChange",),
                    "of any property but `dealstage` (`amount` as `data.amount` too, `hs_salesforceopportunityid` "
                    "as `data.salesforce_opportunity_id`)",
                ),
                _standard(EventType.DEAL_UPDATED),
            ),
            example=Example(
                "hubspot",
                "deal.propertyChange",
                "1005",
                Subject(deal_id="hubspot:7001"),
                {
                    "action": "propertyChange",
                    "property": "amount",
                    "value": "48000",
                    "change_source": "CRM_UI",
                    "source_id": "userId:1234",
                    "portal_id": _HUBSPOT_PORTAL,
                    "amount": "48000",
                },
            ),
        ),
        EventType.PAYMENT_SUCCEEDED: EventTypeInfo(
            meaning="A customer paid: an invoice, a payment intent, a charge or a checkout, in the currency's minor "
            "unit. One Stripe payment can arrive on several objects (`data.object`), each its own event: count one "
            "kind, or one per `data.invoice_id` (else `data.payment_intent_id`, which a one-off payment's charge and "
            "payment intent share), as customer health does.",
            emitters=(
                Emitter(
                    "stripe",
                    ("invoice.paid", "invoice.payment_succeeded", "payment_intent.succeeded", "charge.succeeded"),
                ),
                Emitter("stripe", ("checkout.session.completed",), "when its `payment_status` is `paid`"),
                _standard(EventType.PAYMENT_SUCCEEDED),
            ),
            example=Example(
                "stripe",
                "invoice.paid",
                "evt_1QExampleInvoice",
                Subject(contact_id=_STRIPE_CUSTOMER, account_id=_STRIPE_CUSTOMER, email=_STRIPE_EMAIL),
                {
                    "object": "invoice",
                    "object_id": "in_1QExample",
                    "amount_minor": 4900,
                    "currency": "usd",
                    "invoice_id": "in_1QExample",
                    "payment_intent_id": "pi_1QExample",
                    "subscription_id": "sub_1QExample",
                    "livemode": False,
                },
            ),
        ),
        EventType.PAYMENT_FAILED: EventTypeInfo(
            meaning="A customer's payment failed; `data.failure_reason` says why when the vendor does. As with "
            "payments that succeed, one failure can arrive on several Stripe objects.",
            emitters=(
                Emitter("stripe", ("invoice.payment_failed", "payment_intent.payment_failed", "charge.failed")),
                _standard(EventType.PAYMENT_FAILED),
            ),
            example=Example(
                "stripe",
                "charge.failed",
                "evt_1QExampleCharge",
                Subject(contact_id=_STRIPE_CUSTOMER, account_id=_STRIPE_CUSTOMER, email=_STRIPE_EMAIL),
                {
                    "object": "charge",
                    "object_id": "ch_1QExample",
                    "amount_minor": 4900,
                    "currency": "usd",
                    "invoice_id": "in_1QExample",
                    "payment_intent_id": "pi_1QExample",
                    "subscription_id": None,
                    "livemode": False,
                    "failure_reason": "Your card was declined.",
                },
            ),
        ),
        EventType.SUBSCRIPTION_CHANGED: EventTypeInfo(
            meaning="Something happened to a subscription: created, updated, paused, resumed, deleted (cancelled), "
            "trial ending, ... `data.change` says what and `data.previous_status` the status before, when it "
            "changed. `data.mrr_minor` is its monthly recurring revenue in minor units of `data.currency` (prices "
            "times quantities brought to a month; null when a price is metered or unknown): what attribution's LTV "
            "reads, so a Standard Webhooks sender gives both for its subscriptions to count.",
            emitters=(
                Emitter(
                    "stripe", ("customer.subscription.*",), "(`data.change` is the part after `customer.subscription.`)"
                ),
                _standard(EventType.SUBSCRIPTION_CHANGED),
            ),
            example=Example(
                "stripe",
                "customer.subscription.updated",
                "evt_1QExampleSubscription",
                Subject(contact_id=_STRIPE_CUSTOMER, account_id=_STRIPE_CUSTOMER),
                {
                    "change": "updated",
                    "subscription_id": "sub_1QExample",
                    "status": "past_due",
                    "previous_status": "active",
                    "items": [
                        {
                            "price_id": "price_1QExample",
                            "quantity": 5,
                            "unit_amount": 12000,
                            "interval": "year",
                            "interval_count": 1,
                        }
                    ],
                    "currency": "USD",
                    "cancel_at_period_end": False,
                    "current_period_end": 1767225600,
                    "mrr_minor": 5000,
                },
            ),
        ),
        EventType.SUPPORT_TICKET_OPENED: EventTypeInfo(
            meaning="A customer opened a support ticket, or started a conversation with support, or a solved one "
            "was reopened (`data.reopened` true, the same ticket id: consumers treat the ticket as open again). "
            "`subject` is the customer (the requester); `data` describes the ticket or conversation as the vendor "
            "does.",
            emitters=(
                Emitter("zendesk", ("ticket.created",), "(event-subscribed webhooks, `zen:event-type:` dropped)"),
                Emitter(
                    "zendesk",
                    ("ticket.status_changed",),
                    "from `solved` to `new`, `open`, `pending` or `hold`: reopened",
                ),
                Emitter(
                    "intercom",
                    ("conversation.user.created", "ticket.created"),
                    "(every conversation a user or lead starts counts)",
                ),
                Emitter("intercom", ("conversation.admin.opened",), "(a closed or snoozed conversation): reopened"),
                _standard(EventType.SUPPORT_TICKET_OPENED),
            ),
            example=Example(
                "zendesk", "ticket.created", "01JHG7ZD3N8Q5W2XK4M6P9R1TA", _ZENDESK_SUBJECT, _zendesk_ticket("open")
            ),
        ),
        EventType.SUPPORT_TICKET_SOLVED: EventTypeInfo(
            meaning="A support ticket was solved, or a support conversation closed. `subject` is the customer (the "
            "requester); from Zendesk, `data.previous_status` is the status before.",
            emitters=(
                Emitter("zendesk", ("ticket.status_changed",), "to `solved` (not to `closed`, which follows it)"),
                Emitter("intercom", ("conversation.admin.closed",)),
                Emitter(
                    "intercom",
                    ("ticket.state.updated",),
                    "to a state (category) `resolved` or `closed`, or with `open` false when it has no state",
                ),
                _standard(EventType.SUPPORT_TICKET_SOLVED),
            ),
            example=Example(
                "zendesk",
                "ticket.status_changed",
                "01JHG8A1B2C3D4E5F6G7H8J9KM",
                _ZENDESK_SUBJECT,
                _zendesk_ticket("solved") | {"previous_status": "open"},
            ),
        ),
        EventType.SURVEY_RESPONDED: EventTypeInfo(
            meaning="A person submitted a survey or form response (NPS, CSAT, any Typeform form). `data.answers` "
            "holds the answers by field ref (or id), `data.hidden` the hidden fields and `data.score` the form's "
            "calculated score.",
            emitters=(
                Emitter("typeform", ("form_response",)),
                _standard(EventType.SURVEY_RESPONDED),
            ),
            example=Example(
                "typeform",
                "form_response",
                "01JHG7ZF0Q2V8R4T6Y1W3X5Z7B",
                Subject(email="ada@example.com"),
                {
                    "form_id": "lT4Z3j",
                    "form_title": "Quarterly NPS",
                    "response_token": "a3a12ec67a1365927098a606107fac15",
                    "submitted_at": "2025-01-15T09:29:58Z",
                    "answers": {"email": "ada@example.com", "nps": 9, "reason": "Faster exports"},
                    "hidden": {"account": "acme"},
                    "score": 0,
                },
            ),
        ),
        EventType.PRODUCT_USAGE_REPORTED: EventTypeInfo(
            meaning="Product usage of a user or account was reported (seats, API calls, feature use, ...). No vendor "
            "adapter maps onto it yet: Standard Webhooks senders publish it, with `data` as they send it.",
            emitters=(_standard(EventType.PRODUCT_USAGE_REPORTED),),
            example=Example(
                "standard",
                "product.usage_reported",
                "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
                Subject(account_id="standard:acct_9"),
                {"account_id": "acct_9", "metric": "seats", "quantity": 12},
            ),
        ),
        EventType.HANDOFF_ACCEPTED: EventTypeInfo(
            meaning="A lead or account handed over between teams (marketing to sales, sales to customer success) "
            "was accepted by its new owner; from Slack, `data` is the handoff button's value plus who clicked it.",
            emitters=(
                Emitter(
                    "slack",
                    ("block_actions",),
                    "with an action whose `action_id` is `handoff_accept` (the Accept button of the hub's handoff "
                    "message)",
                ),
                _standard(EventType.HANDOFF_ACCEPTED),
            ),
            example=Example(
                "slack",
                "block_actions",
                None,
                Subject(contact_id="hubspot:501"),
                {
                    "handoff_id": "h-42",
                    "lead_id": "hubspot:501",
                    "slack_user_id": "UA8RXUSPL",
                    "slack_user_name": "grace",
                    "slack_team_id": "T9TK3CUKW",
                    "channel_id": "CBR2V3XEX",
                    "message_ts": "1736933395.000200",
                    "action_ts": "1736933398.123456",
                },
            ),
        ),
        EventType.HANDOFF_REJECTED: EventTypeInfo(
            meaning="A lead or account handed over between teams was declined by the person it was assigned to, "
            "who is then not offered it again (the handoff domain reassigns it); from Slack, `data` is the handoff "
            "button's value plus who clicked it.",
            emitters=(
                Emitter(
                    "slack",
                    ("block_actions",),
                    "with an action whose `action_id` is `handoff_reject` (the Reject button of the hub's handoff "
                    "message)",
                ),
                _standard(EventType.HANDOFF_REJECTED),
            ),
            example=Example(
                "slack",
                "block_actions",
                None,
                Subject(contact_id="hubspot:501"),
                {
                    "handoff_id": "h-42",
                    "lead_id": "hubspot:501",
                    "slack_user_id": "UA8RXUSPL",
                    "slack_user_name": "grace",
                    "slack_team_id": "T9TK3CUKW",
                    "channel_id": "D0BR2V3XE",
                    "message_ts": "1736933395.000200",
                    "action_ts": "1736933401.654321",
                },
            ),
        ),
        EventType.VENDOR_UNMAPPED: EventTypeInfo(
            meaning="A verified vendor event the hub does not map to a canonical type yet. It is kept and published, "
            "never dropped: `data.payload` holds the vendor's event as parsed (the raw body is in the delivery log).",
            emitters=(
                Emitter(
                    "stripe",
                    ("*",),
                    "any other event type, and `checkout.session.completed` whose `payment_status` is not `paid` "
                    "(`subject` keeps the customer; every other vendor's is empty)",
                ),
                Emitter(
                    "hubspot",
                    ("*",),
                    "any other subscription type (deletions, association changes, other objects), and "
                    "`deal.propertyChange` of a property other than `dealstage`",
                ),
                Emitter("salesforce", ("*",), "outbound messages of any other sObject type"),
                Emitter("calendly", ("*",), "any other event (`invitee_no_show.created`, ...)"),
                Emitter("typeform", ("*",), "any event type other than `form_response`"),
                Emitter(
                    "zendesk",
                    ("*",),
                    "any other event type, `ticket.status_changed` to a status other than `solved`, and trigger "
                    "or automation webhooks (their own bodies, vendor event type `trigger`)",
                ),
                Emitter("intercom", ("*",), "any other topic, and `ticket.state.updated` to an unsolved state"),
                Emitter(
                    "slack",
                    ("*",),
                    "every Events API callback (vendor event type: its `event.type`), slash command and other "
                    "interaction",
                ),
                Emitter(
                    "standard",
                    ("*",),
                    "a `type` that is not a canonical event type (`vendor.unmapped` itself included)",
                ),
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
