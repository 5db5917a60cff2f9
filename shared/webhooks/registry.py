"""The vendors the gateway knows, by the `{vendor}` path segment they post to (the tracking API's
`segment_api` is reached through `/v1/...` instead)."""

from __future__ import annotations

from shared.webhooks.vendor import Vendor
from shared.webhooks.vendors.hubspot import HubSpot
from shared.webhooks.vendors.segment import Segment, SegmentTrackingApi
from shared.webhooks.vendors.stripe import Stripe

VENDORS: dict[str, Vendor] = {vendor.name: vendor for vendor in (Stripe(), HubSpot(), Segment())}
TRACKING_API = SegmentTrackingApi()
