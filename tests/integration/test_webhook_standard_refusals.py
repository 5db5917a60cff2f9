"""The deployed webhook receiver over moto: a signed Standard Webhooks delivery whose data no consumer can use is a
400 naming the field, in the delivery log, and never reaches the bus (it used to be 202, then dead-lettered)."""

from __future__ import annotations

import json
import time

import pytest

from shared.webhooks.vendors.standard import sign
from tests.integration.conftest import handler_module
from tests.integration.test_webhook_routes import logged, post_webhook, published

LOCAL_STANDARD_SECRET = "whsec_bG9jYWwtc3RhbmRhcmQtd2ViaG9va3MtZGV2LW9ubHk="  # config/local.secrets.json


@pytest.fixture
def receiver(aws):  # type: ignore[no-untyped-def]
    return handler_module("webhook_receiver")


@pytest.fixture
def deliveries_api(aws):  # type: ignore[no-untyped-def]
    return handler_module("webhook_deliveries_api")


def standard_headers(body: bytes, msg_id: str) -> dict[str, str]:
    now = int(time.time())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(now),
        "webhook-signature": sign(LOCAL_STANDARD_SECRET, msg_id, now, body),
    }


def standard_body(event_type: str, data: dict) -> bytes:
    return json.dumps({"type": event_type, "timestamp": "2026-11-25T11:59:00Z", "data": data}).encode()


@pytest.mark.parametrize(
    ("event_type", "data", "named"),
    [
        ("subscription.changed", {"account_id": "A-1", "status": ["active"]}, "data.status: expected a string"),
        ("deal.won", {"deal_id": "D" * 3000, "amount": "10"}, "data.deal_id: an id is at most 255 characters"),
        ("subscription.changed", {"subscription_id": "S" * 256}, "data.subscription_id: an id is at most 255"),
        ("support.ticket_opened", {"ticket_id": "T" * 256}, "data.ticket_id: an id is at most 255 characters"),
        ("payment.succeeded", {"invoice_id": "I" * 256}, "data.invoice_id: an id is at most 255 characters"),
        ("deal.won", {"deal_id": "D-1", "amount": "0.001", "currency": "USD"}, "data.amount: "),
        ("product.usage_reported", {"tenant_id": "t-1", "metrics": {"active_users": -1}}, "data.metrics.active_users"),
    ],
)
def test_a_signed_standard_delivery_no_consumer_can_use_is_400_logged_and_not_published(  # type: ignore[no-untyped-def]
    receiver, deliveries_api, aws, outbox, event_type, data, named
) -> None:
    # Given a Standard Webhooks delivery signed with the configured secret, whose data a consumer would fail on
    body = standard_body(event_type, data)
    # When the sender posts it through API Gateway
    response = post_webhook(receiver, "standard", body, standard_headers(body, "msg_refused"))
    # Then it is a 400 naming the field, the delivery log has it as rejected with that reason, and nothing is on
    # the bus
    assert response["statusCode"] == 400, response["body"]
    assert named in json.loads(response["body"])["message"]
    [entry] = logged(deliveries_api, "standard")
    assert (entry["outcome"], entry["status_code"]) == ("rejected", 400)
    assert named in entry["reason"]
    assert published(outbox, aws) == []


def test_a_signed_standard_deal_the_consumers_can_use_is_published(  # type: ignore[no-untyped-def]
    receiver, aws, outbox
) -> None:
    # Given a deal.won with an amount in its currency's decimals, a won_at with its offset and a short deal id
    data = {"deal_id": "D-1", "amount": "48000.10", "currency": "EUR", "won_at": "2026-11-19T09:30:00Z"}
    body = standard_body("deal.won", data)
    # When it is posted
    response = post_webhook(receiver, "standard", body, standard_headers(body, "msg_ok"))
    # Then it is accepted and on the bus as sent
    assert response["statusCode"] == 202, response["body"]
    [message] = published(outbox, aws)
    assert (message["detail-type"], message["detail"]["data"]["amount"]) == ("deal.won", "48000.10")
