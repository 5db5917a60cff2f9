"""A health signal that reaches the success recorder before the lead processor has linked its account, over moto
and through the functions as AWS invokes them: a Stripe payment in the same second as its customer's creation is
parked, the recorder's copy of the customer's `account.upserted` fails for a retry while the lead store is behind
it, and once the lead processor has handled it, the retried event adopts the payment: the health answer
measures it without any later signal."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from local_runtime.provision import Provisioned
from shared.catalog import physical_name
from shared.catalog.success import HEALTH_PATH
from shared.events.canonical import EventType, Subject
from shared.success.service import AccountNotCaughtUp
from tests.integration.test_handoff_functions import REGION, STAGE
from tests.integration.test_health_onboarding_functions import Success, claims

KESTREL = Subject(account_id="stripe:cus_park", contact_id="stripe:cus_park", email="kim@kestrel-park.io")


@pytest.fixture
def success(aws: Provisioned) -> Success:
    return Success(aws)


def health(success: Success) -> dict[str, Any]:
    status, answer = success.call(success.api, "GET", HEALTH_PATH, who=claims("success"), tenant_id="kestrel-park.io")
    assert status == 200, answer
    return answer


def success_items(success: Success) -> list[dict[str, Any]]:
    """Every item of the success table, in key order."""
    pages = boto3.client("dynamodb", region_name=REGION).get_paginator("scan")
    items = [item for page in pages.paginate(TableName=physical_name(STAGE, "success")) for item in page["Items"]]
    return sorted(items, key=lambda item: (item["pk"]["S"], item["sk"]["S"]))


def test_a_payment_before_its_customer_was_linked_counts_once_the_customer_is(success: Success) -> None:
    # Given Stripe's invoice payment reaching the recorder before the lead processor has seen the customer
    payment = success.canonical(
        EventType.PAYMENT_SUCCEEDED, KESTREL, {"amount_minor": 4900, "currency": "usd"}, "stripe"
    )
    parked = success.hub.invoke(success.recorder, payment)
    assert parked["tenant_id"] is None
    assert "parked" in parked["note"]
    upserted = success.canonical(
        EventType.ACCOUNT_UPSERTED, KESTREL, {"name": "Kestrel", "domain": "kestrel-park.io"}, "stripe"
    )
    # When the recorder is handed the customer's account.upserted before the lead processor
    # Then it fails for a retry: the lead store is behind, nothing is wrong with the event
    with pytest.raises(AccountNotCaughtUp):
        success.hub.invoke(success.recorder, upserted)
    # When the lead processor has handled it and the retry comes
    success.hub.invoke(success.hub.lead_processor, upserted)
    adopted = success.hub.invoke(success.recorder, upserted)
    # Then the payment is in the account's health: paid, nothing past due, no other signal needed
    assert adopted["tenant_id"] is not None
    assert "1 parked adopted" in adopted["note"]
    answer = health(success)
    assert answer["tenant_id"] == adopted["tenant_id"]
    past_due = next(line for line in answer["breakdown"] if line["measure"] == "days_past_due")
    assert past_due["value"] == "0"
    assert "days_past_due" not in answer["na"]


def test_a_replayed_product_track_parked_before_its_user_was_linked_changes_nothing(success: Success) -> None:
    # Given a signed-in user's product track (Segment) reaching the recorder before the lead processor linked them
    user = Subject(contact_id="segment:user-replay", email=None)
    track = success.canonical(
        EventType.ENGAGEMENT_RECORDED,
        user,
        {"kind": "track", "name": "Feature Used", "user_id": "user-replay"},
        "segment",
    )
    parked = success.hub.invoke(success.recorder, track)
    assert parked["tenant_id"] is None
    assert "parked" in parked["note"]
    # And the user linked since to their company's account (the Stripe customer at their domain), their parked
    # track left for the nightly: no account.upserted names the user, and no later track came
    customer = Subject(account_id="stripe:cus_rp", contact_id="stripe:cus_rp", email="kim@kestrel-rp.io")
    data = {"name": "Kestrel", "domain": "kestrel-rp.io"}
    success.hub.invoke(
        success.hub.lead_processor, success.canonical(EventType.ACCOUNT_UPSERTED, customer, data, "stripe")
    )
    identify = success.canonical(
        EventType.ENGAGEMENT_RECORDED,
        Subject(contact_id="segment:user-replay", email="lee@kestrel-rp.io"),
        {"kind": "identify", "user_id": "user-replay", "traits": {"email": "lee@kestrel-rp.io"}},
        "segment",
    )
    success.hub.invoke(success.hub.lead_processor, identify)
    assert success.recorder.service.accounts.account_of(user) is not None
    before = success_items(success)
    # When the archive replays the track
    replayed = success.hub.invoke(success.recorder, track)
    # Then nothing changes: the track stays where it was filed when first handled
    assert replayed["tenant_id"] is None
    assert "parked before" in replayed["note"]
    assert success_items(success) == before
