"""CAC = spend / attributed new customers (issue 12 §3): a customer (the deal's account, else its contact) counts
once, at its first conversion of the months; its later deals are revenue, not customers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from shared.attribution.deals import ConversionKind
from shared.attribution.journeys import Model
from shared.attribution.ports import StoredConversion
from shared.attribution.reports import MonthRange
from shared.finance.budget_engine import compile_budget_engine
from shared.finance.money import Money
from shared.finance.service import FinanceService
from tests.attribution_fakes import InMemoryCustomerRevenueStore
from tests.fakes import RecordingPublisher
from tests.unit.test_attribution_service import FINANCE, World, journey_of_three

NOVEMBER = ["2026-11"]


@pytest.fixture
def world() -> World:
    world = World()
    world.service.revenue = InMemoryCustomerRevenueStore()
    return world


def spend(world: World, campaign_id: str, amount: str) -> None:
    ledger = FinanceService(world.finance, FINANCE, compile_budget_engine(FINANCE), RecordingPublisher(), world.clock)
    line = {"channel": "paid_social", "department": "marketing", "vendor": "Ads", "currency": "USD"}
    ledger.record_spend(
        [
            {
                **line,
                "spend_id": f"s-{campaign_id}",
                "campaign_id": campaign_id,
                "amount": amount,
                "incurred_on": "2026-11-02",
            }
        ]
    )


def roi(world: World, campaign_id: str, model: Model) -> dict[str, object]:
    months = MonthRange.of(world.clock.now().date(), "2026-11", "2026-11")
    answer = world.service.roi(campaign_id, months, (model,))
    figures: dict[str, object] = answer["models"][model.value]
    return figures


def test_a_customers_second_won_deal_adds_revenue_but_not_a_customer(world: World) -> None:
    # Given kim's journey, first touched by the social campaign, which spent 3000.00 in November
    journey_of_three(world)
    spend(world, "social", "3000.00")
    # When kim's company wins two deals in November
    world.won("D-1", "12000.00", email="kim@acme.io")
    world.clock.advance(timedelta(days=2))
    world.won("D-2", "6000.00", email="kim@acme.io")
    # Then social has both deals' revenue, one new customer, and CAC is the whole spend (not halved)
    figures = roi(world, "social", Model.FIRST_TOUCH)
    assert (figures["revenue"], figures["customers"], figures["cac"]) == ("18000.00", "1.000000", "3000.00")
    # And the campaign's totals still hold both deals (its attributed deals are unchanged)
    assert world.service.campaign_totals("social", NOVEMBER).deals[Model.FIRST_TOUCH] == 2_000_000


def test_two_customers_are_two_and_each_counts_once(world: World) -> None:
    # Given two people from the same ad, each winning a deal, one of them a second deal too
    journey_of_three(world, "u1", "kim@acme.io")
    journey_of_three(world, "u2", "lee@other.io")
    spend(world, "social", "3000.00")
    world.won("D-1", "1000.00", email="kim@acme.io")
    world.won("D-2", "1000.00", email="lee@other.io")
    world.won("D-3", "1000.00", email="kim@acme.io")
    # When ROI is asked
    figures = roi(world, "social", Model.FIRST_TOUCH)
    # Then two customers, CAC 1500.00
    assert (figures["customers"], figures["cac"]) == ("2.000000", "1500.00")


def conversion(conversion_id: str, day: int, contacts: tuple[str, ...], account: str | None) -> StoredConversion:
    return StoredConversion(
        conversion_id=conversion_id,
        kind=ConversionKind.DEAL,
        converted_at=datetime(2026, 11, day, tzinfo=UTC),
        amount=Money(100, "USD"),
        company_minor=100,
        company_currency="USD",
        rate=Decimal(1),
        contact_ids=contacts,
        account_id=account,
        deal_id=conversion_id,
        lead_created_at=None,
        opportunity_created_at=None,
        touches=(),
        settings_version="v",
        fit_id=None,
        recorded_at=datetime(2026, 11, day, tzinfo=UTC),
    )


def test_a_customer_is_its_account_else_its_contacts_and_a_conversion_naming_nobody_is_its_own() -> None:
    from shared.attribution.customers import NewCustomers

    first = NewCustomers()
    # Given a deal of kim without an account, then one of kim's account (kim and lee), then one of lee alone
    assert first.is_first(conversion("d1", 1, ("kim",), None)) is True
    assert first.is_first(conversion("d2", 2, ("kim", "lee"), "acme")) is False
    assert first.is_first(conversion("d3", 3, ("lee",), None)) is False
    # And another account's deal, then a deal naming that account only
    assert first.is_first(conversion("d4", 4, ("ana",), "solo")) is True
    assert first.is_first(conversion("d5", 5, (), "solo")) is False
    # Then deals naming nobody are each a customer of their own
    assert first.is_first(conversion("d6", 6, (), None)) is True
    assert first.is_first(conversion("d7", 7, (), None)) is True
