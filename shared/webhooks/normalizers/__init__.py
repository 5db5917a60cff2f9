"""Normalization: each stored vendor event onto the canonical taxonomy, on the publisher's side of the
outbox (the receiver only verifies, splits and stores; `shared/webhooks/vendors/`).

One module per vendor, each with the pydantic models of what it reads and a
`normalize(event, context) -> CanonicalEvent`; Segment's two ways in (`segment`, `segment_api`) share one.
A field of the wrong type found while normalizing is a `MalformedPayload` naming it
(`data.object.items: expected an object`); the receiver has already refused those of each event's envelope.
"""

from __future__ import annotations

from collections.abc import Callable

from shared.events.canonical import CanonicalEvent
from shared.webhooks.model import VendorEvent
from shared.webhooks.normalizers import (
    calendly,
    hubspot,
    intercom,
    salesforce,
    segment,
    slack,
    standard,
    stripe,
    typeform,
    zendesk,
)
from shared.webhooks.vendor import DeliveryContext

Normalizer = Callable[[VendorEvent, DeliveryContext], CanonicalEvent]

NORMALIZERS: dict[str, Normalizer] = {
    stripe.STRIPE: stripe.normalize,
    hubspot.HUBSPOT: hubspot.normalize,
    salesforce.SALESFORCE: salesforce.normalize,
    segment.SEGMENT: segment.normalize,
    segment.SEGMENT_API: segment.normalize_tracking_api,
    calendly.CALENDLY: calendly.normalize,
    typeform.TYPEFORM: typeform.normalize,
    zendesk.ZENDESK: zendesk.normalize,
    intercom.INTERCOM: intercom.normalize,
    slack.SLACK: slack.normalize,
    standard.STANDARD: standard.normalize,
}
"""The normalizer of each vendor, by the name its events are stored under (`Vendor.name`)."""


class UnknownVendor(LookupError):
    """No normalizer is registered for the vendor an event was stored under."""


def normalize(vendor_name: str, event: VendorEvent, context: DeliveryContext) -> CanonicalEvent:
    """`event`, received from `vendor_name` in the delivery `context`, as the canonical event it becomes."""
    try:
        normalizer = NORMALIZERS[vendor_name]
    except KeyError:
        raise UnknownVendor(f"no normalizer for vendor {vendor_name[:64]!r}; known: {', '.join(NORMALIZERS)}") from None
    return normalizer(event, context)
