"""Listing spend over a range of days that spans months: every line of the range once, in (incurred_on,
spend_id) order, page after page, whatever the page size; the days outside the range left out; cursors of
another listing refused."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from shared.errors import InvalidInput
from shared.finance.budget_engine import compile_budget_engine
from shared.finance.config import load_finance_config
from shared.finance.listing import SpendRange, spend_page
from shared.finance.service import FinanceService
from tests.fakes import FixedClock, RecordingPublisher
from tests.finance_fakes import InMemoryFinanceStore

CONFIG = load_finance_config()
DAYS = [date(2026, 10, 30), date(2026, 10, 31), date(2026, 11, 1), date(2026, 11, 15), date(2026, 12, 2)]


@pytest.fixture
def service() -> FinanceService:
    service = FinanceService(
        InMemoryFinanceStore(),
        CONFIG,
        compile_budget_engine(CONFIG),
        RecordingPublisher(),
        FixedClock(datetime(2026, 12, 10, tzinfo=UTC)),
    )
    lines = [
        {
            "spend_id": f"s-{day.isoformat()}-{n}",
            "channel": "events" if n % 2 else "paid_search",
            "department": "marketing",
            "vendor": "Expo",
            "amount": "10.00",
            "currency": "USD",
            "incurred_on": day.isoformat(),
        }
        for day in DAYS
        for n in range(3)
    ]
    service.record_spend(lines)
    return service


def walk(service: FinanceService, spend_range: SpendRange, limit: int) -> list[str]:
    ids, cursor = [], None
    for _ in range(100):
        page = spend_page(service.store, spend_range, limit, cursor)
        assert len(page.items) <= limit
        ids += [entry.line.spend_id for entry in page.items]
        cursor = page.next_cursor
        if cursor is None:
            return ids
    raise AssertionError("the listing never ended")


@pytest.mark.parametrize("limit", [1, 2, 3, 4, 7, 100])
def test_a_range_over_three_months_lists_every_line_once_in_order_whatever_the_page_size(
    service: FinanceService, limit: int
) -> None:
    # Given lines on five days from October to December
    # When the range Oct 31 .. Dec 2 is listed page by page
    ids = walk(service, SpendRange.of(date(2026, 12, 10), start=date(2026, 10, 31), end=date(2026, 12, 2)), limit)
    # Then every line of the range comes once, in day then spend_id order, and Oct 30 is left out
    expected = sorted(f"s-{day.isoformat()}-{n}" for day in DAYS[1:] for n in range(3))
    assert ids == expected


def test_filters_and_the_default_month_apply(service: FinanceService) -> None:
    # Given the same lines; When November is listed for paid search only
    november = SpendRange.of(date(2026, 12, 10), month="2026-11", channel="paid_search")
    ids = walk(service, november, 2)
    # Then only November's paid-search lines come (n = 0 and 2 each day)
    assert ids == [f"s-{day}-{n}" for day in ("2026-11-01", "2026-11-15") for n in (0, 2)]
    # And with nothing said, the current month (December) is listed
    assert walk(service, SpendRange.of(date(2026, 12, 10)), 50) == [f"s-2026-12-02-{n}" for n in range(3)]


def test_bad_ranges_and_cursors_are_refused_with_what_is_wrong(service: FinanceService) -> None:
    today = date(2026, 12, 10)
    with pytest.raises(InvalidInput, match="before from"):
        SpendRange.of(today, start=date(2026, 11, 2), end=date(2026, 11, 1))
    with pytest.raises(InvalidInput, match="366 days"):
        SpendRange.of(today, start=date(2025, 1, 1), end=date(2026, 1, 2))
    with pytest.raises(InvalidInput, match="not one this listing returned"):
        spend_page(service.store, SpendRange.of(today), 10, "not-a-cursor")
    # a cursor of another range (it starts in a month this range does not hold)
    autumn = SpendRange.of(today, start=date(2026, 10, 1), end=date(2026, 12, 31))
    cursor = spend_page(service.store, autumn, 1, None).next_cursor
    assert cursor is not None
    with pytest.raises(InvalidInput, match="other days or filters"):
        spend_page(service.store, SpendRange.of(today, month="2026-12"), 10, cursor)
