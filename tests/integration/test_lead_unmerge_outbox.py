"""The unmerge on moto: the lead.profile_changed of both sides, the one merged away that comes back included, is
stored in the lead table's outbox in the unmerge's own transaction, beside its lead.unmerged."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from shared.adapters.dynamodb_leads import DynamoDbLeadRepository
from shared.events.lead_events import LeadEventType
from shared.leads.capture import LeadCapture
from shared.leads.service import LeadService
from tests.integration.test_lead_outbox import CLOCK, _clock, contact_upserted, leads, outbox_items

__all__ = ["_clock", "leads"]  # the fixtures this module uses, as test_lead_outbox defines them


def stored_events(lead_id: str) -> list[dict[str, Any]]:
    return [json.loads(item["event"]["S"]) for item in outbox_items(lead_id)]


def test_an_unmerge_stores_the_profile_change_of_the_lead_that_comes_back_in_its_transaction(
    aws: Any, leads: tuple[LeadService, DynamoDbLeadRepository]
) -> None:
    service, repo = leads
    # Given Bob, and Alice merged into him (one device user named both)
    bob = str(service.capture(LeadCapture("bob@example.org", "web form", phone="+1 555 0100")).contact_id)
    CLOCK.advance(timedelta(minutes=1))
    service.handle(contact_upserted("bob@example.org", 1))
    CLOCK.advance(timedelta(minutes=1))
    alice = str(service.capture(LeadCapture("alice@example.net", "web form", first_name="Alice")).contact_id)
    CLOCK.advance(timedelta(minutes=1))
    service.handle(contact_upserted("alice@example.net", 2))
    stored = repo.contact(alice)
    assert stored is not None
    assert stored.merged_into == bob
    CLOCK.advance(timedelta(minutes=1))
    # When the merge is undone
    outcome = service.unmerge(bob)
    # Then Alice's outbox holds her lead.profile_changed of the unmerge, stored at its time with her lead.unmerged
    unmerged_at = CLOCK.now().isoformat()
    alices = [e for e in stored_events(alice) if e["occurred_at"].startswith(unmerged_at[:19])]
    kinds = sorted(e["event_type"] for e in alices)
    assert LeadEventType.UNMERGED.value in kinds
    [changed] = [e for e in alices if e["event_type"] == LeadEventType.PROFILE_CHANGED.value]
    assert changed["changed_fields"] == ["phone"]
    assert changed["email"] == "alice@example.net"
    # and it is the event the unmerge told of, as Bob's own is in his outbox
    told = {e.event_id for e in outcome.published if e.event_type is LeadEventType.PROFILE_CHANGED}
    bobs = {e["event_id"] for e in stored_events(bob) if e["event_type"] == LeadEventType.PROFILE_CHANGED.value}
    assert told == {changed["event_id"]} | (told & bobs)
    assert len(told & bobs) == 1
