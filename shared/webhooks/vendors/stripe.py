"""Stripe: `Stripe-Signature: t=<seconds>,v1=<hex>[,v1=<hex>...]`, HMAC-SHA256 of `"{t}.{body}"`.

One event per request, identified by its `evt_...` id, which Stripe keeps across its 3 days of retries.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.events.canonical import CanonicalEvent, EventType, Subject
from shared.webhooks.model import InboundWebhook, VendorEvent
from shared.webhooks.signatures import (
    sign_timestamped_hex_hmac,
    verify_timestamped_hex_hmac,
)
from shared.webhooks.vendor import DeliveryContext, MalformedPayload, Vendor, load_json, qualified

STRIPE = "stripe"
SIGNATURE_HEADER = "Stripe-Signature"

_PAYMENT_SUCCEEDED = {"invoice.paid", "invoice.payment_succeeded", "payment_intent.succeeded", "charge.succeeded"}
_PAYMENT_FAILED = {"invoice.payment_failed", "payment_intent.payment_failed", "charge.failed"}
_CUSTOMER = {"customer.created", "customer.updated"}


class Stripe(Vendor):
    name = STRIPE

    def verify(self, request: InboundWebhook, secrets: list[str], now: datetime) -> None:
        verify_timestamped_hex_hmac(SIGNATURE_HEADER, request.header(SIGNATURE_HEADER), request.body, secrets, now)

    def parse(self, request: InboundWebhook) -> list[VendorEvent]:
        event = load_json(request.body)
        if not isinstance(event, dict) or event.get("object") != "event":
            raise MalformedPayload('expected a Stripe event object ({"object": "event", ...})')
        event_id, event_type = event.get("id"), event.get("type")
        if not isinstance(event_id, str) or not event_id:
            raise MalformedPayload("Stripe event has no id")
        if not isinstance(event_type, str) or not event_type:
            raise MalformedPayload("Stripe event has no type")
        created = event.get("created")
        occurred_at = datetime.fromtimestamp(created, tz=UTC) if isinstance(created, int) else None
        return [
            VendorEvent(
                dedupe_key=event_id,
                vendor_event_id=event_id,
                vendor_event_type=event_type,
                occurred_at=occurred_at,
                payload=event,
            )
        ]

    def normalize(self, event: VendorEvent, context: DeliveryContext) -> CanonicalEvent:
        obj: dict[str, Any] = (event.payload.get("data") or {}).get("object") or {}
        kind = event.vendor_event_type
        customer = obj.get("customer") if isinstance(obj.get("customer"), str) else None
        subject = _customer(customer, _email_of(obj))
        livemode = bool(event.payload.get("livemode"))
        if kind in _PAYMENT_SUCCEEDED or (kind == "checkout.session.completed" and obj.get("payment_status") == "paid"):
            return self.canonical(event, context, EventType.PAYMENT_SUCCEEDED, subject, _payment(obj, livemode))
        if kind in _PAYMENT_FAILED:
            data = _payment(obj, livemode, failed=True) | {"failure_reason": _failure_reason(obj)}
            return self.canonical(event, context, EventType.PAYMENT_FAILED, subject, data)
        if kind.startswith("customer.subscription."):
            return self.canonical(event, context, EventType.SUBSCRIPTION_CHANGED, subject, _subscription(event, obj))
        if kind in _CUSTOMER:
            subject = _customer(obj.get("id"), obj.get("email"))
            data = {"name": obj.get("name"), "email": obj.get("email"), "livemode": livemode}
            return self.canonical(event, context, EventType.ACCOUNT_UPSERTED, subject, data)
        return self.canonical(event, context, EventType.VENDOR_UNMAPPED, subject)


def _customer(customer_id: object, email: object) -> Subject:
    """A Stripe customer is the billing account and, usually, the person who signed up: both ids name it, so
    the lead it belongs to (found by its email on `customer.created`) gets its trials and subscriptions."""
    customer = qualified(STRIPE, customer_id) if isinstance(customer_id, str) else None
    return Subject(contact_id=customer, account_id=customer, email=email if isinstance(email, str) else None)


def _email_of(obj: dict[str, Any]) -> str | None:
    for key in ("customer_email", "receipt_email", "email"):
        if isinstance(obj.get(key), str):
            return str(obj[key])
    details = obj.get("customer_details")
    if isinstance(details, dict) and isinstance(details.get("email"), str):
        return str(details["email"])
    return None


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


def _failure_reason(obj: dict[str, Any]) -> str | None:
    error = obj.get("last_payment_error")
    if isinstance(error, dict):
        return error.get("message") or error.get("code")
    return obj.get("failure_message")


def _subscription(event: VendorEvent, obj: dict[str, Any]) -> dict[str, Any]:
    items = ((obj.get("items") or {}).get("data")) or []
    prices = [
        {"price_id": (item.get("price") or {}).get("id"), "quantity": item.get("quantity")}
        for item in items
        if isinstance(item, dict)
    ]
    previous = (event.payload.get("data") or {}).get("previous_attributes") or {}
    return {
        "change": event.vendor_event_type.removeprefix("customer.subscription."),
        "subscription_id": obj.get("id"),
        "status": obj.get("status"),
        "previous_status": previous.get("status"),
        "items": prices,
        "trial_end": obj.get("trial_end"),
        "cancel_at_period_end": obj.get("cancel_at_period_end"),
        "current_period_end": obj.get("current_period_end"),
    }


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The `Stripe-Signature` header Stripe would send; used by the local examples."""
    return sign_timestamped_hex_hmac(secret, body, timestamp)
