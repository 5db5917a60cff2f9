"""The ids of a Segment message name people and accounts, and the hub keys its records by them: each is at
most 255 characters without control characters, or the message is refused naming the id and the limit, never
stored for a consumer to fail on (a DynamoDB key is at most 2,048 bytes)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from shared.events.canonical import CanonicalEvent
from shared.webhooks.model import InboundWebhook
from shared.webhooks.normalizers import normalize
from shared.webhooks.normalizers.segment import MAX_ID_CHARACTERS
from shared.webhooks.vendor import DeliveryContext, MalformedPayload
from shared.webhooks.vendors.segment import SegmentTrackingApi

CONTEXT = DeliveryContext("d1", "r1", datetime(2026, 11, 25, 12, 0, tzinfo=UTC))


def tracked(path: str, body: dict) -> list[CanonicalEvent]:
    request = InboundWebhook("segment_api", "POST", f"https://hub{path}", {}, json.dumps(body).encode(), "r")
    return [normalize("segment_api", event, CONTEXT) for event in SegmentTrackingApi().parse(request)]


LONG = "u" * 3000


@pytest.mark.parametrize(
    ("path", "body", "named"),
    [
        (
            "/v1/track",
            {"userId": None, "messageId": "m", "event": "E", "properties": {}, "anonymousId": LONG},
            "anonymousId",
        ),
        ("/v1/track", {"userId": "u" * (MAX_ID_CHARACTERS + 1), "messageId": "m", "event": "E"}, "userId"),
        ("/v1/group", {"userId": "u1", "messageId": "m", "groupId": LONG}, "groupId"),
        ("/v1/alias", {"userId": "u1", "messageId": "m", "previousId": LONG}, "previousId"),
        ("/v1/identify", {"userId": "ada\nlovelace", "messageId": "m"}, "userId"),
        ("/v1/page", {"anonymousId": "anon\x00", "messageId": "m"}, "anonymousId"),
        ("/v1/batch", {"batch": [{"type": "page", "messageId": "m", "anonymousId": LONG}]}, "anonymousId"),
    ],
)
def test_an_id_the_hub_cannot_key_by_is_refused_naming_it(path: str, body: dict, named: str) -> None:
    # Given a tracking call whose id is too long to key a record by, or holds a control character
    # When it is read
    # Then it is refused, naming the id and what an id may be
    with pytest.raises(MalformedPayload) as refused:
        tracked(path, body)
    field, _, problem = str(refused.value).partition(": ")
    assert field.split(".")[-1] == named  # `batch[0].anonymousId` where the receiver reads it in a batch
    assert f"at most {MAX_ID_CHARACTERS} characters" in problem


def test_ids_up_to_the_limit_and_in_any_script_are_kept() -> None:
    # Given calls whose ids are as long as allowed, in any script, or integers
    longest = "a" * MAX_ID_CHARACTERS
    [page] = tracked("/v1/page", {"anonymousId": longest, "messageId": "m1", "name": "Pricing"})
    [identify] = tracked("/v1/identify", {"userId": "ユーザー-42", "anonymousId": "anon-42", "messageId": "m2"})
    [group] = tracked("/v1/group", {"userId": 42, "messageId": "m3", "groupId": "acme"})
    # Then they name their people and accounts as they came
    assert page.subject.contact_id == f"segment-anonymous:{longest}"
    assert identify.subject.contact_id == "segment:ユーザー-42"
    assert (group.subject.contact_id, group.subject.account_id) == ("segment:42", "segment:acme")


def test_a_context_group_id_the_hub_cannot_key_by_says_nothing() -> None:
    # Given a track whose context names its account with an id too long to key by (context never loses a call)
    [event] = tracked("/v1/track", {"userId": "u1", "messageId": "m", "event": "E", "context": {"groupId": LONG}})
    # Then the engagement is kept, without the account
    assert "group_id" not in event.data
    assert event.subject.contact_id == "segment:u1"
