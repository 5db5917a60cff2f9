"""How a stored delivery is read as its vendor's events, the same way by the receiver (to claim them) and by
the publisher (to put them on the bus): the vendor's own parse, then text no UTF-8 store or bus can carry
mended, so both arrive at the same dedupe keys."""

from __future__ import annotations

import re

from shared.webhooks.model import InboundWebhook, VendorEvent
from shared.webhooks.payload import escape_lone_surrogates, has_lone_surrogates, replace_lone_surrogates
from shared.webhooks.vendor import Vendor

# `\ud800`..`\udfff` in JSON text: how a surrogate (lone, or half of an escaped pair) gets into parsed text
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def read_events(vendor: Vendor, request: InboundWebhook) -> tuple[list[VendorEvent], int]:
    """The delivery's events, and how many of them had lone UTF-16 surrogates mended. Raises what the vendor's
    parse raises (`MalformedPayload`, `PayloadTooLarge`)."""
    parsed = vendor.parse(request)
    if not _may_hold_surrogates(request):
        return parsed, 0
    events = [_mend(event) if _unencodable(event) else event for event in parsed]
    return events, sum(event is not original for event, original in zip(events, parsed, strict=True))


def _may_hold_surrogates(request: InboundWebhook) -> bool:
    """Cheap, and sure to say yes when it matters: a JSON body read as UTF-8 holds a surrogate only as a
    `\\uDxxx` escape of its own text; any other body (gzip, form-encoded, XML) is checked event by event."""
    plain_json = "json" in (request.header("content-type") or "") and not request.header("content-encoding")
    return not plain_json or bool(_SURROGATE_ESCAPE.search(request.body))


def _unencodable(event: VendorEvent) -> bool:
    return has_lone_surrogates([event.dedupe_key, event.vendor_event_id, event.vendor_event_type, event.payload])


def _mend(event: VendorEvent) -> VendorEvent:
    """The event with text a store and a bus can carry: ids keep each surrogate as its escape (so they stay
    distinct), everything else gets U+FFFD in its place."""
    return VendorEvent(
        dedupe_key=escape_lone_surrogates(event.dedupe_key),
        vendor_event_id=escape_lone_surrogates(event.vendor_event_id) if event.vendor_event_id else None,
        vendor_event_type=replace_lone_surrogates(event.vendor_event_type),
        occurred_at=event.occurred_at,
        payload=replace_lone_surrogates(dict(event.payload)),
    )
