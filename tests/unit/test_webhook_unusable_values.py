"""A signed delivery whose money or ids the hub cannot use is answered 400 naming the field, and the attempt is
in the delivery log: never accepted, then failing a consumer later (issue 8)."""

from __future__ import annotations

import json

import pytest

from shared.webhooks.model import Outcome
from tests.unit.test_webhook_ingest import Gateway
from tests.webhook_samples import stripe_event


@pytest.fixture
def gateway() -> Gateway:
    return Gateway()


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"amount_paid": 1e308}, "data.object.amount_paid: "),
        ({"amount_paid": -5}, "data.object.amount_paid: "),
        ({"currency": "\ud800"}, "data.object.currency: "),
        ({"currency": "dollars"}, "data.object.currency: "),
    ],
)
def test_a_paid_invoice_whose_money_is_not_money_is_a_logged_400(gateway: Gateway, fields: dict, named: str) -> None:
    # Given a signed invoice.paid whose amount or currency the hub cannot publish as money
    body = stripe_event("evt_money", "invoice.paid", **fields)
    # When it is delivered
    response = gateway.stripe(body)
    # Then it is refused naming the field, logged with the reason, and nothing is published
    assert response.status_code == 400
    assert named in response.body["message"]
    attempt = gateway.attempt(response.body["delivery_id"])
    assert (attempt.outcome, attempt.status_code) == (Outcome.REJECTED, 400)
    assert named in (attempt.reason or "")
    assert gateway.publisher.published == []


def test_a_subscription_price_that_is_not_money_is_a_logged_400(gateway: Gateway) -> None:
    # Given a signed subscription change whose price's unit amount is 1e308
    items = {"data": [{"price": {"id": "price_1", "unit_amount": 1e308, "currency": "usd"}, "quantity": 1}]}
    response = gateway.stripe(
        stripe_event("evt_sub", "customer.subscription.updated", object="subscription", items=items)
    )
    # Then it is refused naming the price's field
    assert response.status_code == 400
    assert "data.object.items.data[0].price.unit_amount: " in response.body["message"]
    assert gateway.publisher.published == []


def test_an_unmapped_event_with_a_negative_amount_is_accepted(gateway: Gateway) -> None:
    # Given a signed event the hub does not map whose amount is negative (an invoice item's credit)
    response = gateway.stripe(stripe_event("evt_credit", "invoiceitem.created", object="invoiceitem", amount=-500))
    # Then it is accepted and kept unmapped, as it came
    assert response.status_code == 202
    [event] = gateway.publisher.published
    assert json.loads(json.dumps(event.data))["payload"]["data"]["object"]["amount"] == -500
