"""CRM echoes at the lead processor: a CRM's echo of the hub's own earlier write must not override a newer value
the hub learned since (seen as a 10-point fit loss in `tests/e2e/test_leads.py` under load, when the processor
applied CRM `contact.upserted` events itself; now it takes CRM field changes from the sync's
`sync.field_changed`, published only when a CRM change wins), and an echo of what the lead already holds costs
as few reads as the processor can make it (echoes are most of what the CRMs send while the sync writes)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest

from shared.leads.capture import LeadCapture
from shared.leads.model import Identity
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


def test_an_echo_of_what_the_lead_already_holds_reads_its_identities_owners_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a captured lead linked to its HubSpot record
    hub = Hub()
    email = "grace@acme.io"
    hub.service.capture(LeadCapture(email=email, source="partner", company="Acme", job_title="VP"))
    hub.clock.advance(timedelta(milliseconds=100))
    hubspot_echo(hub, 1000001, "email", email, int(hub.clock.now().timestamp() * 1000))
    owner_reads: list[int] = []
    read_owners = hub.repo.owners

    def counted_owners(found: Sequence[Identity]) -> dict[str, str]:
        owner_reads.append(len(found))
        return read_owners(found)

    monkeypatch.setattr(hub.repo, "owners", counted_owners)
    # When HubSpot echoes the title the hub wrote
    hub.clock.advance(timedelta(seconds=1))
    hubspot_echo(hub, 1000001, "jobtitle", "VP", int(hub.clock.now().timestamp() * 1000))
    # Then the processor read the owners of the event's identities once, and changed nothing
    assert owner_reads == [1]
    assert hub.lead(email).profile.get("job_title") == "VP"
