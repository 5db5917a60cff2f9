"""One contract, two customer revenue stores: the DynamoDB adapter (over moto) and the in-memory fake behave
alike (`shared.attribution.ports.CustomerRevenueStore`): a revenue comes back as saved (times in UTC, every
subscription's state), versions guard every write (a stale one is StaleRevenue, nothing written), unknown
customers are absent, more than 100 customers are read in one call, and more subscriptions than a customer may
keep is an InvalidInput before anything is written."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from shared.adapters.dynamodb_customer_revenue import MAX_SUBSCRIPTIONS, DynamoDbCustomerRevenueStore
from shared.attribution.ports import CustomerRevenueStore, StaleRevenue
from shared.attribution.revenue import CustomerRevenue, SubscriptionChange
from shared.catalog import physical_name
from shared.catalog.attribution import ATTRIBUTION
from shared.errors import InvalidInput
from tests.attribution_fakes import InMemoryCustomerRevenueStore
from tests.integration.conftest import STAGE, only_table

TABLE = physical_name(STAGE, ATTRIBUTION.name)
T0 = datetime(2026, 11, 20, 15, 30, 0, 123456, tzinfo=UTC)
EAST = timezone(timedelta(hours=5, minutes=30))


@pytest.fixture
def attribution_table() -> Iterator[Any]:
    with only_table(ATTRIBUTION) as client:
        yield client


@pytest.fixture(params=["dynamodb", "in-memory"])
def store(request: pytest.FixtureRequest) -> Iterator[CustomerRevenueStore]:
    if request.param == "in-memory":
        yield InMemoryCustomerRevenueStore()
        return
    yield DynamoDbCustomerRevenueStore(request.getfixturevalue("attribution_table"), TABLE)


def revenue(key: str = "stripe#cus_1", *changes: tuple[str, str, int | None, datetime]) -> CustomerRevenue:
    folded = CustomerRevenue(key)
    for n, (sub, status, mrr, at) in enumerate(changes):
        folded = folded.folded(SubscriptionChange(key, sub, status, mrr, "USD", at, f"e{n}"))
    return folded


def test_a_revenue_comes_back_as_saved_in_utc(store: CustomerRevenueStore) -> None:
    # Given a customer who trialled, paid, then added a second subscription (times given in another zone)
    saved = store.save_revenue(
        revenue(
            "stripe#cus_1",
            ("sub_1", "trialing", 5000, T0.astimezone(EAST)),
            ("sub_1", "active", 5000, T0 + timedelta(days=14)),
            ("sub_2", "past_due", None, T0 + timedelta(days=20)),
        )
    )
    # When it is read
    found = store.revenues(["stripe#cus_1", "stripe#cus_unknown"])
    # Then it is the one saved, at version 1, its times in UTC; the unknown customer is absent
    assert list(found) == ["stripe#cus_1"]
    assert found["stripe#cus_1"] == saved
    assert saved.version == 1
    state = found["stripe#cus_1"].subscriptions["sub_1"]
    assert state.at == T0 + timedelta(days=14)
    assert state.at.tzinfo == UTC
    assert state.first_paid_at == T0 + timedelta(days=14)
    assert (state.paid_mrr_minor, found["stripe#cus_1"].subscriptions["sub_2"].mrr_minor) == (5000, None)


def test_a_write_from_a_stale_read_is_refused_and_writes_nothing(store: CustomerRevenueStore) -> None:
    first = store.save_revenue(revenue("k", ("sub_1", "active", 1000, T0)))
    store.save_revenue(first.folded(SubscriptionChange("k", "sub_1", "canceled", 1000, "USD", T0 + timedelta(1), "b")))
    with pytest.raises(StaleRevenue, match="version 2, not 1"):
        store.save_revenue(
            first.folded(SubscriptionChange("k", "sub_1", "active", 9000, "USD", T0 + timedelta(2), "c"))
        )
    assert store.revenues(["k"])["k"].subscriptions["sub_1"].status == "canceled"
    with pytest.raises(StaleRevenue, match="version none, not 3"):
        store.save_revenue(CustomerRevenue("new", {}, version=3))  # read at a version it never had


def test_more_than_a_hundred_customers_are_read_in_one_call(store: CustomerRevenueStore) -> None:
    for n in range(120):
        store.save_revenue(revenue(f"stripe#cus_{n}", ("sub", "active", n, T0)))
    found = store.revenues([f"stripe#cus_{n}" for n in range(130)])
    assert len(found) == 120
    assert found["stripe#cus_119"].subscriptions["sub"].mrr_minor == 119


def test_more_subscriptions_than_a_customer_keeps_is_refused_before_writing(store: CustomerRevenueStore) -> None:
    many = revenue("k", *[(f"sub_{n}", "active", 1, T0) for n in range(MAX_SUBSCRIPTIONS + 1)])
    with pytest.raises(InvalidInput, match=f"at most {MAX_SUBSCRIPTIONS} subscriptions"):
        store.save_revenue(many)
    assert store.revenues(["k"]) == {}
