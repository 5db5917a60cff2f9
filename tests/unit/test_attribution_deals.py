"""Deals and conversions from canonical events: amounts exact (a decimal string, Salesforce's text, Stripe's
minor units), the latest event's status winning, the earliest event the opportunity's creation, and refusals
naming the field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.attribution.deals import (
    ConversionKind,
    Deal,
    DealStatus,
    deal_conversion,
    deal_report,
    first_payment,
)
from shared.errors import InvalidInput
from shared.events.canonical import CanonicalEvent, EventType, Subject
from shared.finance.money import Money

AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def event(
    event_type: EventType, data: dict[str, Any], vendor: str = "standard", at: datetime = AT, **subject: Any
) -> CanonicalEvent:
    return CanonicalEvent(
        event_id=f"e-{event_type}-{at.isoformat()}",
        event_type=event_type,
        occurred_at=at,
        received_at=at,
        source_vendor=vendor,
        vendor_event_id=None,
        vendor_event_type=str(event_type),
        subject=Subject(**subject),
        data=data,
        correlation_id="c",
        delivery_id="d",
    )


def test_a_standard_won_deal_carries_its_amount_people_and_time_exactly() -> None:
    # Given a Standard Webhooks deal.won with a decimal-string amount and a won_at
    won = event(
        EventType.DEAL_WON,
        {"amount": "48000.10", "currency": "eur", "email": "Kim@Acme.io", "won_at": "2026-11-19T09:30:00Z"},
        deal_id="standard:D-1",
        account_id="standard:A-1",
    )
    # When it is read as a report
    report = deal_report(won, "USD")
    # Then the amount is exact minor units in its currency, the email normalized, the time the won_at
    assert report is not None
    assert report.amount == Money(4800010, "EUR")
    assert report.people.emails == ("kim@acme.io",)
    assert report.people.account_ref == "standard:A-1"
    assert report.won_at == datetime(2026, 11, 19, 9, 30, tzinfo=UTC)


def test_salesforce_amount_is_read_from_the_text_it_sent_not_the_float() -> None:
    opportunity = event(
        EventType.DEAL_STAGE_CHANGED,
        {"amount": 52000.1, "fields": {"Amount": "52000.1", "CurrencyIsoCode": "GBP"}},
        vendor="salesforce",
        deal_id="salesforce:006A",
    )
    report = deal_report(opportunity, "USD")
    assert report is not None
    assert (report.status, report.amount) == (DealStatus.OPEN, Money(5200010, "GBP"))


def test_an_amount_without_currency_is_in_the_company_currency_and_an_inexact_number_is_refused() -> None:
    report = deal_report(event(EventType.DEAL_WON, {"amount": "10"}, deal_id="standard:D-2"), "USD")
    assert report is not None
    assert report.amount == Money(1000, "USD")
    with pytest.raises(InvalidInput, match=r"data\.amount"):
        deal_report(event(EventType.DEAL_WON, {"amount": 0.1 + 0.2}, deal_id="standard:D-3"), "USD")
    with pytest.raises(InvalidInput, match=r"data\.won_at"):
        deal_report(event(EventType.DEAL_WON, {"amount": "1", "won_at": "yesterday"}, deal_id="standard:D-4"), "USD")


def won_for(amount: object, currency: str = "USD") -> Money | None:
    report = deal_report(event(EventType.DEAL_WON, {"amount": amount, "currency": currency}, deal_id="s:N"), "USD")
    assert report is not None
    return report.amount


def test_a_json_number_amount_is_the_same_decimal_in_major_units_as_its_string() -> None:
    # Given deal.won amounts sent as JSON numbers rather than decimal strings
    # When they are read
    # Then each is the amount in major units, as its decimal string would be, never minor units
    assert won_for(12000) == won_for("12000") == Money(1_200_000, "USD")
    assert won_for(12.5) == won_for("12.5") == Money(1250, "USD")
    assert won_for(48000.1) == won_for("48000.10") == Money(4_800_010, "USD")
    assert won_for(0) == Money(0, "USD")
    assert won_for(12000, "JPY") == Money(12000, "JPY")
    assert won_for(1.234, "KWD") == Money(1234, "KWD")
    # And the currency's exponent, the size limit and true/false are held to as for a string
    with pytest.raises(InvalidInput, match=r"data\.amount.*decimal places"):
        won_for(12.5, "JPY")
    with pytest.raises(InvalidInput, match=r"data\.amount.*decimal places"):
        won_for(10.005)
    with pytest.raises(InvalidInput, match=r"data\.amount.*too large"):
        won_for(10**16)
    with pytest.raises(InvalidInput, match=r"data\.amount.*too large"):
        won_for(1e16)
    with pytest.raises(InvalidInput, match=r"data\.amount"):
        won_for(True)
    # And a number with more digits than a float holds exactly is refused, not rounded to the nearest cent
    with pytest.raises(InvalidInput, match=r"data\.amount.*decimal string"):
        won_for(123456789012345.67)
    # And a negative amount (a refund is not a deal's value) is refused by name, as text or as a number
    with pytest.raises(InvalidInput, match=r"data\.amount: a deal's amount is not negative, not -5\.00"):
        won_for("-5.00")
    with pytest.raises(InvalidInput, match=r"data\.amount.*not negative"):
        won_for(-1)


def test_salesforce_and_hubspot_amounts_sent_as_text_are_read_as_before() -> None:
    # Given Salesforce's Amount as its XML text and HubSpot's amount property change as a string
    salesforce = event(
        EventType.DEAL_WON, {"fields": {"Amount": " 52000.0 "}}, vendor="salesforce", deal_id="salesforce:006B"
    )
    hubspot = event(EventType.DEAL_UPDATED, {"amount": "4800.5"}, vendor="hubspot", deal_id="hubspot:7002")
    # When they are read
    from_salesforce, from_hubspot = deal_report(salesforce, "USD"), deal_report(hubspot, "USD")
    # Then both are the decimal they say, in major units; an exponent is still refused
    assert from_salesforce is not None
    assert from_hubspot is not None
    assert (from_salesforce.amount, from_hubspot.amount) == (Money(5_200_000, "USD"), Money(480_050, "USD"))
    with pytest.raises(InvalidInput, match=r"data\.amount.*exponent"):
        deal_report(event(EventType.DEAL_WON, {"fields": {"Amount": "5.2E4"}}, "salesforce", deal_id="sf:1"), "USD")


def test_the_latest_event_sets_the_status_and_the_earliest_the_opportunitys_creation() -> None:
    # Given a deal seen open with an amount, then won without one, then a late open message from before the win
    opened = deal_report(event(EventType.DEAL_STAGE_CHANGED, {"amount": "900"}, at=AT, deal_id="s:D"), "USD")
    won = deal_report(event(EventType.DEAL_WON, {}, at=AT + timedelta(days=3), deal_id="s:D"), "USD")
    late = deal_report(event(EventType.DEAL_STAGE_CHANGED, {}, at=AT + timedelta(days=1), deal_id="s:D"), "USD")
    assert opened
    assert won
    assert late
    # When they are folded in arrival order
    deal = Deal.first(opened).folded(won).folded(late)
    # Then it is won, at the win's time, with the amount said before, created when first seen
    assert (deal.status, deal.won_at, deal.amount, deal.first_seen_at) == (
        DealStatus.WON,
        AT + timedelta(days=3),
        Money(90000, "USD"),
        AT,
    )
    facts = deal_conversion(deal, "cause")
    assert facts is not None
    assert (facts.conversion_id, facts.kind, facts.opportunity_created_at) == ("deal:s:D", ConversionKind.DEAL, AT)


def test_a_won_deal_without_an_amount_is_not_a_conversion_yet() -> None:
    won = deal_report(event(EventType.DEAL_WON, {}, deal_id="hubspot:7"), "USD")
    assert won is not None
    assert deal_conversion(Deal.first(won), "cause") is None


def test_a_first_payment_is_keyed_by_its_customer_whichever_object_reports_it() -> None:
    invoice = event(EventType.PAYMENT_SUCCEEDED, {"amount_minor": 4900, "currency": "usd"}, account_id="stripe:cus_1")
    charge = event(EventType.PAYMENT_SUCCEEDED, {"amount_minor": 4900, "currency": "usd"}, account_id="stripe:cus_1")
    one, other = first_payment(invoice), first_payment(charge)
    assert one is not None
    assert other is not None
    assert one.conversion_id == other.conversion_id == "first-payment:stripe:cus_1"
    assert one.amount == Money(4900, "USD")
    with pytest.raises(InvalidInput, match="amount_minor"):
        first_payment(event(EventType.PAYMENT_SUCCEEDED, {"amount_minor": -1, "currency": "usd"}, account_id="x:1"))
    assert first_payment(event(EventType.PAYMENT_SUCCEEDED, {"amount_minor": 1, "currency": "usd"})) is None


def test_a_zero_payment_is_no_first_payment_and_the_first_paid_one_is() -> None:
    # Given a customer's $0 trial invoice, then its first real payment of 490.00
    trial = event(EventType.PAYMENT_SUCCEEDED, {"amount_minor": 0, "currency": "usd"}, account_id="stripe:cus_t")
    paid = event(EventType.PAYMENT_SUCCEEDED, {"amount_minor": 49000, "currency": "usd"}, account_id="stripe:cus_t")
    # When each is read as a possible first payment
    # Then the trial is none (no revenue) and the paid one is the customer's first-payment conversion
    assert first_payment(trial) is None
    facts = first_payment(paid)
    assert facts is not None
    assert (facts.conversion_id, facts.kind, facts.amount) == (
        "first-payment:stripe:cus_t",
        ConversionKind.FIRST_PAYMENT,
        Money(49000, "USD"),
    )


def test_an_update_keeps_the_status_and_supplies_the_amount_a_hubspot_win_lacked() -> None:
    # Given HubSpot's deal creation, its win (the stage only), then its amount as a property change
    created = deal_report(event(EventType.DEAL_UPDATED, {}, "hubspot", at=AT, deal_id="hubspot:7001"), "USD")
    won = deal_report(
        event(EventType.DEAL_WON, {"stage": "closedwon"}, "hubspot", at=AT + timedelta(days=9), deal_id="hubspot:7001"),
        "USD",
    )
    amount = deal_report(
        event(
            EventType.DEAL_UPDATED,
            {"amount": "48000"},
            "hubspot",
            at=AT + timedelta(days=9, seconds=2),
            deal_id="hubspot:7001",
        ),
        "USD",
    )
    assert created
    assert won
    assert amount
    assert (created.status, amount.status) == (None, None)
    # When they are folded
    opened = Deal.first(created)
    won_deal = opened.folded(won)
    priced = won_deal.folded(amount)
    # Then the deal was open from its creation, won without converting, and converts once the amount is known
    assert (opened.status, opened.converts) == (DealStatus.OPEN, False)
    assert (won_deal.status, won_deal.converts) == (DealStatus.WON, False)
    assert (priced.status, priced.status_at, priced.won_at) == (
        DealStatus.WON,
        AT + timedelta(days=9),
        AT + timedelta(days=9),
    )
    assert priced.amount == Money(4_800_000, "USD")
    assert priced.first_seen_at == AT
    facts = deal_conversion(priced, "e-amount")
    assert facts is not None
    assert (facts.amount, facts.converted_at, facts.opportunity_created_at) == (
        Money(4_800_000, "USD"),
        AT + timedelta(days=9),
        AT,
    )


def test_an_update_arriving_before_the_win_does_not_undo_the_win() -> None:
    # Given a win, and an update sent before it that arrives after it
    won = deal_report(event(EventType.DEAL_WON, {"amount": "10"}, at=AT, deal_id="s:W"), "USD")
    earlier = deal_report(event(EventType.DEAL_UPDATED, {}, at=AT - timedelta(hours=1), deal_id="s:W"), "USD")
    assert won
    assert earlier
    # When folded
    deal = Deal.first(won).folded(earlier)
    # Then it is still won at the win's time, with the win's amount, created when the update says
    assert (deal.status, deal.status_at, deal.amount) == (DealStatus.WON, AT, Money(1000, "USD"))
    assert deal.first_seen_at == AT - timedelta(hours=1)
