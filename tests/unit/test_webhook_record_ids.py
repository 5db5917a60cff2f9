"""The ids the success and revenue consumers key a customer's records by: a subscription's, a ticket's and an
invoice's (`shared.success.signals`, `shared.attribution.revenue`). Each vendor that sends one (Stripe, Zendesk,
Intercom, Standard Webhooks) has it checked by the receiver as every other record id is: at most 255 characters,
no control characters, or the delivery is a 400 naming the field and the limit, in the delivery log, and nothing
is published (a longer id was accepted, then cut by the consumers, so two ids sharing their first 200 characters
were one ticket, one invoice or one subscription)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.webhooks.envelope import MAX_KEY_ID_CHARACTERS
from tests.vendor_samples import (
    assert_refused_and_logged,
    delivered,
    intercom_notification,
    standard_event,
    zendesk_event,
)
from tests.webhook_samples import stripe_event

LONG = "x" * (MAX_KEY_ID_CHARACTERS + 1)
LONGEST = "x" * MAX_KEY_ID_CHARACTERS
LIMIT = f"an id is at most {MAX_KEY_ID_CHARACTERS} characters"


def subscription(subscription_id: str) -> dict[str, Any]:
    price = {"id": "price_1", "unit_amount": 4900, "currency": "usd", "recurring": {"interval": "month"}}
    return {"object": "subscription", "id": subscription_id, "items": {"data": [{"price": price, "quantity": 1}]}}


def intercom_ticket(**fields: Any) -> dict[str, Any]:
    return {
        "type": "ticket",
        "id": "1295",
        "ticket_id": "1390",
        "ticket_state": {"type": "ticket_state", "category": "submitted"},
        "contacts": {"type": "contact.list", "contacts": [{"type": "contact", "id": "6a2b"}]},
    } | fields


REFUSED = [
    # Stripe: the invoice a payment is of (the invoice itself, or a charge's or payment intent's `invoice`), its
    # subscription, and a subscription change's subscription
    ("stripe", stripe_event("evt_1", "invoice.paid", id=LONG), "data.object.id"),
    ("stripe", stripe_event("evt_1", "invoice.payment_failed", subscription=LONG), "data.object.subscription"),
    ("stripe", stripe_event("evt_1", "charge.succeeded", object="charge", invoice=LONG), "data.object.invoice"),
    ("stripe", stripe_event("evt_1", "customer.subscription.updated", **subscription(LONG)), "data.object.id"),
    # Zendesk: the ticket, by its id or (without one) the subject that names it
    ("zendesk", zendesk_event("ticket.created", detail={"id": LONG}), "detail.id"),
    (
        "zendesk",
        zendesk_event("ticket.status_changed", detail={"id": None}, event={"current": "SOLVED"}).replace(
            b'"zen:ticket:35436"', json.dumps(f"zen:ticket:{LONG}").encode()
        ),
        "subject",
    ),
    # Intercom: a ticket's id and the conversation's (which a conversation's ticket signals are keyed by)
    ("intercom", intercom_notification("ticket.created", intercom_ticket(ticket_id=LONG)), "data.item.ticket_id"),
    ("intercom", intercom_notification("conversation.admin.closed", intercom_ticket(id=LONG)), "data.item.id"),
    # Standard Webhooks: the same ids, in `data` as sent
    ("standard", standard_event("subscription.changed", {"subscription_id": LONG}), "data.subscription_id"),
    ("standard", standard_event("payment.succeeded", {"invoice_id": LONG}), "data.invoice_id"),
    ("standard", standard_event("payment.failed", {"object_id": LONG}), "data.object_id"),
    ("standard", standard_event("payment.failed", {"subscription_id": LONG}), "data.subscription_id"),
    ("standard", standard_event("support.ticket_opened", {"ticket_id": LONG}), "data.ticket_id"),
    ("standard", standard_event("support.ticket_solved", {"id": LONG}), "data.id"),
    ("standard", standard_event("support.ticket_solved", {"ticket_id": "t\n1"}), "data.ticket_id"),
]


@pytest.mark.parametrize(("vendor", "body", "named"), REFUSED, ids=[f"{v}-{n}" for v, _, n in REFUSED])
def test_an_over_long_subscription_ticket_or_invoice_id_is_a_logged_400_naming_it(
    vendor: str, body: bytes, named: str
) -> None:
    # Given a signed delivery whose subscription, ticket or invoice id is longer than a record id may be
    # When it is delivered
    gateway, response = delivered(vendor, body)
    # Then it is refused naming the field and the limit, logged as rejected with that reason, and not published
    assert_refused_and_logged(gateway, response, f"{named}: {LIMIT}")


KEPT = [
    ("stripe", stripe_event("evt_1", "invoice.paid", id=LONGEST, subscription=LONGEST), "invoice_id", LONGEST),
    ("stripe", stripe_event("evt_1", "charge.succeeded", object="charge", invoice={"id": "in_1"}), "object", "charge"),
    (
        "stripe",
        stripe_event("evt_1", "customer.subscription.created", **subscription(LONGEST)),
        "subscription_id",
        LONGEST,
    ),
    ("zendesk", zendesk_event("ticket.created", detail={"id": LONGEST}), "ticket_id", LONGEST),
    ("intercom", intercom_notification("ticket.created", intercom_ticket(ticket_id=LONGEST)), "ticket_id", LONGEST),
    ("standard", standard_event("support.ticket_opened", {"ticket_id": LONGEST}), "ticket_id", LONGEST),
]


@pytest.mark.parametrize(("vendor", "body", "key", "value"), KEPT, ids=[f"{v}-{k}" for v, _, k, _ in KEPT])
def test_ids_up_to_the_limit_are_published_as_sent(vendor: str, body: bytes, key: str, value: str) -> None:
    # Given a signed delivery whose ids are as long as a record id may be (or, for a Stripe charge, an expanded
    # invoice, which names no id the consumers read)
    # When it is delivered
    gateway, response = delivered(vendor, body)
    # Then it is accepted and published with the id as sent
    assert response.status_code == 202, response.body
    [event] = gateway.publisher.published
    assert event.data[key] == value
