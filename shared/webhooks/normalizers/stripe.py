"""Stripe events onto the taxonomy: payments, subscriptions and customers; anything else unmapped."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from shared.events.canonical import CanonicalEvent, EventType, Subject
from shared.webhooks.model import VendorEvent
from shared.webhooks.normalizers.base import Id, List, Obj, Payload, Str, Text, canonical, read
from shared.webhooks.normalizers.stripe_revenue import monthly_recurring_minor
from shared.webhooks.vendor import DeliveryContext, qualified
from shared.webhooks.vendors.stripe import STRIPE

_PAYMENT_SUCCEEDED = {"invoice.paid", "invoice.payment_succeeded", "payment_intent.succeeded", "charge.succeeded"}
_PAYMENT_FAILED = {"invoice.payment_failed", "payment_intent.payment_failed", "charge.failed"}
_CUSTOMER = {"customer.created", "customer.updated"}


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


class StripeEventData(Payload):
    object: Obj = Field(default_factory=dict)
    previous_attributes: Obj = Field(default_factory=dict)


class StripeItem(Payload):
    price: Obj = Field(default_factory=dict)
    plan: Obj = Field(default_factory=dict)  # the legacy name of the price, on older API versions
    quantity: Any = None


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
    if kind in _PAYMENT_SUCCEEDED or (kind == "checkout.session.completed" and obj.payment_status == "paid"):
        return canonical(STRIPE, event, context, EventType.PAYMENT_SUCCEEDED, subject, _payment(raw, livemode))
    if kind in _PAYMENT_FAILED:
        data = _payment(raw, livemode, failed=True) | {"failure_reason": _failure_reason(obj, raw)}
        return canonical(STRIPE, event, context, EventType.PAYMENT_FAILED, subject, data)
    if kind.startswith("customer.subscription."):
        items = read(StripeItems, obj.items, "data.object.items")
        prices = [read(StripeItem, item, f"data.object.items.data[{n}]") for n, item in enumerate(items.data)]
        data = _subscription(event, raw, prices, envelope.previous_attributes)
        data["mrr_minor"] = monthly_recurring_minor([item.model_dump() for item in prices])
        return canonical(STRIPE, event, context, EventType.SUBSCRIPTION_CHANGED, subject, data)
    if kind in _CUSTOMER:
        subject = _customer(obj.id, obj.email)
        data = {"name": raw.get("name"), "email": raw.get("email"), "livemode": livemode}
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


def _payment(obj: dict[str, Any], livemode: bool, failed: bool = False) -> dict[str, Any]:
    keys = _FAILED_AMOUNTS if failed else _SUCCEEDED_AMOUNTS
    amount = next((obj[k] for k in keys if k in obj), None)
    return {
        "object": obj.get("object"),
        "object_id": obj.get("id"),
        "amount_minor": amount,
        "currency": obj.get("currency"),
        "invoice_id": obj.get("invoice") if obj.get("object") != "invoice" else obj.get("id"),
        "subscription_id": obj.get("subscription"),
        "livemode": livemode,
    }


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
