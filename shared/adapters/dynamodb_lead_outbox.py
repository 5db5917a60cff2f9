"""The lead table's outbox: each lead event a change makes is one item written in that change's transaction, so
the event exists exactly when the change does (a lost or refused commit has told no one), and the lead
publisher puts it on the bus from the table's stream (`functions/lead_publisher`).

Item: `CONTACT#<lead id>` / `OUTBOX#<occurred at>#<event id>`, `entity=lead_event` (what the stream trigger's filter
matches), the event as its JSON, and `expires_at` (TTL) some days after the change, long enough for an operator to
read what went out; an erasure deletes the contact's partition, outbox items with it, and the items of a lead it
was merged with and split from that carry its email (`dynamodb_privacy_leads`). The key holds the time of
the change as well as the event's id because an id can come back: a lead handed off, recycled and handed off
again makes `lead.handoff_requested` with the same id and a new cause, and an item written over would reach the
stream as a MODIFY, which the trigger does not pass on: the second handoff would never be published. Every
committed event is an INSERT, as every event used to be put on the bus."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from shared.adapters.dynamodb_lead_items import contact_pk, iso, serialize
from shared.catalog.leads import OUTBOX_DAYS, OUTBOX_ENTITY
from shared.events.lead_events import LeadEvent
from shared.events.relay import StoredEvent

OUTBOX = "OUTBOX#"


def outbox_put(table: str, event: LeadEvent) -> dict[str, Any]:
    """The transaction item storing `event`, a new item for each change that makes it (see above)."""
    item = {
        "pk": contact_pk(event.lead_id),
        "sk": f"{OUTBOX}{iso(event.occurred_at)}#{event.event_id}",
        "entity": OUTBOX_ENTITY,
        "event": event.model_dump_json(),
        "expires_at": int((event.occurred_at + timedelta(days=OUTBOX_DAYS)).timestamp()),
    }
    return {"Put": {"TableName": table, "Item": serialize(item)}}


def stored_lead_event(record: Mapping[str, Any]) -> StoredEvent:
    """A stream record of a new outbox item as the relay's entry; a record that is none raises KeyError,
    TypeError or ValueError (pydantic's ValidationError is one)."""
    image = record["dynamodb"]["NewImage"]
    if image["entity"]["S"] != OUTBOX_ENTITY:
        raise ValueError(f"entity {image['entity']['S']!r} is not {OUTBOX_ENTITY!r}")
    return StoredEvent(str(record["dynamodb"]["SequenceNumber"]), LeadEvent.model_validate_json(image["event"]["S"]))
