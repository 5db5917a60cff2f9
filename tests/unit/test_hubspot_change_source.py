"""HubSpot's `changeSource` is how the CRM sync tells a person's change from an integration's: a signed event
whose `changeSource` is not text is malformed (400 naming it, logged like any refused delivery), never accepted
and then failing the sync recorder on every retry; and the sync reads a canonical event's change source as text
or nothing whatever it holds."""

from __future__ import annotations

from typing import Any

import pytest

from shared.crm.inbound import crm_report
from shared.crm.mappings import load_crm_mappings
from shared.webhooks.vendor import MalformedPayload
from tests.unit.test_normalization import normalize
from tests.webhook_samples import hubspot_event, hubspot_events


@pytest.mark.parametrize("change_source", [["CRM"], {"source": "CRM"}, 7])
def test_a_change_source_that_is_not_text_is_a_malformed_event(change_source: Any) -> None:
    # Given a HubSpot property change whose changeSource is an array, an object or a number
    body = hubspot_events(hubspot_event(changeSource=change_source))
    # When it is normalized / Then it is refused naming the field
    with pytest.raises(MalformedPayload, match="changeSource"):
        normalize("hubspot", body)


def test_the_sync_reads_a_change_source_it_cannot_use_as_no_person() -> None:
    # Given a canonical HubSpot contact change carrying a change source that is no text (an older event, a replay)
    [event] = normalize("hubspot", hubspot_events(hubspot_event(changeSource="CRM_UI")))
    odd = event.model_copy(update={"data": {**event.data, "change_source": ["CRM_UI"], "source_id": None}})
    # When the sync reads it
    report = crm_report(odd, load_crm_mappings())
    # Then it is a change by no person, with no actor, rather than a crash
    assert report is not None
    assert (report.by_person, report.actor) == (False, None)
    assert report.values == {"email": "ada@example.com"}
