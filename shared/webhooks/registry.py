"""The vendors the gateway knows, by the `{vendor}` path segment they post to (the tracking API's
`segment_api` is reached through `/v1/...` instead)."""

from __future__ import annotations

from shared.webhooks.vendor import Vendor
from shared.webhooks.vendors.calendly import Calendly
from shared.webhooks.vendors.hubspot import HubSpot
from shared.webhooks.vendors.intercom import Intercom
from shared.webhooks.vendors.salesforce import Salesforce
from shared.webhooks.vendors.segment import Segment, SegmentTrackingApi
from shared.webhooks.vendors.slack import Slack
from shared.webhooks.vendors.standard import StandardWebhooks
from shared.webhooks.vendors.stripe import Stripe
from shared.webhooks.vendors.typeform import Typeform
from shared.webhooks.vendors.zendesk import Zendesk

VENDORS: dict[str, Vendor] = {
    vendor.name: vendor
    for vendor in (
        Stripe(),
        HubSpot(),
        Salesforce(),
        Segment(),
        Calendly(),
        Typeform(),
        Zendesk(),
        Intercom(),
        Slack(),
        StandardWebhooks(),
    )
}
TRACKING_API = SegmentTrackingApi()
# Every way in, by the name events are stored under: what the publisher reads stored deliveries with.
ALL_VENDORS: dict[str, Vendor] = {**VENDORS, TRACKING_API.name: TRACKING_API}
