"""LTV of a campaign's customers through the attribution service over in-memory adapters: Stripe's customer and
subscription events (as the lead processor and the attribution recorder get them) kept per billing customer,
found again through the identities of the converted person, and priced against the campaign's CAC."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from shared.attribution.reports import MonthRange
from shared.events.canonical import EventType
from tests.attribution_fakes import InMemoryCustomerRevenueStore
from tests.unit.test_attribution_service import World, journey_of_three


@pytest.fixture
def world() -> World:
    world = World()
    world.service.revenue = InMemoryCustomerRevenueStore()
    return world


def stripe_customer(world: World, customer: str, email: str) -> None:
    """Stripe's customer.created: the lead domain links the customer to the person with that email."""
    data = {"name": "Kim Lee", "email": email, "livemode": False}
    who = {"contact_id": f"stripe:{customer}", "account_id": f"stripe:{customer}", "email": email}
    world.leads.handle(world.event(EventType.ACCOUNT_UPSERTED, data, vendor="stripe", **who))


def subscription(world: World, customer: str, status: str, mrr: int | None, currency: str = "USD") -> Any:
    data = {"change": "updated", "subscription_id": f"sub_{customer}", "status": status, "mrr_minor": mrr}
    who = {"contact_id": f"stripe:{customer}", "account_id": f"stripe:{customer}"}
    event = world.event(EventType.SUBSCRIPTION_CHANGED, data | {"currency": currency}, vendor="stripe", **who)
    world.leads.handle(event)
    return world.service.handle(event)


def months(world: World) -> list[str]:
    return list(MonthRange.of(world.clock.now().date(), None, None).months)


def test_a_won_customers_subscription_prices_the_campaigns_that_touched_its_journey(world: World) -> None:
    # Given a person whose journey touched three campaigns, who is a Stripe customer paying 300.00 a month
    journey_of_three(world)
    stripe_customer(world, "cus_k", "kim@acme.io")
    recorded = subscription(world, "cus_k", "active", 30000)
    assert "active" in recorded.note
    # When the deal is won
    world.won("D-1", "12000.00", email="kim@acme.io")
    # Then each campaign of the journey has that customer: ARPA 300.00, nobody churned yet
    for campaign in ("social", "search", "mail"):
        ltv = world.service.campaign_ltv(campaign, months(world))
        assert (ltv.customers, ltv.arpa_minor, ltv.ltv_minor) == (1, 30000, None)
    # And a campaign outside the journey has none
    assert world.service.campaign_ltv("other", months(world)).customers == 0


def test_a_churned_customer_gives_the_campaign_a_lifetime_value(world: World) -> None:
    # Given the customer paid 300.00 a month from the day the deal was won
    journey_of_three(world)
    stripe_customer(world, "cus_k", "kim@acme.io")
    world.won("D-1", "12000.00", email="kim@acme.io")
    subscription(world, "cus_k", "active", 30000)
    # When it cancels 91.3125 days (three months of 30.4375 days) later
    world.clock.advance(timedelta(days=91, hours=7, minutes=30))
    subscription(world, "cus_k", "canceled", 30000)
    # Then one churn in three customer-months: churn 1/3 a month, LTV = 300.00 x 3 = 900.00
    ltv = world.service.campaign_ltv("social", months(world))  # the twelve months up to now
    assert ltv.churned == 1
    assert ltv.customer_months == Decimal(3)
    assert ltv.monthly_churn == Decimal("0.3333")
    assert ltv.ltv_minor == 90000


def test_a_redelivered_or_older_subscription_change_writes_nothing(world: World) -> None:
    subscription(world, "cus_z", "active", 5000)
    store = world.service.revenue
    assert isinstance(store, InMemoryCustomerRevenueStore)
    version = store.stored["stripe#cus_z"].version
    again = subscription(world, "cus_z", "active", 5000)
    assert "holds this or a later change" in again.note
    assert store.stored["stripe#cus_z"].version == version


def test_a_self_serve_customers_first_payment_prices_the_campaign_that_brought_them(world: World) -> None:
    # Given a visitor from a search ad who signs up and pays 20.00 a month by card (no deal, no CRM)
    world.visit("u9", "https://acme.test/?utm_campaign=self-serve&utm_medium=cpc", anonymous=True)
    world.identify("u9", "sam@solo.dev")
    stripe_customer(world, "cus_s", "sam@solo.dev")
    subscription(world, "cus_s", "active", 2000)
    paid = world.event(
        EventType.PAYMENT_SUCCEEDED,
        {"amount_minor": 2000, "currency": "usd", "object": "invoice", "object_id": "in_1"},
        vendor="stripe",
        contact_id="stripe:cus_s",
        account_id="stripe:cus_s",
        email="sam@solo.dev",
    )
    # When the first payment is credited to the search campaign
    outcome = world.service.handle(paid)
    assert outcome.conversion is not None
    assert [t.touch.campaign_id for t in outcome.conversion.touches] == ["self-serve"]
    # Then that campaign's customers are worth 20.00 a month
    ltv = world.service.campaign_ltv("self-serve", months(world))
    assert (ltv.customers, ltv.arpa_minor) == (1, 2000)
