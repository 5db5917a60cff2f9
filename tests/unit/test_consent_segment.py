"""Segment's consent object travels on: every call's `context.consent.categoryPreferences` becomes the canonical
event's `data.consent`, a malformed one says nothing and never loses the call, and the lead domain reads it."""

from __future__ import annotations

from typing import Any

import pytest

from shared.events.canonical import EventType
from shared.leads.consent import statements_of_event
from shared.leads.consent_policy import load_consent_policy
from shared.webhooks.vendors.segment import SegmentTrackingApi
from tests.unit.test_vendor_segment import api_call, message, normalized


@pytest.mark.parametrize(
    ("kind", "event_type"),
    [
        ("identify", EventType.CONTACT_UPSERTED),
        ("alias", EventType.CONTACT_UPSERTED),
        ("group", EventType.ACCOUNT_UPSERTED),
        ("track", EventType.ENGAGEMENT_RECORDED),
        ("page", EventType.ENGAGEMENT_RECORDED),
        ("screen", EventType.ENGAGEMENT_RECORDED),
    ],
)
def test_every_call_carries_the_persons_consent(kind: str, event_type: EventType) -> None:
    # Given a call whose CMP refused advertising and allowed analytics
    preferences = {"Advertising": False, "Analytics": True}
    msg = message(kind, context={"consent": {"categoryPreferences": preferences}})
    # When it is received and normalized
    [event] = normalized(SegmentTrackingApi(), api_call(f"/v1/{kind}", msg))
    # Then the consent travels in Segment's shape, and reads as the policy's purposes
    assert event.event_type is event_type
    assert event.data["consent"] == {"categoryPreferences": preferences}
    said = {(s.purpose, s.granted) for s in statements_of_event(event, load_consent_policy())}
    assert said == {("marketing", False), ("analytics", True)}


@pytest.mark.parametrize(
    ("consent", "expected"),
    [
        (None, None),
        ({}, None),
        ([], None),
        ("yes", None),
        ({"categoryPreferences": "all"}, None),
        ({"categoryPreferences": {"Marketing": "maybe", "Analytics": 1}}, None),
        ({"categoryPreferences": {"Marketing": "FALSE", "Functional": True}}, {"Marketing": False, "Functional": True}),
    ],
)
def test_a_missing_or_malformed_consent_says_nothing_and_keeps_the_call(consent: Any, expected: Any) -> None:
    context = {} if consent is None else {"consent": consent}
    [event] = normalized(SegmentTrackingApi(), api_call("/v1/track", message("track", context=context)))
    assert event.event_type is EventType.ENGAGEMENT_RECORDED
    assert event.data.get("consent") == (None if expected is None else {"categoryPreferences": expected})
