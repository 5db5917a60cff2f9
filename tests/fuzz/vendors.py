"""Every vendor the receiver takes, as hypothesis strategies of malformed-but-signed deliveries.

Each vendor's sample carries every field its code reads (`reads`, taken from `shared/webhooks/vendors/`), and
`branches` name the fields that choose how an event is mapped, so the mutations reach every mapping. A
strategy draws a branch, then puts hostile values (`hostile.ATOMS`, or any JSON) at one to three of the read
fields; or it replaces the whole body. Signing happens when the delivery is sent (`receiver.py`), over the
exact bytes, with the secrets of `config/local.secrets.json`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_from_bytes
from xml.sax.saxutils import escape

from hypothesis import strategies as st

from shared.catalog import TRACKING_CALLS
from shared.events.canonical import EventType
from tests.fuzz.hostile import (
    BODIES,
    UID,
    Path,
    Raw,
    describe,
    dotted,
    encode,
    hostile_values,
    mutate,
    set_path,
)
from tests.webhook_samples import hubspot_event

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
XML = "text/xml; charset=utf-8"


@dataclass(frozen=True)
class Delivery:
    """One request to the receiver: `vendor` as the delivery log names it, the body before signing (with
    `UID` placeholders), and what is malformed about it."""

    vendor: str
    path: str
    body: bytes
    what: str
    content_type: str = JSON
    gzip: bool = False

    def __repr__(self) -> str:
        shown = self.body[:160] + (b"..." if len(self.body) > 160 else b"")
        gzip = ", gzip" if self.gzip else ""
        return f"<POST {self.path} ({self.content_type}{gzip}) {self.what}; {len(self.body)} bytes: {shown!r}>"


@dataclass(frozen=True)
class JsonShape:
    """What one vendor sends as JSON, which fields its code reads, and which fields pick the mapping."""

    sample: Callable[[], Any]
    reads: tuple[Path, ...]
    branches: tuple[tuple[Path, tuple[Any, ...]], ...] = ()


def under(prefix: Path, paths: tuple[Path, ...]) -> tuple[Path, ...]:
    return tuple(prefix + path for path in paths)


# Stripe ------------------------------------------------------------------------------------------------------

STRIPE = JsonShape(
    sample=lambda: {
        "id": f"evt_{UID}",
        "object": "event",
        "type": "invoice.paid",
        "created": 1_764_072_000,
        "livemode": False,
        "data": {
            "object": {
                "object": "invoice",
                "id": "in_1",
                "customer": "cus_1",
                "customer_email": "ada@example.com",
                "amount_paid": 4900,
                "currency": "usd",
                "payment_status": "paid",
                "items": {"data": [{"price": {"id": "price_1"}, "quantity": 1}]},
                "status": "active",
            },
            "previous_attributes": {"status": "trialing"},
        },
    },
    reads=(
        ("id",),
        ("object",),
        ("type",),
        ("created",),
        ("livemode",),
        ("data",),
        ("data", "object"),
        ("data", "previous_attributes"),
        ("data", "previous_attributes", "status"),
        *under(
            ("data", "object"),
            (
                ("object",),
                ("id",),
                ("customer",),
                ("customer_email",),
                ("receipt_email",),
                ("email",),
                ("customer_details",),
                ("customer_details", "email"),
                ("amount_paid",),
                ("amount_due",),
                ("currency",),
                ("invoice",),
                ("subscription",),
                ("payment_status",),
                ("last_payment_error",),
                ("last_payment_error", "message"),
                ("failure_message",),
                ("items",),
                ("items", "data"),
                ("items", "data", 0),
                ("items", "data", 0, "price"),
                ("items", "data", 0, "quantity"),
                ("status",),
                ("cancel_at_period_end",),
                ("current_period_end",),
                ("name",),
            ),
        ),
    ),
    branches=(
        (
            ("type",),
            (
                "invoice.paid",
                "invoice.payment_failed",
                "customer.subscription.updated",
                "customer.created",
                "checkout.session.completed",
                "charge.refunded",
            ),
        ),
    ),
)

# HubSpot: a JSON array of events -------------------------------------------------------------------------------

HUBSPOT = JsonShape(
    sample=lambda: [hubspot_event(propertyValue=f"ada+{UID}@example.com")],
    reads=(
        (0,),
        *under(
            (0,),
            (
                ("eventId",),
                ("subscriptionType",),
                ("occurredAt",),
                ("attemptNumber",),
                ("objectId",),
                ("propertyName",),
                ("propertyValue",),
                ("changeSource",),
                ("portalId",),
            ),
        ),
    ),
    branches=(
        (
            (0, "subscriptionType"),
            ("contact.propertyChange", "contact.creation", "company.creation", "deal.propertyChange", "deal.deletion"),
        ),
        ((0, "propertyName"), ("email", "dealstage", "firstname", "associatedcompanyid")),
    ),
)

# Segment: one message (webhook destination), or the tracking API ----------------------------------------------

SEGMENT_MESSAGE_READS: tuple[Path, ...] = (
    ("type",),
    ("messageId",),
    ("userId",),
    ("anonymousId",),
    ("event",),
    ("name",),
    ("timestamp",),
    ("originalTimestamp",),
    ("traits",),
    ("traits", "email"),
    ("context",),
    ("context", "traits"),
    ("context", "traits", "email"),
    ("context", "page"),
    ("context", "page", "url"),
    ("context", "page", "path"),
    ("context", "page", "referrer"),
    ("properties",),
    ("properties", "url"),
    ("properties", "path"),
    ("properties", "referrer"),
    ("properties", "title"),
    ("properties", "name"),
    ("previousId",),
    ("groupId",),
)
SEGMENT_TYPES = ("track", "identify", "page", "screen", "group", "alias")
SEGMENT_EVENTS = ("Demo Requested", "Content Downloaded", "Webinar Attended", "Button Clicked")


def segment_message() -> dict[str, Any]:
    return {
        "type": "track",
        "messageId": f"msg-{UID}",
        "userId": "user-1",
        "anonymousId": "anon-1",
        "event": "Demo Requested",
        "timestamp": "2026-11-25T12:00:00Z",
        "traits": {"email": "ada@example.com"},
        "context": {"page": {"url": "https://example.com/pricing", "path": "/pricing"}, "traits": {}},
        "properties": {"plan": "enterprise", "title": "Pricing"},
        "groupId": "acme",
    }


SEGMENT = JsonShape(
    sample=segment_message,
    reads=SEGMENT_MESSAGE_READS,
    branches=((("type",), SEGMENT_TYPES), (("event",), SEGMENT_EVENTS)),
)
SEGMENT_BATCH = JsonShape(
    sample=lambda: {"batch": [segment_message()], "context": {"library": {"name": "analytics-python"}}},
    reads=(("batch",), ("batch", 0), ("context",), ("context", "traits"), *under(("batch", 0), SEGMENT_MESSAGE_READS)),
    branches=((("batch", 0, "type"), SEGMENT_TYPES), (("batch", 0, "event"), SEGMENT_EVENTS)),
)
SEGMENT_CALL = JsonShape(
    sample=lambda: {key: value for key, value in segment_message().items() if key != "type"},
    reads=(("writeKey",), *SEGMENT_MESSAGE_READS),
    branches=((("event",), SEGMENT_EVENTS),),
)

# Calendly -------------------------------------------------------------------------------------------------------

CALENDLY = JsonShape(
    sample=lambda: {
        "event": "invitee.created",
        "created_at": "2026-11-25T11:59:00.000000Z",
        "created_by": "https://api.calendly.com/users/U1",
        "payload": {
            "uri": f"https://api.calendly.com/scheduled_events/EV1/invitees/{UID}",
            "email": "ada@example.com",
            "name": "Ada Lovelace",
            "status": "active",
            "timezone": "Europe/London",
            "event": "https://api.calendly.com/scheduled_events/EV1",
            "scheduled_event": {"name": "Discovery call", "start_time": "2026-12-01T15:00:00.000000Z"},
            "rescheduled": False,
            "cancellation": {"reason": "conflict", "canceled_by": "Ada"},
            "questions_and_answers": [{"question": "Email", "answer": "ada@example.com"}],
            "tracking": {"utm_source": "newsletter"},
            "routing_form": "https://api.calendly.com/routing_forms/RF1",
            "result": {"type": "event_type"},
        },
    },
    reads=(
        ("event",),
        ("created_at",),
        ("payload",),
        *under(
            ("payload",),
            (
                ("uri",),
                ("email",),
                ("name",),
                ("timezone",),
                ("event",),
                ("scheduled_event",),
                ("scheduled_event", "name"),
                ("scheduled_event", "start_time"),
                ("rescheduled",),
                ("cancellation",),
                ("cancellation", "reason"),
                ("questions_and_answers",),
                ("questions_and_answers", 0),
                ("questions_and_answers", 0, "answer"),
                ("tracking",),
                ("routing_form",),
                ("result",),
            ),
        ),
    ),
    branches=(
        (("event",), ("invitee.created", "invitee.canceled", "routing_form_submission.created", "invitee_no_show")),
    ),
)

# Typeform -------------------------------------------------------------------------------------------------------

TYPEFORM = JsonShape(
    sample=lambda: {
        "event_id": UID,
        "event_type": "form_response",
        "form_response": {
            "form_id": "lead-form",
            "token": "tok",
            "submitted_at": "2026-11-25T11:59:00Z",
            "hidden": {"utm_campaign": "q4", "email": "ada@example.com"},
            "definition": {"id": "lead-form", "title": "Talk to sales", "fields": []},
            "calculated": {"score": 3},
            "answers": [
                {"type": "email", "email": "ada@example.com", "field": {"id": "f1", "type": "email", "ref": "email"}},
                {"type": "choice", "choice": {"label": "Yes"}, "field": {"id": "f2", "ref": "ok"}},
                {"type": "choices", "choices": {"labels": ["A", "B"], "other": "C"}, "field": {"id": "f3"}},
            ],
        },
    },
    reads=(
        ("event_id",),
        ("event_type",),
        ("form_response",),
        *under(
            ("form_response",),
            (
                ("form_id",),
                ("token",),
                ("submitted_at",),
                ("hidden",),
                ("hidden", "email"),
                ("definition",),
                ("definition", "title"),
                ("calculated",),
                ("calculated", "score"),
                ("answers",),
                ("answers", 0),
                ("answers", 0, "type"),
                ("answers", 0, "email"),
                ("answers", 0, "field"),
                ("answers", 0, "field", "ref"),
                ("answers", 1, "choice"),
                ("answers", 1, "choice", "label"),
                ("answers", 2, "choices"),
                ("answers", 2, "choices", "labels"),
                ("answers", 2, "choices", "other"),
            ),
        ),
    ),
    branches=((("event_type",), ("form_response", "form_response_partial")),),
)

# Zendesk --------------------------------------------------------------------------------------------------------

ZENDESK = JsonShape(
    sample=lambda: {
        "id": UID,
        "type": "zen:event-type:ticket.created",
        "account_id": 1,
        "time": "2026-11-25T12:00:00Z",
        "zendesk_event_version": "2022-11-06",
        "subject": "zen:ticket:35436",
        "detail": {
            "id": "35436",
            "subject": "Cannot export invoices",
            "status": "OPEN",
            "requester_id": "659",
            "organization_id": "42",
            "email": "ada@example.com",
            "via": {"channel": "web"},
            "tags": ["billing"],
        },
        "event": {"current": "SOLVED", "previous": {"status": "OPEN"}},
    },
    reads=(
        ("id",),
        ("type",),
        ("time",),
        ("subject",),
        ("detail",),
        ("event",),
        *under(
            ("detail",),
            (
                ("id",),
                ("subject",),
                ("status",),
                ("priority",),
                ("via",),
                ("via", "channel"),
                ("tags",),
                ("requester_id",),
                ("organization_id",),
                ("email",),
                ("name",),
            ),
        ),
        ("event", "current"),
        ("event", "current", "status"),
        ("event", "previous"),
        ("event", "previous", "status"),
    ),
    branches=(
        (
            ("type",),
            (
                "zen:event-type:ticket.created",
                "zen:event-type:ticket.status_changed",
                "zen:event-type:user.created",
                "zen:event-type:organization.created",
                "a trigger's own body",
            ),
        ),
    ),
)

# Intercom -------------------------------------------------------------------------------------------------------

INTERCOM = JsonShape(
    sample=lambda: {
        "type": "notification_event",
        "id": f"notif_{UID}",
        "topic": "conversation.user.created",
        "created_at": 1_764_072_000,
        "data": {
            "type": "notification_event_data",
            "item": {
                "type": "conversation",
                "id": "147",
                "email": "ada@example.com",
                "title": "Help with billing",
                "ticket_state": {"category": "resolved"},
                "ticket_attributes": {"_default_title_": "Billing"},
                "source": {"author": {"type": "user", "id": "5f1a", "email": "ada@example.com"}},
                "contacts": {"contacts": [{"id": "5f1a"}]},
            },
        },
    },
    reads=(
        ("type",),
        ("id",),
        ("topic",),
        ("created_at",),
        ("data",),
        ("data", "item"),
        *under(
            ("data", "item"),
            (
                ("id",),
                ("email",),
                ("name",),
                ("type",),
                ("title",),
                ("state",),
                ("open",),
                ("ticket_state",),
                ("ticket_state", "category"),
                ("ticket_attributes",),
                ("ticket_attributes", "_default_title_"),
                ("source",),
                ("source", "author"),
                ("source", "author", "type"),
                ("source", "author", "id"),
                ("source", "author", "email"),
                ("contacts",),
                ("contacts", "contacts"),
                ("contacts", "contacts", 0),
                ("contacts", "contacts", 0, "id"),
            ),
        ),
    ),
    branches=(
        (
            ("topic",),
            (
                "conversation.user.created",
                "contact.user.created",
                "conversation.admin.closed",
                "ticket.state.updated",
                "ping",
                "company.created",
            ),
        ),
        (("data", "item", "source", "author", "type"), ("user", "admin")),
    ),
)

# Slack: Events API JSON, and form-encoded interactions ----------------------------------------------------------

SLACK_EVENTS = JsonShape(
    sample=lambda: {
        "type": "event_callback",
        "team_id": "T061EG9R6",
        "event_id": f"Ev{UID}",
        "event_time": 1_764_072_000,
        "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
        "event": {"type": "app_mention", "user": "U061F7AUR", "text": "hi"},
    },
    reads=(("type",), ("event_id",), ("event_time",), ("challenge",), ("event",), ("event", "type")),
    branches=((("type",), ("event_callback", "url_verification", "app_rate_limited")),),
)
SLACK_INTERACTION = JsonShape(
    sample=lambda: {
        "type": "block_actions",
        "trigger_id": UID,
        "user": {"id": "U1", "username": "ada"},
        "team": {"id": "T1"},
        "channel": {"id": "C1"},
        "container": {"channel_id": "C1", "message_ts": "1764072000.000100"},
        "actions": [
            {
                "action_id": "handoff_accept",
                "value": json.dumps({"lead_id": "hubspot:501", "priority": "immediate"}),
                "action_ts": "1764072000.000200",
            }
        ],
    },
    reads=(
        ("type",),
        ("actions",),
        ("actions", 0),
        ("actions", 0, "action_id"),
        ("actions", 0, "value"),
        ("actions", 0, "action_ts"),
        ("user",),
        ("user", "id"),
        ("user", "username"),
        ("team",),
        ("team", "id"),
        ("channel",),
        ("channel", "id"),
        ("container",),
        ("container", "message_ts"),
    ),
    branches=((("type",), ("block_actions", "view_submission")),),
)

# Standard Webhooks ----------------------------------------------------------------------------------------------

STANDARD = JsonShape(
    sample=lambda: {
        "type": "product.usage_reported",
        "timestamp": "2026-11-25T12:00:00Z",
        "data": {"account_id": "acct_9", "contact_id": "hubspot:501", "email": "ada@example.com", "quantity": 12},
    },
    reads=(
        ("type",),
        ("timestamp",),
        ("data",),
        ("data", "contact_id"),
        ("data", "account_id"),
        ("data", "deal_id"),
        ("data", "email"),
    ),
    branches=(
        (
            ("type",),
            (
                *(event_type.value for event_type in EventType if event_type is not EventType.VENDOR_UNMAPPED),
                "invoice.created",
            ),
        ),
    ),
)

# Strategies --------------------------------------------------------------------------------------------------


@st.composite
def json_mutations(
    draw: st.DrawFn, vendor: str, path: str, shape: JsonShape, content_type: str = JSON, gzip: bool = False
) -> Delivery:
    document = shape.sample()
    chosen = []
    for branch, values in shape.branches:
        value = draw(st.sampled_from(values))
        document = set_path(document, branch, value)
        chosen.append(f"{dotted(branch)}={value!r}")
    paths = draw(st.lists(st.sampled_from(shape.reads), min_size=1, max_size=3, unique=True))
    changes = [(field, draw(hostile_values, label=dotted(field))) for field in paths]
    body = encode(mutate(document, changes))
    what = ", ".join(f"{dotted(field)}={describe(value)}" for field, value in changes)
    return Delivery(vendor, path, body, f"{what} ({', '.join(chosen)})", content_type, gzip)


def json_vendor(vendor: str, shape: JsonShape) -> st.SearchStrategy[Delivery]:
    return json_mutations(vendor, f"/webhooks/{vendor}", shape)


@st.composite
def slack_forms(draw: st.DrawFn) -> Delivery:
    """An interaction (`payload=<JSON>`) or a slash command (its fields are the payload), form-encoded."""
    if draw(st.booleans()):
        inner = draw(json_mutations("slack", "/webhooks/slack", SLACK_INTERACTION))
        body = b"payload=" + quote_from_bytes(inner.body).encode()
        return Delivery("slack", inner.path, body, f"interaction: {inner.what}", FORM)
    fields = {"command": "/handoff", "text": "lead 501", "user_id": "U1", "trigger_id": UID}
    name = draw(st.sampled_from(sorted(fields)))
    value = draw(st.sampled_from(("", "%ff%fe", "\ud800", "x" * 3000, "a=b&c", "[" * 10_000)))
    fields[name] = value
    form = "&".join(f"{key}={quote_from_bytes(item.encode('utf-8', 'surrogatepass'))}" for key, item in fields.items())
    return Delivery("slack", "/webhooks/slack", form.encode(), f"slash command: {name}={describe(value)}", FORM)


@st.composite
def tracking_calls(draw: st.DrawFn) -> Delivery:
    """The Segment HTTP tracking API: `/v1/<call>`, write key as the HTTP Basic user, gzip or not."""
    call = draw(st.sampled_from(TRACKING_CALLS))
    path = f"/v1/{call}"
    gzip = draw(st.booleans())
    shape = SEGMENT_BATCH if call == "batch" else SEGMENT_CALL
    return draw(json_mutations("segment_api", path, shape, gzip=gzip))


# Salesforce: SOAP outbound messages -----------------------------------------------------------------------------

SALESFORCE_ORG = "00D000000000001AAA"
SALESFORCE_FIELDS = (
    "Id",
    "Email",
    "AccountId",
    "Name",
    "StageName",
    "Amount",
    "IsWon",
    "IsClosed",
    "CloseDate",
    "LastModifiedDate",
    "SystemModstamp",
    "ContactId",
    "LeadId",
    "HasResponded",
)
SOBJECT_TYPES = ("Lead", "Contact", "Account", "Opportunity", "CampaignMember", "Task", "", "a:b:c", "Lead Contact")
# Field contents: text (escaped when written), or raw XML fragments.
XML_TEXTS: tuple[str | Raw, ...] = (
    "",
    "true",
    "TRUE",
    "1e400",
    "nan",
    "-inf",
    "1" * 5000,
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "x" * 3000,
    "ada@example.com",
    Raw("xsi:nil", b"@nil"),
    Raw("element nested 2,000 deep", b"<a>" * 2000 + b"</a>" * 2000),
    Raw("element nested 50 deep", b"<a>" * 50 + b"x" + b"</a>" * 50),
    Raw("CDATA", b"<![CDATA[<x>&]]>"),
    Raw("character reference to NUL", b"&#0;"),
    Raw("character reference to a surrogate", b"&#xD800;"),
    Raw("non-UTF-8 bytes", b"\xff\xfe"),
)
xml_texts = st.one_of(
    st.sampled_from(XML_TEXTS),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=16),
)


def salesforce_field(name: str, value: str | Raw) -> bytes:
    if isinstance(value, Raw) and value.data == b"@nil":
        return f'<sf:{name} xsi:nil="true"/>'.encode()
    inner = value.data if isinstance(value, Raw) else escape(value).encode()
    return f"<sf:{name}>".encode() + inner + f"</sf:{name}>".encode()


def salesforce_envelope(notifications: bytes, org: str = SALESFORCE_ORG) -> bytes:
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        b'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>'
        b'<notifications xmlns="http://soap.sforce.com/2005/09/outbound">'
        + f"<OrganizationId>{org}</OrganizationId><ActionId>04k000000000001AAA</ActionId>".encode()
        + notifications
        + b"</notifications></soapenv:Body></soapenv:Envelope>"
    )


def salesforce_notification(position: int, sobject: str, fields: bytes) -> bytes:
    return (
        f"<Notification><Id>04l{UID}{position}</Id>"
        f'<sObject xsi:type="sf:{escape(sobject)}" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">'
    ).encode() + (fields + b"</sObject></Notification>")


@st.composite
def salesforce_messages(draw: st.DrawFn) -> Delivery:
    """1 to 3 notifications of one sObject type, with hostile field contents; or a hostile message shape."""
    sobject = draw(st.sampled_from(SOBJECT_TYPES))
    count = draw(st.integers(min_value=1, max_value=3))
    contents = draw(st.dictionaries(st.sampled_from(SALESFORCE_FIELDS), xml_texts, min_size=1, max_size=4))
    fields = b"".join(salesforce_field(name, value) for name, value in contents.items())
    body = salesforce_envelope(b"".join(salesforce_notification(n, sobject, fields) for n in range(count)))
    what = ", ".join(f"{name}={describe(value)}" for name, value in contents.items())
    return Delivery("salesforce", "/webhooks/salesforce", body, f"{count} x {sobject!r}: {what}", XML)


def salesforce_shapes() -> tuple[tuple[str, bytes], ...]:
    lead = salesforce_field("Email", "ada@example.com")
    one = salesforce_notification(0, "Lead", lead)
    return (
        ("no Notification", salesforce_envelope(b"")),
        (
            "101 notifications",
            salesforce_envelope(b"".join(salesforce_notification(n, "Lead", lead) for n in range(101))),
        ),
        ("a Notification without Id", salesforce_envelope(b"<Notification><sObject/></Notification>")),
        (
            "a Notification without sObject",
            salesforce_envelope(f"<Notification><Id>04l{UID}</Id></Notification>".encode()),
        ),
        (
            "an sObject without xsi:type",
            salesforce_envelope(f"<Notification><Id>04l{UID}</Id><sObject/></Notification>".encode()),
        ),
        (
            "XML nested 2,000 deep in the sObject",
            salesforce_envelope(salesforce_notification(0, "Lead", nested_xml(2000))),
        ),
        ("XML nested 2,000 deep beside the notifications", salesforce_envelope(one + nested_xml(2000))),
        ("two OrganizationIds", salesforce_envelope(b"<OrganizationId>00D000000000009AAA</OrganizationId>" + one)),
        ("a DOCTYPE", b"<!DOCTYPE x [<!ENTITY a 'b'>]>" + salesforce_envelope(one)),
        ("UTF-16", salesforce_envelope(one).decode().replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")),
        ("a UTF-8 BOM", b"\xef\xbb\xbf" + salesforce_envelope(one)),
        ("trailing garbage", salesforce_envelope(one) + b"<x>"),
        ("the org id, 15 characters", salesforce_envelope(one, SALESFORCE_ORG[:15])),
        ("the org id, lower case", salesforce_envelope(one, SALESFORCE_ORG.lower())),
    )


def nested_xml(depth: int) -> bytes:
    return b"<sf:Deep>" * depth + b"x" + b"</sf:Deep>" * depth


# Every vendor -------------------------------------------------------------------------------------------------

STRATEGIES: dict[str, st.SearchStrategy[Delivery]] = {
    "stripe": json_vendor("stripe", STRIPE),
    "hubspot": json_vendor("hubspot", HUBSPOT),
    "salesforce": salesforce_messages(),
    "segment": json_vendor("segment", SEGMENT),
    "segment_api": tracking_calls(),
    "calendly": json_vendor("calendly", CALENDLY),
    "typeform": json_vendor("typeform", TYPEFORM),
    "zendesk": json_vendor("zendesk", ZENDESK),
    "intercom": json_vendor("intercom", INTERCOM),
    "slack": st.one_of(json_vendor("slack", SLACK_EVENTS), slack_forms()),
    "standard": json_vendor("standard", STANDARD),
}


def valid_sample(vendor: str) -> Delivery:
    """The vendor's sample as it is: what every strategy starts from, and must be accepted."""
    if vendor == "salesforce":
        body = salesforce_envelope(salesforce_notification(0, "Lead", salesforce_field("Email", "ada@example.com")))
        return Delivery(vendor, "/webhooks/salesforce", body, "the unmodified sample", XML)
    if vendor == "segment_api":
        return Delivery(vendor, "/v1/batch", encode(SEGMENT_BATCH.sample()), "the unmodified sample")
    shape = {
        "stripe": STRIPE,
        "hubspot": HUBSPOT,
        "segment": SEGMENT,
        "calendly": CALENDLY,
        "typeform": TYPEFORM,
        "zendesk": ZENDESK,
        "intercom": INTERCOM,
        "slack": SLACK_EVENTS,
        "standard": STANDARD,
    }[vendor]
    return Delivery(vendor, f"/webhooks/{vendor}", encode(shape.sample()), "the unmodified sample")


def hostile_bodies(vendor: str) -> list[Delivery]:
    """Every whole-body hostile shape for `vendor`, for the deterministic corpus."""
    sample = valid_sample(vendor)
    shapes = list(BODIES)
    if vendor == "salesforce":
        shapes += salesforce_shapes()
    return [Delivery(vendor, sample.path, body, what, sample.content_type) for what, body in shapes]
