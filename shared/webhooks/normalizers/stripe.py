"""Stripe events onto the taxonomy: payments, subscriptions and customers; anything else unmapped."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from shared.events.canonical import CanonicalEvent, EventType, Subject
from shared.webhooks import envelope as envelope_fields
from shared.webhooks.model import VendorEvent
from shared.webhooks.normalizers.base import Id, List, Obj, Payload, Str, Text, canonical, read
from shared.webhooks.normalizers.stripe_revenue import monthly_recurring_minor
from shared.webhooks.vendor import DeliveryContext, qualified
from shared.webhooks.vendors.stripe import CUSTOMER, PAYMENT_FAILED, PAYMENT_SUCCEEDED, STRIPE

Amount = Annotated[int | None, BeforeValidator(envelope_fields.as_amount_minor)]
"""Money the hub publishes, in minor units; anything but a whole number in range is malformed."""
Currency = Annotated[str | None, BeforeValidator(envelope_fields.as_currency)]
"""The currency of money the hub publishes, as Stripe sent it (`usd`); anything but an ISO code is malformed."""


class StripeObject(Payload):
    """The fields of `data.object` the hub reads (an invoice, charge, payment intent, checkout session,
    subscription or customer); the rest travels as it came."""

    id: Id = None
    object: Str = None
    customer: Any = None  # an id, or the expanded customer object: only an id names the customer
    email: Text = None
    customer_email: Text = None
    receipt_email: Text = None
    customer_details: Obj = Field(default_factory=dict)
    payment_status: Any = None
    last_payment_error: Any = None
    items: Obj = Field(default_factory=dict)


class StripePayment(Payload):
    """What of an invoice, charge, payment intent or checkout session a payment publishes as money. Read only
    for the payments: other objects' amounts (an invoice item's credit) may be negative, and travel as they
    came."""

    amount_paid: Amount = None
    amount_received: Amount = None
    amount_total: Amount = None
    amount: Amount = None
    amount_due: Amount = None
    amount_remaining: Amount = None
    currency: Currency = None


class StripeEventData(Payload):
    object: Obj = Field(default_factory=dict)
    previous_attributes: Obj = Field(default_factory=dict)


class StripePrice(Payload):
    """What of a subscription item's price (or legacy plan) is published or counted as money; the rest
    travels as it came."""

    unit_amount: Amount = None
    amount: Amount = None  # a legacy plan's unit amount
    currency: Currency = None


class StripeItem(Payload):
    price: Obj = Field(default_factory=dict)
    plan: Obj = Field(default_factory=dict)  # the legacy name of the price, on older API versions
    quantity: Any = None


class StripeSubscription(Payload):
    currency: Currency = None


class StripeItems(Payload):
    data: List = Field(default_factory=list)


def normalize(event: VendorEvent, context: DeliveryContext) -> CanonicalEvent:
    envelope = read(StripeEventData, event.payload.get("data"), "data")
    obj = read(StripeObject, envelope.object, "data.object")
    raw = envelope.object
    kind = event.vendor_event_type
    customer = obj.customer if isinstance(obj.customer, str) else None
    subject = _customer(customer, _email_of(obj))
    livemode = bool(event.payload.get("livemode"))
    if kind in PAYMENT_SUCCEEDED or (kind == "checkout.session.completed" and obj.payment_status == "paid"):
        payment = _payment(raw, read(StripePayment, raw, "data.object"), livemode)
        return canonical(STRIPE, event, context, EventType.PAYMENT_SUCCEEDED, subject, payment)
    if kind in PAYMENT_FAILED:
        payment = _payment(raw, read(StripePayment, raw, "data.object"), livemode, failed=True)
        data = payment | {"failure_reason": _failure_reason(obj, raw)}
        return canonical(STRIPE, event, context, EventType.PAYMENT_FAILED, subject, data)
    if kind.startswith("customer.subscription."):
        items = read(StripeItems, obj.items, "data.object.items")
        prices = [read(StripeItem, item, f"data.object.items.data[{n}]") for n, item in enumerate(items.data)]
        for n, item in enumerate(prices):
            read(StripePrice, item.price, f"data.object.items.data[{n}].price")
            read(StripePrice, item.plan, f"data.object.items.data[{n}].plan")
        read(StripeSubscription, raw, "data.object")
        data = _subscription(event, raw, prices, envelope.previous_attributes)
        data["mrr_minor"] = monthly_recurring_minor([item.model_dump() for item in prices])
        return canonical(STRIPE, event, context, EventType.SUBSCRIPTION_CHANGED, subject, data)
    if kind in CUSTOMER:
        subject = _customer(obj.id, obj.email)
        # an email that is not text (a number) is dropped, as every vendor's is (`Text`), never published
        data = {"name": raw.get("name"), "email": obj.email, "livemode": livemode}
        return canonical(STRIPE, event, context, EventType.ACCOUNT_UPSERTED, subject, data)
    return canonical(STRIPE, event, context, EventType.VENDOR_UNMAPPED, subject)


def _customer(customer_id: str | None, email: str | None) -> Subject:
    """A Stripe customer is the billing account and, usually, the person who signed up: both ids name it, so
    the lead it belongs to (found by its email on `customer.created`) gets its trials and subscriptions."""
    customer = qualified(STRIPE, customer_id)
    return Subject(contact_id=customer, account_id=customer, email=email)


def _email_of(obj: StripeObject) -> str | None:
    details = obj.customer_details.get("email")
    return obj.customer_email or obj.receipt_email or obj.email or (details if isinstance(details, str) else None)


_SUCCEEDED_AMOUNTS = ("amount_paid", "amount_received", "amount_total", "amount")
# A failed payment has nothing paid or received: what was asked for is the amount that failed.
_FAILED_AMOUNTS = ("amount_due", "amount", "amount_total", "amount_remaining")


def _payment(obj: dict[str, Any], money: StripePayment, livemode: bool, failed: bool = False) -> dict[str, Any]:
    keys = _FAILED_AMOUNTS if failed else _SUCCEEDED_AMOUNTS
    amount = next((getattr(money, k) for k in keys if k in obj), None)
    return {
        "object": obj.get("object"),
        "object_id": obj.get("id"),
        "amount_minor": amount,
        "currency": money.currency,
        "invoice_id": obj.get("invoice") if obj.get("object") != "invoice" else obj.get("id"),
        # a payment without an invoice (a one-off charge) is told on its charge and its payment intent: this id
        # is the same on both (a string; Stripe may expand it into the object when asked)
        "payment_intent_id": _id_of(
            obj.get("id") if obj.get("object") == "payment_intent" else obj.get("payment_intent")
        ),
        "subscription_id": obj.get("subscription"),
        "livemode": livemode,
    }


def _id_of(value: object) -> str | None:
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def _failure_reason(obj: StripeObject, raw: dict[str, Any]) -> Any:
    error = obj.last_payment_error
    if isinstance(error, dict):
        return error.get("message") or error.get("code")
    return raw.get("failure_message")


def _subscription(
    event: VendorEvent, obj: dict[str, Any], items: list[StripeItem], previous: dict[str, Any]
) -> dict[str, Any]:
    return {
        "change": event.vendor_event_type.removeprefix("customer.subscription."),
        "subscription_id": obj.get("id"),
        "status": obj.get("status"),
        "previous_status": previous.get("status"),
        "items": [
            {
                "price_id": item.price.get("id"),
                "quantity": item.quantity,
                "unit_amount": item.price.get("unit_amount"),
                "interval": _recurring(item.price).get("interval"),
                "interval_count": _recurring(item.price).get("interval_count"),
            }
            for item in items
        ],
        "currency": obj["currency"].upper() if isinstance(obj.get("currency"), str) else None,
        "trial_end": obj.get("trial_end"),
        "cancel_at_period_end": obj.get("cancel_at_period_end"),
        "current_period_end": obj.get("current_period_end"),
    }


def _recurring(price: dict[str, Any]) -> dict[str, Any]:
    recurring = price.get("recurring")
    return recurring if isinstance(recurring, dict) else {}
