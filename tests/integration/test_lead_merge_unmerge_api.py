"""The lead API's unmerge after nested merges (moto): a lead merged into one that was merged away since is
separated from the lead it is part of now, never a 5xx."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import pytest

from shared.events.canonical import EventType, Subject
from tests.canonical_events import canonical_event
from tests.integration.conftest import handler_module
from tests.integration.test_lead_api_inputs import GOOD, call, capture

UNMERGE = "/api/v1/leads/{lead_id}/unmerge"


@pytest.fixture
def leads_api(aws: Any) -> ModuleType:
    return handler_module("leads_api")


def _handle(api: ModuleType, n: int, event_type: EventType, subject: Subject, data: dict[str, Any]) -> str:
    event = canonical_event(event_type, subject, data, at=datetime.now(UTC), n=n, series="unmerge-api")
    outcome = api.service.handle(event)
    assert outcome.contact_id
    return str(outcome.contact_id)


def unmerge(api: ModuleType, lead_id: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    path = UNMERGE.format(lead_id=lead_id)
    raw = json.dumps(body).encode()
    return call(api, "POST", path, raw, resource=UNMERGE, path_parameters={"lead_id": lead_id})


def test_unmerging_a_lead_whose_survivor_was_merged_away_separates_it_from_the_head(leads_api: ModuleType) -> None:
    # Given A captured; C an anonymous visitor merged into B (a Segment user), then B merged into A
    status, body = capture(leads_api, GOOD)
    assert status == 201
    a = body["lead_id"]
    c = _handle(
        leads_api,
        1,
        EventType.ENGAGEMENT_RECORDED,
        Subject(contact_id="segment-anonymous:anon-1"),
        {"kind": "page_view"},
    )
    b = _handle(leads_api, 2, EventType.CONTACT_UPSERTED, Subject(contact_id="segment:u-1"), {"user_id": "u-1"})
    _handle(
        leads_api,
        3,
        EventType.CONTACT_UPSERTED,
        Subject(contact_id="segment:u-1"),
        {"user_id": "u-1", "anonymous_id": "anon-1"},
    )
    _handle(
        leads_api,
        4,
        EventType.CONTACT_UPSERTED,
        Subject(contact_id="segment:u-1", email="ada@acme.io"),
        {"user_id": "u-1"},
    )
    repo = leads_api.service.repository
    assert repo.contact(c).merged_into == b
    assert repo.contact(b).merged_into == a
    # When C is unmerged through the API
    status, body = unmerge(leads_api, c, {})
    # Then it is separated from A, the lead it is part of now
    assert (status, body) == (200, {"lead_id": c, "separated_from": a})
    assert repo.contact(c).merged_into is None
    assert repo.contact(a).members == [b]
    # and naming a lead it is not merged into is a client's error
    status, body = unmerge(leads_api, b, {"other_lead_id": c})
    assert status == 400, (status, body)
