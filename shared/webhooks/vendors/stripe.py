"""Stripe: `Stripe-Signature: t=<seconds>,v1=<hex>[,v1=<hex>...]`, HMAC-SHA256 of `"{t}.{body}"`.

One event per request, identified by its `evt_...` id, which Stripe keeps across its 3 days of retries.
How its events map onto the taxonomy: `shared.webhooks.normalizers.stripe`.
"""

from __future__ import annotations

from datetime import datetime

from shared.webhooks.envelope import amount_minor, currency, epoch_seconds, identifier, key_id, mapping, text
from shared.webhooks.model import InboundWebhook, VendorEvent
from shared.webhooks.signatures import (
    sign_timestamped_hex_hmac,
    verify_timestamped_hex_hmac,
)
from shared.webhooks.vendor import MalformedPayload, Vendor, load_json

STRIPE = "stripe"
SIGNATURE_HEADER = "Stripe-Signature"

# The events the hub publishes money from (`shared.webhooks.normalizers.stripe`): their money is checked here,
# so one the hub cannot use is refused with a 400 instead of accepted for a consumer to fail on.
PAYMENT_SUCCEEDED = {"invoice.paid", "invoice.payment_succeeded", "payment_intent.succeeded", "charge.succeeded"}
PAYMENT_FAILED = {"invoice.payment_failed", "payment_intent.payment_failed", "charge.failed"}
CUSTOMER = {"customer.created", "customer.updated"}
# Every field a payment may take its amount from (an invoice, charge, payment intent or checkout session)
PAYMENT_AMOUNTS = ("amount_paid", "amount_received", "amount_total", "amount", "amount_due", "amount_remaining")
# The ids a payment publishes that the success consumers key a customer's invoices and subscriptions by
# (`invoice_id`, `subscription_id`, `object_id`): each an id of at most 255 characters, as every record id. A
# reference that is not an id (an expanded object) names none and travels as it came.
PAYMENT_REFERENCES = ("invoice", "subscription")


class Stripe(Vendor):
    name = STRIPE

    def verify(self, request: InboundWebhook, secrets: list[str], now: datetime) -> None:
        verify_timestamped_hex_hmac(SIGNATURE_HEADER, request.header(SIGNATURE_HEADER), request.body, secrets, now)

    def parse(self, request: InboundWebhook) -> list[VendorEvent]:
        body = load_json(request.body)
        if not isinstance(body, dict) or body.get("object") != "event":
            raise MalformedPayload('expected a Stripe event object ({"object": "event", ...})')
        event_id, event_type = identifier(body, "id"), text(body, "type")
        created = epoch_seconds(body, "created")
        data = mapping(body, "data")
        obj = mapping(data, "object", "data")
        mapping(data, "previous_attributes", "data")
        _money(event_type or "", obj)
        _ids(event_type or "", obj)
        if not event_id:
            raise MalformedPayload("Stripe event has no id")
        if not event_type:
            raise MalformedPayload("Stripe event has no type")
        return [
            VendorEvent(
                dedupe_key=event_id,
                vendor_event_id=event_id,
                vendor_event_type=event_type,
                occurred_at=created,
                payload=body,
            )
        ]


def _money(event_type: str, obj: dict[str, object]) -> None:
    """The money of an event the hub publishes money from is whole minor units in an ISO currency. Other events'
    amounts are not read (an invoice item's credit is negative) and travel as they came."""
    where = "data.object"
    payment = event_type in PAYMENT_SUCCEEDED | PAYMENT_FAILED or event_type == "checkout.session.completed"
    if payment:
        for key in PAYMENT_AMOUNTS:
            amount_minor(obj, key, where)
        currency(obj, "currency", where)
    if event_type.startswith("customer.subscription."):
        currency(obj, "currency", where)
        # the items' structure is the normalizer's to read (a string where an object goes is published
        # unmapped with the problem); only their money is checked here
        items = obj.get("items")
        listed = items.get("data") if isinstance(items, dict) else None
        for n, item in enumerate(listed if isinstance(listed, list) else []):
            for name in ("price", "plan"):
                price = item.get(name) if isinstance(item, dict) else None
                if isinstance(price, dict):
                    price_at = f"{where}.items.data[{n}].{name}"
                    amount_minor(price, "unit_amount", price_at)
                    amount_minor(price, "amount", price_at)
                    currency(price, "currency", price_at)


def _ids(event_type: str, obj: dict[str, object]) -> None:
    """The invoice, subscription and object ids a payment or a subscription change publishes, and the customer
    id every event's subject is made of (`contact_id` and `account_id`, `stripe:<id>`), are ids the hub keys
    records by: at most 255 characters, no control characters (`key_id`), or the event is refused."""
    where = "data.object"
    if event_type in CUSTOMER:
        # the customer itself: its id is the subject's
        customer_id = obj.get("id")
        if isinstance(customer_id, str | int) and not isinstance(customer_id, bool):
            key_id(obj, "id", where)
    elif isinstance(obj.get("customer"), str):
        # only an id names the customer; an expanded customer object names none and travels as it came
        key_id(obj, "customer", where)
    if event_type in PAYMENT_SUCCEEDED | PAYMENT_FAILED or event_type == "checkout.session.completed":
        key_id(obj, "id", where)
        for key in PAYMENT_REFERENCES:
            if isinstance(obj.get(key), str | int):
                key_id(obj, key, where)
    elif event_type.startswith("customer.subscription."):
        key_id(obj, "id", where)


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The `Stripe-Signature` header Stripe would send; used by the local examples."""
    return sign_timestamped_hex_hmac(secret, body, timestamp)
