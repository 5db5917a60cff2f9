"""The sizes that price a stored delivery: its item (what DynamoDB bills write units and storage on), its copy in
the log index, and the canonical event it becomes (what the bus and its archive carry). Measured on a real
Stripe `invoice.paid` delivery through the same code the functions run."""

from __future__ import annotations

from datetime import UTC, datetime

from local_runtime.example import build
from shared.adapters.dynamodb_ledger import INDEX, _attempt_attributes, _claim_attributes, _item_size
from shared.catalog import WEBHOOK_DELIVERIES
from shared.events.ids import event_id
from shared.webhooks.ingest import WebhookIngest
from shared.webhooks.model import InboundWebhook, StoredEvent
from shared.webhooks.normalizers import normalize
from shared.webhooks.registry import VENDORS
from shared.webhooks.vendor import DeliveryContext


def stripe_delivery_sizes() -> tuple[int, int, int]:
    """(item bytes, index item bytes, canonical event JSON bytes) of one accepted Stripe delivery."""
    url, example = build("stripe", "https://hub.example.com")
    headers = {key.lower(): value for key, value in example.headers.items()} | {"content-type": example.content_type}
    request = InboundWebhook("stripe", "POST", url, headers, example.body, "r1", "203.0.113.9")
    attempt = WebhookIngest({}, None, None, None)._attempt(request, datetime.now(UTC))  # type: ignore[arg-type]
    [vendor_event] = VENDORS["stripe"].parse(request)
    stored = StoredEvent("stripe", vendor_event.dedupe_key, event_id("stripe", vendor_event.dedupe_key))
    item = _attempt_attributes(attempt) | _claim_attributes(stored, attempt)
    [index] = [i for i in WEBHOOK_DELIVERIES.indexes if i.name == INDEX]
    projected = {
        name: value
        for name, value in item.items()
        if name in (*(index.include or ()), "pk", "log_partition", "log_sort")
    }
    canonical = normalize("stripe", vendor_event, DeliveryContext(attempt.attempt_id, "r1", attempt.received_at))
    return _item_size(item), _item_size(projected), len(canonical.model_dump_json())
