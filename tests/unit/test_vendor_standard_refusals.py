"""Standard Webhooks: a signed delivery whose `data` holds a value the hub's consumers can never use (a status that
is not text, an id too long to key a record by, money or usage counts the consumers and the API refuse) is
answered 400 naming the field and logged, never accepted for a consumer to fail on and dead-letter. The receiver
refuses exactly what the consumers refuse (checked against them here), and the lead processor reads a status
that is not text as no status."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.attribution.deals import deal_report
from shared.errors import InvalidInput
from shared.events.canonical import CanonicalEvent, EventType, Subject
from shared.leads.lifecycle import next_stages
from shared.leads.model import Stage
from shared.success.signals import usage_values
from shared.webhooks.envelope import as_count, as_major_amount
from shared.webhooks.model import Outcome
from shared.webhooks.vendor import MalformedPayload
from shared.webhooks.vendors.standard import StandardWebhooks, check_data
from tests.vendor_samples import STANDARD_SECRET, Gateway, standard_event, standard_request

STANDARD = StandardWebhooks()
LONG = "x" * 3000
AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def gateway() -> Gateway:
    return Gateway(STANDARD, [STANDARD_SECRET])


def deliver(gateway: Gateway, event_type: str, data: dict[str, Any]) -> Any:
    return gateway.receive(standard_request(standard_event(event_type, data)))


REFUSED = [
    # 1. a subscription's status that is not text
    ("subscription.changed", {"account_id": "A-1", "status": ["active"]}, "data.status: expected a string"),
    ("subscription.changed", {"account_id": "A-1", "status": {"x": 1}}, "data.status: expected a string"),
    # 2. ids too long to key a record by (or holding a control character)
    ("deal.won", {"deal_id": LONG, "amount": "10"}, "data.deal_id: an id is at most 255 characters"),
    ("account.upserted", {"account_id": LONG}, "data.account_id: an id is at most 255 characters"),
    ("contact.upserted", {"contact_id": "a\nb"}, "data.contact_id: an id is at most 255 characters"),
    ("account.upserted", {"account_id": "A-1", "domain": LONG + ".com"}, "data.domain: an id is at most 255"),
    ("product.usage_reported", {"tenant_id": "t" * 20_000}, "data.tenant_id: an id is at most 255 characters"),
    ("contact.upserted", {"email": LONG + "@example.com"}, "data.email: an id is at most 255 characters"),
    ("contact.upserted", {"traits": {"website": LONG}}, "data.traits.website: an id is at most 255"),
    # 3. a deal's money and won_at, as the attribution recorder reads them
    ("deal.won", {"deal_id": "D-1", "amount": True}, "data.amount: is true/false, not an amount"),
    ("deal.won", {"deal_id": "D-1", "amount": -1}, "data.amount: a deal's amount is not negative"),
    ("deal.won", {"deal_id": "D-1", "amount": "NaN"}, 'data.amount: "NaN" is not a finite number'),
    ("deal.won", {"deal_id": "D-1", "amount": "1e400"}, "data.amount: "),
    ("deal.won", {"deal_id": "D-1", "amount": "0.001", "currency": "USD"}, 'data.amount: "0.001" has 3 decimal'),
    ("deal.stage_changed", {"deal_id": "D-1", "amount": "1" * 16}, "data.amount: "),
    ("deal.won", {"deal_id": "D-1", "amount": 1234567890.1234567}, "data.amount: the JSON number"),
    ("deal.won", {"deal_id": "D-1", "amount": [1]}, "data.amount: must be a decimal string"),
    ("deal.won", {"deal_id": "D-1", "amount": {"v": 1}}, "data.amount: must be a decimal string"),
    ("deal.won", {"deal_id": "D-1", "amount": "10", "currency": "NaN"}, 'data.currency: "NAN" is not an ISO 4217'),
    ("deal.lost", {"deal_id": "D-1", "currency": "dollars"}, "data.currency: "),
    ("deal.won", {"deal_id": "D-1", "won_at": "yesterday"}, "data.won_at: 'yesterday' is not an ISO 8601 time"),
    ("deal.won", {"deal_id": "D-1", "won_at": "2026-11-19T09:30:00"}, "data.won_at: '2026-11-19T09:30:00' has no"),
    ("deal.won", {"deal_id": "D-1", "won_at": 1764072000}, "data.won_at: an ISO 8601 time with its offset"),
    # ... a payment's
    ("payment.succeeded", {"account_id": "A-1", "amount_minor": -5, "currency": "usd"}, "data.amount_minor: "),
    ("payment.succeeded", {"account_id": "A-1", "amount_minor": 5, "currency": "XYZ"}, "data.currency: "),
    # ... and a usage report's counts, as the health recorder and the usage API take them
    ("product.usage_reported", {"metrics": {"active_users": -1}}, "data.metrics.active_users: a count is"),
    ("product.usage_reported", {"metrics": {"licensed_seats": 2.5}}, "data.metrics.licensed_seats: a count is"),
    ("product.usage_reported", {"metrics": {"licensed_seats": 0}}, "data.metrics.licensed_seats: at least 1 seat"),
    ("product.usage_reported", {"licensed_seats": 0}, "data.licensed_seats: at least 1 seat"),
    ("product.usage_reported", {"metrics": {"api_calls": True}}, "data.metrics.api_calls: a count is"),
    ("product.usage_reported", {"metrics": {"api_calls": "12"}}, "data.metrics.api_calls: a count is"),
    ("product.usage_reported", {"metrics": {"api_calls": 10**12 + 1}}, "data.metrics.api_calls: a count is"),
    ("product.usage_reported", {"active_users": -3}, "data.active_users: a count is"),
    ("product.usage_reported", {"metrics": {"features": {"search": -1}}}, "data.metrics.features.search: "),
    ("product.usage_reported", {"metrics": {"features": [1]}}, "data.metrics.features: expected an object"),
    ("product.usage_reported", {"metrics": {"features": {str(n): 1 for n in range(201)}}}, "at most 200 features"),
    ("product.usage_reported", {"metrics": "lots"}, "data.metrics: expected an object"),
]


@pytest.mark.parametrize(("event_type", "data", "named"), REFUSED)
def test_a_value_no_consumer_can_use_is_a_logged_400_naming_the_field(
    gateway: Gateway, event_type: str, data: dict[str, Any], named: str
) -> None:
    # Given a signed Standard Webhooks delivery whose data holds a value a consumer would fail the event on
    # When it is delivered
    response = deliver(gateway, event_type, data)
    # Then it is refused naming the field and the limit, logged as rejected with that reason, and nothing is
    # put on the bus (nor dead-lettered)
    assert response.status_code == 400, response.body
    assert named in response.body["message"]
    attempt = gateway.ledger.attempts[response.body["delivery_id"]]
    assert (attempt.outcome, attempt.status_code) == (Outcome.REJECTED, 400)
    assert named in (attempt.reason or "")
    assert gateway.publisher.published == []
    assert LONG not in response.body["message"]  # a long value is not repeated back


ACCEPTED = [
    ("subscription.changed", {"account_id": "A-1", "status": "active"}),
    ("deal.won", {"deal_id": "D" * 255, "amount": "48000.10", "currency": "eur", "won_at": "2026-11-19T09:30:00Z"}),
    ("deal.won", {"deal_id": "D-1", "amount": 12000, "account_id": 42}),
    ("deal.won", {"deal_id": "D-1", "amount": "1500.00", "currency": "JPY"}),
    ("deal.won", {"deal_id": "D-1", "amount": 12000.5}),
    ("deal.stage_changed", {"deal_id": "D-1", "amount": "", "currency": None}),
    ("contact.upserted", {"email": 5, "contact_id": "C-1"}),  # an email that is not text is dropped, as before
    ("product.usage_reported", {"tenant_id": "acme.io", "metrics": {"active_users": 3, "features": {"f" * 300: 2}}}),
    ("product.usage_reported", {"account_id": "acct_9", "metric": "seats", "quantity": 12}),
    ("payment.succeeded", {"account_id": "A-1", "amount_minor": 4200, "currency": "usd"}),
    ("vendor.thing_happened", {"account_id": LONG, "amount": "NaN"}),  # unmapped: kept as sent, not read
]


@pytest.mark.parametrize(("event_type", "data"), ACCEPTED)
def test_values_the_consumers_use_are_accepted_and_published(
    gateway: Gateway, event_type: str, data: dict[str, Any]
) -> None:
    # Given a signed delivery whose data the consumers can use (or a type the hub keeps unmapped)
    # When it is delivered
    response = deliver(gateway, event_type, data)
    # Then it is accepted and published
    assert response.status_code == 202, response.body
    assert len(gateway.publisher.published) == 1


# One rule on both sides: the receiver refuses what the consumers would fail on, and nothing else ---------------


def _deal_won(data: dict[str, Any]) -> CanonicalEvent:
    return CanonicalEvent(
        event_id="e-1",
        event_type=EventType.DEAL_WON,
        occurred_at=AT,
        received_at=AT,
        source_vendor="standard",
        vendor_event_id=None,
        vendor_event_type="deal.won",
        subject=Subject(deal_id="standard:D-1"),
        data=data,
        correlation_id="c",
        delivery_id="d",
    )


AMOUNTS: list[Any] = [
    "12000", "12000.50", " 52000.0 ", "0", "0.001", "-1", "-0.00", "NaN", "Infinity", "1e3", "1E400", "+5", "1,000",
    "1" * 15, "1" * 16, "x" * 70, "", "12.", ".5", 12000, 0, -1, 12000.5, 0.1, 1e20, 1234567890.1234567,
    True, False, [1], [], {}, {"v": 1}, 2**62,
]  # fmt: skip


@pytest.mark.parametrize("currency", ["USD", "JPY", "KWD"])
@pytest.mark.parametrize("amount", AMOUNTS)
def test_the_receiver_refuses_a_deal_amount_exactly_when_the_attribution_recorder_would(
    amount: Any, currency: str
) -> None:
    # Given a deal amount in a currency
    data = {"amount": amount, "currency": currency}
    # When the attribution recorder reads it from the published event, and the receiver checks the delivery
    try:
        deal_report(_deal_won(json.loads(json.dumps(data))), "USD")
        consumer_refuses = False
    except InvalidInput:
        consumer_refuses = True
    try:
        check_data("deal.won", data)
        receiver_refuses = False
    except MalformedPayload:
        receiver_refuses = True
    # Then both refuse it, or neither does
    assert receiver_refuses is consumer_refuses


COUNTS: list[Any] = [0, 1, 10**12, 10**12 + 1, -1, 2.5, 3.0, True, False, "12", None, [1], {"a": 1}, 2**62]


@pytest.mark.parametrize("value", COUNTS)
@pytest.mark.parametrize("name", ["active_users", "licensed_seats", "api_calls", "features"])
def test_the_receiver_refuses_a_usage_count_exactly_when_the_health_recorder_would(value: Any, name: str) -> None:
    # Given a usage report's metric (or a feature's events)
    metrics = {"features": {"search": value}} if name == "features" else {name: value}
    # When the health recorder reads it, and the receiver checks the delivery
    try:
        usage_values(metrics)
        consumer_refuses = False
    except InvalidInput:
        consumer_refuses = True
    try:
        check_data("product.usage_reported", {"metrics": metrics})
        receiver_refuses = False
    except MalformedPayload:
        receiver_refuses = True
    # Then both refuse it, or neither does
    assert receiver_refuses is consumer_refuses


def test_the_converters_say_the_limit() -> None:
    # Given values beyond the limits / When converted / Then the problem names the rule
    with pytest.raises(ValueError, match=r"a count is an integer from 0 to 10\^12, not -1"):
        as_count(-1)
    with pytest.raises(ValueError, match="USD allows at most 2 decimal places"):
        as_major_amount("0.001", "USD")
    with pytest.raises(ValueError, match="no currency has more than 4"):
        as_major_amount("0.00001", None)
    assert as_major_amount("12000", "USD") == 1_200_000
    assert as_major_amount(12000.5, None) == 120_005_000


# The lead processor, for an event accepted before the receiver refused these -------------------------------


@pytest.mark.parametrize("status", [["active"], {"active": True}, 5, None])
def test_a_subscription_status_that_is_not_text_is_no_status(status: Any) -> None:
    # Given a subscription change whose status is a list, an object, a number or missing
    # When the lead processor works out the stages it supports
    moves = next_stages(Stage.LEAD, identified=True, mql=False, event_type="subscription.changed",
                        event_data={"status": status})  # fmt: skip
    # Then it moves nowhere (no TypeError: the event is not failed and dead-lettered)
    assert moves == []


def test_a_paying_subscription_status_still_makes_a_customer() -> None:
    moves = next_stages(
        Stage.LEAD, identified=True, mql=False, event_type="subscription.changed", event_data={"status": "active"}
    )
    assert [move.to for move in moves] == [Stage.CUSTOMER]
