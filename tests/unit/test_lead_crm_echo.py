"""A known bug, kept failing on purpose until it is fixed: a CRM's echo of the hub's own earlier write overrides a
newer value the hub learned since. The lead processor applies CRM `contact.upserted` events itself, and only the
CRM sync knows which CRM changes are echoes of its own writes (`shared.crm.resolution`, `Outcome.ECHO`), so a
title the sync wrote from a capture ("VP"), echoed back after the person's identify ("VP of Sales"), wins on
time. Seen as a 10-point fit loss in `tests/e2e/test_leads.py` under load. The fix: the lead processor takes CRM
field changes from `sync.field_changed` (published only when a CRM change wins, echoes and conflicts settled)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared.leads.capture import LeadCapture
from tests.unit.test_lead_journey_fixes import Hub


def hubspot_echo(hub: Hub, object_id: int, prop: str, value: Any, at_ms: int) -> None:
    event = {
        "eventId": 4,
        "subscriptionId": 1,
        "portalId": 62515,
        "occurredAt": at_ms,
        "subscriptionType": "contact.propertyChange",
        "attemptNumber": 0,
        "objectId": object_id,
        "propertyName": prop,
        "propertyValue": value,
        "changeSource": "INTEGRATION",
        "sourceId": "1160452",
    }
    hub.deliver("hubspot", [event])


def test_a_crm_echo_of_an_older_hub_value_does_not_override_a_newer_identify() -> None:
    hub = Hub()
    email = "grace@acme.io"
    # Given a lead captured twice: its title is "VP" (the CRM sync writes that to HubSpot)
    hub.capture(email)
    hub.clock.advance(timedelta(milliseconds=300))
    hub.service.capture(LeadCapture(email=email, source="partner", company="Acme", job_title="VP"))
    hub.clock.advance(timedelta(milliseconds=100))
    hubspot_echo(hub, 1000001, "email", email, int(hub.clock.now().timestamp() * 1000))  # links the CRM record
    # And the person then identifies with their full title
    hub.clock.advance(timedelta(seconds=1))
    identified_at = hub.clock.now()
    hub.segment("identify", userId="user-1", traits={"email": email, "title": "VP of Sales"})
    # When HubSpot's echo of the sync's write of "VP" (made just after the identify was sent) arrives last
    hubspot_echo(hub, 1000001, "jobtitle", "VP", int((identified_at + timedelta(milliseconds=90)).timestamp() * 1000))
    # Then the lead keeps the title the person gave
    assert hub.lead(email).profile.get("job_title") == "VP of Sales"
