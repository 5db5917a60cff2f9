"""The vendors the gateway knows, by the `{vendor}` path segment they post to."""

from __future__ import annotations

from shared.webhooks.vendor import Vendor
from shared.webhooks.vendors.hubspot import HubSpot
from shared.webhooks.vendors.stripe import Stripe

VENDORS: dict[str, Vendor] = {vendor.name: vendor for vendor in (Stripe(), HubSpot())}
