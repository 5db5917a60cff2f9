"""A deal's status time and amount time, on both attribution stores (the DynamoDB adapter over moto, the
in-memory fake): a deal first seen by an update (no status time yet) and one whose amount has its own time
round-trip; a DynamoDB deal item written before `amount_at` was kept still reads, its amount taken as of its
status when a later report is folded in."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from shared.adapters.dynamodb_attribution import DynamoDbAttributionStore
from shared.adapters.dynamodb_items import serialize
from shared.attribution.deals import Deal, DealReport, DealStatus, People
from shared.attribution.ports import AttributionStore
from shared.catalog import physical_name
from shared.catalog.attribution import ATTRIBUTION
from shared.finance.money import Money
from tests.attribution_fakes import InMemoryAttributionStore
from tests.integration.conftest import STAGE, only_table

TABLE = physical_name(STAGE, ATTRIBUTION.name)
T0 = datetime(2026, 11, 20, 15, 30, 0, 123456, tzinfo=UTC)
EAST = timezone(timedelta(hours=5, minutes=30))


@pytest.fixture
def attribution_table() -> Iterator[Any]:
    with only_table(ATTRIBUTION) as client:
        yield client


@pytest.fixture(params=["dynamodb", "in-memory"])
def store(request: pytest.FixtureRequest) -> Iterator[AttributionStore]:
    if request.param == "in-memory":
        yield InMemoryAttributionStore()
        return
    yield DynamoDbAttributionStore(request.getfixturevalue("attribution_table"), TABLE)


def update(at: datetime, amount: Money | None) -> DealReport:
    return DealReport("hubspot:7001", f"e-{at.isoformat()}", at, None, amount, People(), None)


def test_a_deal_first_seen_by_an_update_keeps_no_status_time_and_its_amounts_time(store: AttributionStore) -> None:
    # Given a deal first seen by an amount update (its time in another zone)
    first = Deal.first(update(T0.astimezone(EAST), Money(480_000, "USD")))
    assert (first.status, first.status_at) == (DealStatus.OPEN, None)
    # When it is saved and read back
    saved = store.save_deal(first)
    # Then it has no status time and its amount's time, in UTC
    assert store.deal("hubspot:7001") == saved
    assert (saved.status_at, saved.amount_at) == (None, T0)
    assert saved.amount_at is not None
    assert saved.amount_at.tzinfo == UTC
    # And an earlier win folded into it sets the status and its time, the amount's time kept
    won = DealReport("hubspot:7001", "e-won", T0 - timedelta(hours=1), DealStatus.WON, None, People(), None)
    again = store.save_deal(saved.folded(won))
    assert store.deal("hubspot:7001") == again
    assert (again.status, again.status_at, again.amount_at) == (DealStatus.WON, T0 - timedelta(hours=1), T0)


def test_a_naive_amount_time_is_refused(store: AttributionStore) -> None:
    bad = Deal.first(update(T0, Money(1, "USD")))
    with pytest.raises(ValueError, match="naive datetime"):
        store.save_deal(replace(bad, amount_at=datetime(2026, 11, 1)))
    assert store.deal("hubspot:7001") is None


def test_a_deal_item_written_before_amount_at_still_reads(attribution_table: Any) -> None:
    # Given a DEAL item as written before amount_at was kept: won at T0 with 12,500.00 EUR
    store = DynamoDbAttributionStore(attribution_table, TABLE)
    old = {
        "pk": "DEAL#hubspot:7001",
        "sk": "DEAL",
        "deal_id": "hubspot:7001",
        "first_seen_at": (T0 - timedelta(days=30)).isoformat(),
        "status": "won",
        "status_at": T0.isoformat(),
        "amount_minor": 1_250_000,
        "amount_currency": "EUR",
        "contact_ids": ["hubspot:501"],
        "emails": [],
        "won_at": T0.isoformat(),
        "events": 3,
        "version": 3,
    }
    attribution_table.put_item(TableName=TABLE, Item=serialize(old))
    # When it is read
    deal = store.deal("hubspot:7001")
    # Then it reads whole, with no amount time
    assert deal is not None
    assert (deal.status, deal.status_at, deal.amount, deal.amount_at) == (
        DealStatus.WON,
        T0,
        Money(1_250_000, "EUR"),
        None,
    )
    # And an amount said before its status does not replace it; one said after does, and is stored with its time
    assert deal.folded(update(T0 - timedelta(hours=1), Money(1, "EUR"))).amount == Money(1_250_000, "EUR")
    saved = store.save_deal(deal.folded(update(T0 + timedelta(hours=1), Money(1_300_000, "EUR"))))
    assert store.deal("hubspot:7001") == saved
    assert (saved.amount, saved.amount_at, saved.version) == (Money(1_300_000, "EUR"), T0 + timedelta(hours=1), 4)
