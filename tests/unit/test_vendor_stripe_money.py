"""What a Stripe event publishes as money is money: amounts are whole minor units from 0 below 10**12 (Stripe
sends integers in the currency's smallest unit, at most 12 digits) and currencies 3-letter ISO codes; anything
else is refused naming the field, never published for a consumer to fail on. A non-text email is dropped, as
every vendor's is (`Text`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from shared.events.canonical import CanonicalEvent, EventType
from shared.webhooks import normalizers
from shared.webhooks.registry import VENDORS
from shared.webhooks.vendor import DeliveryContext, MalformedPayload
from tests.webhook_samples import stripe_event, stripe_request

CONTEXT = DeliveryContext("delivery-1", "request-1", datetime(2026, 11, 25, tzinfo=UTC))


def normalized(event_type: str, **obj: Any) -> CanonicalEvent:
    [event] = VENDORS["stripe"].parse(stripe_request(stripe_event("evt_m", event_type, **obj)))
    return normalizers.normalize("stripe", event, CONTEXT)


def subscription(**price: Any) -> dict[str, Any]:
    plan = {"id": "price_1", "unit_amount": 4900, "currency": "usd", "recurring": {"interval": "month"}} | price
    return {"object": "subscription", "id": "sub_1", "items": {"data": [{"price": plan, "quantity": 1}]}}


@pytest.mark.parametrize(
    ("event_type", "fields", "named"),
    [
        ("invoice.paid", {"amount_paid": 1e308}, "data.object.amount_paid"),
        ("invoice.paid", {"amount_paid": -5}, "data.object.amount_paid"),
        ("invoice.paid", {"amount_paid": 10**12}, "data.object.amount_paid"),
        ("invoice.paid", {"amount_paid": 49.5}, "data.object.amount_paid"),
        ("invoice.paid", {"amount_paid": "4900"}, "data.object.amount_paid"),
        ("invoice.paid", {"amount_paid": True}, "data.object.amount_paid"),
        ("invoice.paid", {"currency": "\ud800"}, "data.object.currency"),
        ("invoice.paid", {"currency": "dollars"}, "data.object.currency"),
        ("invoice.paid", {"currency": 840}, "data.object.currency"),
        ("invoice.payment_failed", {"amount_due": -1}, "data.object.amount_due"),
        ("charge.succeeded", {"object": "charge", "amount_paid": None, "amount": 1e20}, "data.object.amount"),
        ("payment_intent.succeeded", {"amount_paid": None, "amount_received": -100}, "data.object.amount_received"),
        ("checkout.session.completed", {"payment_status": "paid", "amount_total": 1e308}, "data.object.amount_total"),
        (
            "customer.subscription.updated",
            subscription(unit_amount=1e308),
            "data.object.items.data[0].price.unit_amount",
        ),
        ("customer.subscription.updated", subscription(unit_amount=-1), "data.object.items.data[0].price.unit_amount"),
        ("customer.subscription.updated", subscription(currency="\ud800"), "data.object.items.data[0].price.currency"),
        ("customer.subscription.created", subscription() | {"currency": "usdollar"}, "data.object.currency"),
    ],
)
def test_money_that_is_not_money_is_refused_naming_the_field(event_type: str, fields: dict, named: str) -> None:
    # Given a signed Stripe event whose money is not a whole, bounded amount in an ISO currency
    # When it is normalized
    # Then it is refused, naming the field, instead of published for a consumer to fail on
    with pytest.raises(MalformedPayload) as refused:
        normalized(event_type, **fields)
    assert str(refused.value).startswith(f"{named}: ")


@pytest.mark.parametrize(
    ("event_type", "fields", "amount", "currency"),
    [
        ("invoice.paid", {"amount_paid": 0}, 0, "usd"),
        ("invoice.paid", {"amount_paid": 999_999_999_999, "currency": "IDR"}, 999_999_999_999, "IDR"),
        ("invoice.payment_failed", {"amount_paid": 0, "amount_due": 4900}, 4900, "usd"),
        ("charge.succeeded", {"object": "charge", "amount": 1500, "currency": "eur"}, 4200, "eur"),
        ("payment_intent.succeeded", {"amount_paid": None, "currency": None}, None, None),
    ],
)
def test_real_stripe_money_is_published_as_it_came(event_type: str, fields: dict, amount: Any, currency: Any) -> None:
    # Given a Stripe payment with whole amounts (0 and 12 digits included) in an ISO currency, or none said
    # When it is normalized
    event = normalized(event_type, **fields)
    # Then the amount and currency travel as Stripe sent them
    assert event.event_type in {EventType.PAYMENT_SUCCEEDED, EventType.PAYMENT_FAILED}
    assert (event.data["amount_minor"], event.data["currency"]) == (amount, currency)


def test_a_subscription_with_real_prices_publishes_them() -> None:
    # Given a subscription whose price is a whole amount in an ISO currency (and one with no unit amount)
    event = normalized("customer.subscription.updated", **subscription() | {"currency": "usd"})
    tiered = normalized("customer.subscription.updated", **subscription(unit_amount=None))
    # Then its items, currency and MRR are published
    assert event.data["items"][0]["unit_amount"] == 4900
    assert (event.data["currency"], event.data["mrr_minor"]) == ("USD", 4900)
    assert tiered.data["items"][0]["unit_amount"] is None


def test_an_unmapped_event_keeps_a_negative_amount() -> None:
    # Given an event the hub does not map, whose amount may be negative in Stripe (an invoice item's credit)
    event = normalized("invoiceitem.created", object="invoiceitem", amount=-500)
    # Then it is kept unmapped as it came: only what the hub publishes as money is held to money
    assert event.event_type is EventType.VENDOR_UNMAPPED
    assert event.data["payload"]["data"]["object"]["amount"] == -500


def test_a_customer_email_that_is_not_text_is_dropped_not_published() -> None:
    # Given a customer whose email is a number (a custom-field mix-up)
    event = normalized("customer.updated", object="customer", id="cus_z1", email=12345, name="Ada")
    # Then the account is upserted without an email, as every vendor drops a non-text email
    assert event.event_type is EventType.ACCOUNT_UPSERTED
    assert event.data["email"] is None
    assert event.subject.email is None
    assert event.data["name"] == "Ada"
