"""One contract, two finance stores: the DynamoDB adapter (over moto) and the in-memory fake behave alike.

The contract is `shared.finance.ports.FinanceStore`. Where its docstrings are silent, these tests pin what both
implementations do: a chunk over `MAX_CHUNK_ITEMS` items, a spend_id twice in a chunk, a line reversing
itself, an aggregate key whose department or channel holds `#` (or whose campaign is `-`), a day's delta
outside its month, a key moved on no day: ValueError before anything is written; an original written by the
same chunk may be reversed (and corrected) by it; the ledger's periods are months (a quarter is InvalidInput)
while FX, budgets and alerts take months and quarters in any case (`2026-q4` is `2026-Q4`); a month lists the
lines that count in it (a service period's in each month it touches) by the day each is listed on there, then
`spend_id`; datetimes come back in UTC.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields, replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.adapters.dynamodb_finance import DynamoDbFinanceStore
from shared.adapters.dynamodb_finance_items import budget_item, day_attribute, day_sk, period_pk, spend_item
from shared.adapters.dynamodb_items import item_size, serialize
from shared.catalog import physical_name
from shared.catalog.finance import FINANCE
from shared.errors import InvalidInput, TooLarge
from shared.finance.budget_engine import Budget, BudgetLine
from shared.finance.fx import FxTable
from shared.finance.money import Money
from shared.finance.periods import Period
from shared.finance.ports import (
    MAX_CHUNK_ITEMS,
    AlertState,
    FinanceStore,
    MonthActuals,
    SpendChunk,
    SpendConflict,
    SpendPage,
    StaleBudget,
    StoredBudget,
    StoredSpend,
)
from shared.finance.service_periods import ServicePeriod
from shared.finance.spend import SpendKey, SpendLine, reversal_of
from tests.finance_fakes import InMemoryFinanceStore
from tests.integration.conftest import STAGE, only_table
from tests.integration.dynamodb_doubles import SmallPages, Starved, counted_calls

TABLE = physical_name(STAGE, FINANCE.name)
T0 = datetime(2026, 11, 25, 12, 0, 0, 123456, tzinfo=UTC)
NOV = "2026-11"
KEY: SpendKey = ("marketing", "paid_search", "c1")  # what `line` keys by default
NOVEMBER = Period.month(2026, 11)
FX_NOV = FxTable(
    NOVEMBER,
    "USD",
    {"EUR": Decimal("1.0850"), "JPY": Decimal("0.0067"), "KWD": Decimal("3.2512"), "GBP": Decimal("1.2725")},
)
_years = itertools.count(2000)  # a month of its own per hypothesis example, on either store


@pytest.fixture
def finance_table() -> Iterator[Any]:
    with only_table(FINANCE) as client:
        yield client


@pytest.fixture(params=["dynamodb", "in-memory"])
def store(request: pytest.FixtureRequest) -> Iterator[FinanceStore]:
    if request.param == "in-memory":
        yield InMemoryFinanceStore()
        return
    yield DynamoDbFinanceStore(request.getfixturevalue("finance_table"), TABLE)


@pytest.fixture
def dynamo(finance_table: Any) -> tuple[DynamoDbFinanceStore, Any]:
    return DynamoDbFinanceStore(finance_table, TABLE), finance_table


def line(
    spend_id: str,
    minor: int = 10_000,
    currency: str = "USD",
    *,
    day: date = date(2026, 11, 3),
    campaign: str | None = "c1",
    channel: str = "paid_search",
    department: str = "marketing",
    vendor: str = "Acme Ads",
    span: ServicePeriod | None = None,
    corrects: str | None = None,
) -> SpendLine:
    """A line incurred on `day`, or over `span` when given."""
    return SpendLine(
        spend_id,
        campaign,
        channel,
        department,
        vendor,
        Money(minor, currency),
        None if span else day,
        service_period=span,
        corrects=corrects,
    )


def stored(spend: SpendLine, at: datetime = T0, fx: FxTable = FX_NOV) -> StoredSpend:
    converted = fx.to_base(spend.amount)
    return StoredSpend(spend, converted.amount.minor, converted.rate, at)


def chunk(
    *lines: StoredSpend, reversals: dict[str, str] | None = None, corrections: dict[str, str] | None = None
) -> SpendChunk:
    """The lines with the deltas they make, as the service builds a chunk."""
    return SpendChunk.of(lines, reversals, corrections)


def reverse(store: FinanceStore, original: StoredSpend, reversal_id: str) -> StoredSpend:
    """Records the reversal of `original` under `reversal_id`; the reversal as stored."""
    reversal = stored(reversal_of(original.line, reversal_id), original.recorded_at)
    store.record(chunk(reversal, reversals={original.line.spend_id: reversal_id}))
    return reversal


def every_line(store: FinanceStore, period: str, page: int = 3, **filters: Any) -> list[StoredSpend]:
    found: list[StoredSpend] = []
    cursor = None
    while True:
        listed = store.lines(period, limit=page, cursor=cursor, **filters)
        assert len(listed.items) <= page
        found += listed.items
        cursor = listed.next_cursor
        if cursor is None:
            return found


def ids(lines: list[StoredSpend] | dict[str, StoredSpend]) -> list[str]:
    values = lines.values() if isinstance(lines, dict) else lines
    return [one.line.spend_id for one in values]


def in_utc(one: StoredSpend) -> StoredSpend:
    return replace(one, recorded_at=one.recorded_at.astimezone(UTC))


# ------------------------------------------------------------------------------------------------ round trip

_id_tail = st.text(alphabet="abcXYZ019_.:@/#+=-", max_size=12)
_ids = st.builds(lambda tail: f"{uuid.uuid4().hex[:8]}{tail}", _id_tail)
_texts = st.text(min_size=1, max_size=40).filter(lambda text: text.strip() == text and text.strip() != "")
_zones = st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))])
_currencies = st.sampled_from(["USD", "EUR", "JPY", "KWD", "GBP"])
_drawn_line_fields: dict[str, st.SearchStrategy[Any]] = {
    "spend_id": _ids,
    "campaign_id": st.none() | _ids,
    "channel": st.sampled_from(["paid_search", "paid_social", "events"]),
    "department": st.sampled_from(["marketing", "sales", "demand_gen"]),
    "vendor": _texts,
    # at most 15 digits before the point in any currency (`money.MAX_INTEGER_DIGITS`)
    "amount": st.builds(Money, st.integers(-(10**14), 10**14).filter(bool), _currencies),
    "incurred_on": st.dates(date(2026, 1, 1), date(2026, 12, 31)),
    "reference": st.none() | _texts,
    "description": st.none() | _texts,
    "reverses": st.none() | _ids,
    # within 2026, so moved to a year of its own it stays there (incurred_on is then left out)
    "service_period": st.none()
    | st.builds(
        lambda start, days: ServicePeriod(start, min(start + timedelta(days=days), date(2026, 12, 31))),
        st.dates(date(2026, 1, 1), date(2026, 12, 31)),
        st.integers(0, 400),
    ),
    "corrects": st.none() | _ids,
}
_drawn_stored_fields: dict[str, st.SearchStrategy[Any]] = {
    "line": st.deferred(lambda: _drawn_lines()),
    "company_minor": st.integers(-(10**17), 10**17),
    "rate": st.decimals(min_value=Decimal("1E-10"), max_value=Decimal(10**11), places=10),
    "recorded_at": st.datetimes(datetime(1970, 1, 2), datetime(2200, 1, 1), timezones=_zones),
    "reversed_by": st.none() | _ids,
    "corrected_by": st.none() | _ids,
}


@st.composite
def _drawn_lines(draw: st.DrawFn) -> SpendLine:
    drawn = {name: draw(strategy, label=name) for name, strategy in _drawn_line_fields.items()}
    if drawn["service_period"] is not None:
        drawn["incurred_on"] = None  # exactly one of the two
    return SpendLine(**drawn)


def _in_year(spend: SpendLine, year: int) -> SpendLine:
    span = spend.service_period
    if span is None:
        assert spend.incurred_on is not None
        return replace(spend, incurred_on=spend.incurred_on.replace(year=year))
    return replace(spend, service_period=ServicePeriod(span.start.replace(year=year), span.end.replace(year=year)))


def test_the_round_trip_draws_every_field_of_a_line() -> None:
    # A field added to SpendLine or StoredSpend and not drawn would round-trip as its default only.
    assert set(_drawn_line_fields) == {field.name for field in fields(SpendLine)}
    assert set(_drawn_stored_fields) == {field.name for field in fields(StoredSpend)}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=st.builds(StoredSpend, **_drawn_stored_fields))
def test_a_line_round_trips_every_field(store: FinanceStore, drawn: StoredSpend) -> None:
    # Given a line in a year of its own (any currency, any rate, any zone, on a day or over a service period,
    # maybe already marked reversed and corrected)
    year = next(_years)
    drawn = replace(drawn, line=_in_year(drawn.line, year))
    store.record(SpendChunk((drawn,)))
    # Then it reads back whole, by id and in the listing of each month it counts in, with the instant in UTC
    assert store.spend([drawn.line.spend_id]) == {drawn.line.spend_id: in_utc(drawn)}
    for month in drawn.line.months:
        assert store.lines(str(month)).items == [in_utc(drawn)]
    assert store.spend([drawn.line.spend_id])[drawn.line.spend_id].recorded_at.tzinfo == UTC


def test_lines_in_mixed_currencies_keep_amount_rate_and_company_amount(store: FinanceStore) -> None:
    # Given lines in four currencies with different exponents (JPY 0, USD 2, KWD 3), converted by the table
    lines = [
        stored(line("usd-1", 123_456, "USD")),
        stored(line("eur-1", 99_99, "EUR")),
        stored(line("jpy-1", 150_000, "JPY")),
        stored(line("kwd-1", 1_234, "KWD", campaign=None)),
    ]
    store.record(chunk(*lines))
    # Then each keeps its own amount, the rate it used and its amount in USD cents
    found = store.spend(["kwd-1", "jpy-1", "eur-1", "usd-1"])
    assert {k: (v.line.amount, v.rate, v.company_minor) for k, v in found.items()} == {
        "usd-1": (Money(123_456, "USD"), Decimal(1), 123_456),
        "eur-1": (Money(9_999, "EUR"), Decimal("1.0850"), 10_849),  # 108.489... -> 108.49
        "jpy-1": (Money(150_000, "JPY"), Decimal("0.0067"), 100_500),
        "kwd-1": (Money(1_234, "KWD"), Decimal("3.2512"), 401),  # 1.234 x 3.2512 = 4.0119...
    }
    assert store.aggregates(NOV) == {
        ("marketing", "paid_search", "c1"): 123_456 + 10_849 + 100_500,
        ("marketing", "paid_search", None): 401,
    }
    assert store.month_actuals(NOV).by_day == {date(2026, 11, 3): 123_456 + 10_849 + 100_500 + 401}


def test_spend_reads_any_number_of_ids(store: FinanceStore) -> None:
    # Given 230 lines (three chunks)
    all_ids = [f"s{n:03d}" for n in range(230)]
    for start in range(0, 230, 90):
        store.record(chunk(*(stored(line(spend_id)) for spend_id in all_ids[start : start + 90])))
    # When asked for all of them, unknown ones and repeats, in any order
    asked = [*reversed(all_ids), "unknown", "s001", "s001", "also-unknown"]
    found = store.spend(asked)
    # Then it has each stored one once, in the order asked, and nothing for unknown ids
    assert ids(found) == list(reversed(all_ids))
    assert store.spend([]) == {}
    assert store.spend(["unknown"]) == {}


# ---------------------------------------------------------------------------------------------------- FX


def test_fx_tables_round_trip_per_period_and_are_replaced_whole(store: FinanceStore) -> None:
    assert store.fx(NOV) is None
    store.put_fx(FX_NOV)
    assert store.fx(NOV) == FX_NOV
    assert store.fx(NOV).rates["JPY"] == Decimal("0.0067")  # type: ignore[union-attr]
    # A new table for the month replaces the old one whole (GBP gone), other months untouched
    newer = FxTable(Period.month(2026, 11), "USD", {"EUR": Decimal("1.0000000001")})
    store.put_fx(newer)
    assert store.fx("2026-11") == newer
    assert store.fx("2026-10") is None
    # A quarter's table, asked in any case
    quarter = FxTable(Period.quarter(2026, 4), "EUR", {"USD": Decimal("0.92"), "CHF": Decimal("1.05")})
    store.put_fx(quarter)
    assert store.fx("2026-q4") == quarter
    assert store.fx("2026-Q4") == quarter


@pytest.mark.parametrize("period", ["2026-13", "nov", ""])
def test_a_bad_period_is_invalid_input(store: FinanceStore, period: str) -> None:
    readers: list[Callable[[str], object]] = [
        store.fx, store.budget, store.budget_versions, store.fired, store.lines, store.aggregates, store.month_actuals
    ]  # fmt: skip
    for read in readers:
        with pytest.raises(InvalidInput):
            read(period)


def test_the_ledger_is_read_by_month(store: FinanceStore) -> None:
    readers: list[Callable[[str], object]] = [store.lines, store.aggregates, store.month_actuals]
    for read in readers:
        with pytest.raises(InvalidInput, match="2026-Q4 is a quarter"):
            read("2026-Q4")


# ------------------------------------------------------------------------------------------------ budgets


def budget(amount: int = 5_000_000, period: Period = NOVEMBER) -> Budget:
    return Budget(
        period,
        "USD",
        (
            BudgetLine("marketing", "paid_search", "c1", amount),
            BudgetLine("marketing", "events", None, 1_000_000),
            BudgetLine("sales", None, None, 0),
        ),
        (50, 80, 100, 110),
    )


def test_budgets_are_versioned_and_keep_every_version(store: FinanceStore) -> None:
    assert store.budget(NOV) is None
    assert store.budget_versions(NOV) == []
    # Given a first version, then a second in another zone
    first = store.put_budget(budget(5_000_000), 0, T0, "ana@example.com")
    assert first == StoredBudget(budget(5_000_000), 1, T0, "ana@example.com")
    later = (T0 + timedelta(hours=1)).astimezone(timezone(timedelta(hours=2)))
    second = store.put_budget(replace(budget(7_500_000), thresholds=(80, 100)), 1, later, "bo")
    # Then the current one is the second, in UTC; both versions are kept, oldest first
    assert second == StoredBudget(replace(budget(7_500_000), thresholds=(80, 100)), 2, later, "bo")
    assert second.updated_at.tzinfo == UTC
    assert store.budget(NOV) == second
    assert store.budget_versions(NOV) == [first, second]
    assert all(type(t) is int for t in second.budget.thresholds)
    # And another period has its own versions
    quarter = store.put_budget(budget(period=Period.quarter(2026, 4)), 0, T0, "ana")
    assert store.budget("2026-q4") == quarter
    assert store.budget_versions(NOV) == [first, second]


def test_each_version_of_a_budget_reads_back_and_one_never_written_is_none(store: FinanceStore) -> None:
    # Given a budget PUT twice
    first = store.put_budget(budget(5_000_000), 0, T0, "ana")
    second = store.put_budget(budget(7_500_000), 1, T0 + timedelta(hours=1), "bo")
    # When each version is read, then it is that version as it was written, the current one too
    assert store.budget_version(NOV, 1) == first
    assert store.budget_version("2026-11", 2) == second == store.budget(NOV)
    # And a version never written, or one of a period without a budget, is None
    assert store.budget_version(NOV, 3) is None
    assert store.budget_version("2026-12", 1) is None
    # And a version no budget can have is a ValueError naming the range
    for bad in (0, -1, 10**10, True):
        with pytest.raises(ValueError, match="a budget version is 1 to 9999999999"):
            store.budget_version(NOV, bad)


@pytest.mark.parametrize("expected", [0, 1, 3])
def test_a_budget_written_from_a_stale_version_is_refused(store: FinanceStore, expected: int) -> None:
    # Given a budget at version 2
    store.put_budget(budget(1), 0, T0, "ana")
    current = store.put_budget(budget(2), 1, T0, "ana")
    # When a writer that read another version writes
    with pytest.raises(StaleBudget, match=f"budget of 2026-11 is at version 2, not {expected} as read"):
        store.put_budget(budget(3), expected, T0, "bo")
    # Then nothing was written
    assert store.budget(NOV) == current
    assert [v.version for v in store.budget_versions(NOV)] == [1, 2]


def test_the_first_budget_is_refused_when_written_from_a_version(store: FinanceStore) -> None:
    with pytest.raises(StaleBudget, match=r"budget of 2026-11 does not exist \(it was read at version 1\)"):
        store.put_budget(budget(), 1, T0, "ana")
    assert store.budget_versions(NOV) == []


@pytest.mark.parametrize("expected", [-1, True])
def test_a_version_read_is_zero_or_more(store: FinanceStore, expected: Any) -> None:
    with pytest.raises(ValueError, match="the version read is 0"):
        store.put_budget(budget(), expected, T0, "ana")
    with pytest.raises(ValueError, match="naive datetime"):
        store.put_budget(budget(), 0, datetime(2026, 11, 1), "ana")
    assert store.budget(NOV) is None


# ----------------------------------------------------------------------------------------- record: atomic


def test_a_conflicting_line_leaves_the_whole_chunk_unwritten(store: FinanceStore) -> None:
    # Given a stored line
    first = stored(line("a1", 5_000))
    store.record(chunk(first))
    before = (store.aggregates(NOV), store.month_actuals(NOV), store.lines(NOV).items)
    # When a chunk of new lines holds a1 again (a concurrent writer of the same spend_id)
    b1, b2 = stored(line("b1", 700, day=date(2026, 11, 4))), stored(line("b2", 800, "EUR", campaign="c2"))
    again = stored(line("a1", 9_999))
    with pytest.raises(SpendConflict, match="spend line a1 exists already") as conflict:
        store.record(chunk(b1, again, b2))
    # Then it names only the line that failed, and nothing of the chunk is written
    assert "b1" not in str(conflict.value)
    assert "b2" not in str(conflict.value)
    assert store.spend(["a1", "b1", "b2"]) == {"a1": first}
    assert (store.aggregates(NOV), store.month_actuals(NOV), store.lines(NOV).items) == before


def test_a_failed_reversal_leaves_the_whole_chunk_unwritten(store: FinanceStore) -> None:
    a1 = stored(line("a1"))
    store.record(chunk(a1))
    reverse(store, a1, "r1")
    before = (store.aggregates(NOV), store.month_actuals(NOV), every_line(store, NOV))
    # A chunk of a new line and a second reversal of a1
    r2 = stored(reversal_of(a1.line, "r2"))
    with pytest.raises(SpendConflict, match="original a1 of reversal r2 was reversed already by r1"):
        store.record(chunk(stored(line("n1")), r2, reversals={"a1": "r2"}))
    assert (store.aggregates(NOV), store.month_actuals(NOV), every_line(store, NOV)) == before
    assert set(store.spend(["n1", "r2"])) == set()


def test_every_failed_condition_is_named(store: FinanceStore) -> None:
    a1 = stored(line("a1"))
    store.record(chunk(a1))
    with pytest.raises(SpendConflict) as conflict:
        store.record(
            chunk(stored(line("a1")), stored(reversal_of(line("zz"), "r9")), reversals={"zz": "r9"}),
        )
    assert str(conflict.value) == (
        f"spend line a1 exists already (recorded at {T0.isoformat(timespec='microseconds')}); "
        "original zz of reversal r9 does not exist"
    )


# --------------------------------------------------------------------------------------- record: reversals


def test_an_original_is_reversed_once(store: FinanceStore) -> None:
    # Given a line in EUR
    a1 = stored(line("a1", 12_345, "EUR"))
    store.record(chunk(a1))
    # When it is reversed
    r1 = reverse(store, a1, "r1")
    # Then the original names its reversal, the reversal names the original, and the aggregates net to 0
    assert store.spend(["a1", "r1"]) == {"a1": replace(a1, reversed_by="r1"), "r1": r1}
    assert r1.line.reverses == "a1"
    assert store.aggregates(NOV) == {("marketing", "paid_search", "c1"): 0}
    assert store.month_actuals(NOV).by_day == {date(2026, 11, 3): 0}
    # And a second reversal is refused, naming the first, with nothing written
    with pytest.raises(SpendConflict, match="original a1 of reversal r2 was reversed already by r1"):
        reverse(store, a1, "r2")
    assert store.spend(["r2"]) == {}
    assert store.aggregates(NOV) == {("marketing", "paid_search", "c1"): 0}


def test_a_reversal_of_a_line_never_stored_is_refused(store: FinanceStore) -> None:
    ghost = stored(line("ghost"))
    with pytest.raises(SpendConflict, match="original ghost of reversal r1 does not exist"):
        reverse(store, ghost, "r1")
    assert store.spend(["ghost", "r1"]) == {}
    assert store.aggregates(NOV) == {}


def test_a_line_and_its_reversal_in_one_chunk(store: FinanceStore) -> None:
    a1 = stored(line("a1", 777, "JPY"))
    r1 = stored(reversal_of(a1.line, "r1"))
    store.record(chunk(a1, r1, reversals={"a1": "r1"}))
    assert store.spend(["a1", "r1"]) == {"a1": replace(a1, reversed_by="r1"), "r1": r1}
    assert store.aggregates(NOV) == {("marketing", "paid_search", "c1"): 0}


def test_concurrent_reversals_of_one_original_leave_one(store: FinanceStore) -> None:
    a1 = stored(line("a1", 5_000))
    store.record(chunk(a1))
    barrier = threading.Barrier(10)

    def attempt(n: int) -> bool:
        barrier.wait()
        try:
            reverse(store, a1, f"r{n}")
        except SpendConflict:
            return False
        return True

    with ThreadPoolExecutor(10) as pool:
        won = [n for n, ok in enumerate(pool.map(attempt, range(10))) if ok]
    assert len(won) == 1
    assert store.spend(["a1"])["a1"].reversed_by == f"r{won[0]}"
    assert ids(store.spend([f"r{n}" for n in range(10)])) == [f"r{won[0]}"]
    assert store.aggregates(NOV) == {("marketing", "paid_search", "c1"): 0}


# -------------------------------------------------------------------------------- record: service periods

# 91 days: 15 of November, 31 of December, 31 of January, 14 of February
WINTER = ServicePeriod(date(2026, 11, 16), date(2027, 2, 14))
WINTER_MONTHS = ("2026-11", "2026-12", "2027-01", "2027-02")


def test_a_service_period_line_counts_its_share_in_each_month_and_is_listed_in_each(store: FinanceStore) -> None:
    # Given 910.00 USD over the 91 days of WINTER (10.00 a day), and a line of 5.00 on 1 December
    winter = stored(line("sub-1", 91_000, span=WINTER))
    december = stored(line("dec-1", 500, day=date(2026, 12, 1)))
    store.record(chunk(winter, december))
    # Then each month's aggregate holds the share of its days, and the shares sum to the amount
    assert [store.aggregates(month) for month in WINTER_MONTHS] == [
        {KEY: 15_000},
        {KEY: 31_000 + 500},
        {KEY: 31_000},
        {KEY: 14_000},
    ]
    # And each day of the period holds its 10.00 in its month's day figures, per key too
    assert store.month_actuals("2026-11").by_day == {date(2026, 11, day): 1_000 for day in range(16, 31)}
    assert store.month_actuals("2026-12").by_key_day == {
        KEY: {date(2026, 12, day): 1_000 + (500 if day == 1 else 0) for day in range(1, 32)}
    }
    # And the line is stored once, and listed in every month it touches (on its first day there), not after
    assert store.spend(["sub-1"]) == {"sub-1": winter}
    assert [ids(store.lines(month).items) for month in WINTER_MONTHS] == [
        ["sub-1"],
        ["dec-1", "sub-1"],  # both on 1 December: by spend_id
        ["sub-1"],
        ["sub-1"],
    ]
    assert store.lines("2027-02").items == [winter]
    assert store.lines("2027-03").items == []
    assert store.lines("2026-10").items == []
    # And the filters and pages apply to it as to any line
    assert every_line(store, "2026-12", page=1, campaign_id="c1", channel="paid_search") == [december, winter]
    assert store.lines("2026-12", channel="events").items == []
    assert ids(store.lines("2027-01", campaign_id="c1").items) == ["sub-1"]


def test_a_one_day_service_period_counts_as_a_line_incurred_on_that_day(store: FinanceStore) -> None:
    one_day = stored(line("p-1", 12_345, span=ServicePeriod(date(2026, 11, 3), date(2026, 11, 3))))
    store.record(chunk(one_day))
    assert (
        chunk(one_day).deltas == chunk(stored(line("d-1", 12_345))).deltas == {(NOV, KEY): {date(2026, 11, 3): 12_345}}
    )
    assert store.month_actuals(NOV) == MonthActuals(
        {KEY: 12_345}, {date(2026, 11, 3): 12_345}, {KEY: {date(2026, 11, 3): 12_345}}
    )
    assert store.lines(NOV).items == [one_day]


def test_a_reversal_of_a_service_period_line_nets_every_month_and_day(store: FinanceStore) -> None:
    # Given 1,000.01 EUR over WINTER, stored
    winter = stored(line("sub-1", 100_001, "EUR", span=WINTER))
    store.record(chunk(winter))
    # When it is reversed
    reverse(store, winter, "sub-1-rev")
    # Then every month it touched is back to 0, on every day, and lists the line and its reversal
    for month in WINTER_MONTHS:
        assert store.aggregates(month) == {KEY: 0}
        assert set(store.month_actuals(month).by_day.values()) == {0}
        assert ids(store.lines(month).items) == ["sub-1", "sub-1-rev"]
    # And the original names its reversal, wherever it is listed
    assert store.lines("2027-01").items[0].reversed_by == "sub-1-rev"


def test_a_correction_names_its_reversed_original_once(store: FinanceStore) -> None:
    # Given a stored line
    a1 = stored(line("a1", 5_000))
    store.record(chunk(a1))
    c1 = stored(line("c1", 4_000, corrects="a1"))
    # When a correction comes before the original is reversed, Then it is refused and nothing is written
    with pytest.raises(SpendConflict, match="original a1 of correction c1 is not reversed"):
        store.record(chunk(c1, corrections={"a1": "c1"}))
    assert store.spend(["c1"]) == {}
    # When the original is reversed, then corrected
    reverse(store, a1, "r1")
    store.record(chunk(c1, corrections={"a1": "c1"}))
    # Then the original names both, the correction names the original, and the month holds the correction only
    assert store.spend(["a1", "c1"]) == {"a1": replace(a1, reversed_by="r1", corrected_by="c1"), "c1": c1}
    assert store.lines(NOV).items[0] == replace(a1, reversed_by="r1", corrected_by="c1")
    assert store.aggregates(NOV) == {KEY: 4_000}
    # And a second correction, or one of a line never stored, is refused naming why, with nothing written
    with pytest.raises(SpendConflict, match="original a1 of correction c2 was corrected already by c1"):
        store.record(chunk(stored(line("c2", 4_500, corrects="a1")), corrections={"a1": "c2"}))
    with pytest.raises(SpendConflict, match="original ghost of correction c3 does not exist"):
        store.record(chunk(stored(line("c3", corrects="ghost")), corrections={"ghost": "c3"}))
    assert store.spend(["c2", "c3"]) == {}
    assert store.aggregates(NOV) == {KEY: 4_000}


def test_a_reversal_and_a_correction_of_one_original_in_one_chunk(store: FinanceStore) -> None:
    # Given a stored line, When its reversal and its correction come in one chunk
    a1 = stored(line("a1", 5_000))
    store.record(chunk(a1))
    r1, c1 = stored(reversal_of(a1.line, "r1")), stored(line("c1", 6_000, corrects="a1"))
    store.record(chunk(r1, c1, reversals={"a1": "r1"}, corrections={"a1": "c1"}))
    # Then the original names both (one update of it)
    assert store.spend(["a1"])["a1"] == replace(a1, reversed_by="r1", corrected_by="c1")
    # And an original written by the same chunk as its reversal and correction carries both too
    other = ("marketing", "paid_search", "c2")
    b1 = stored(line("b1", 700, campaign="c2"))
    rb, cb = stored(reversal_of(b1.line, "rb")), stored(line("cb", 800, campaign="c2", corrects="b1"))
    store.record(chunk(b1, rb, cb, reversals={"b1": "rb"}, corrections={"b1": "cb"}))
    assert store.spend(["b1"])["b1"] == replace(b1, reversed_by="rb", corrected_by="cb")
    assert store.aggregates(NOV) == {KEY: 6_000, other: 800}
    # And a reversal and correction of an original reversed already are refused, naming it, nothing written
    r2, c2 = stored(reversal_of(a1.line, "r2")), stored(line("c2", 1, corrects="a1"))
    with pytest.raises(SpendConflict, match="original a1 of reversal r2 and correction c2 was reversed already by r1"):
        store.record(chunk(r2, c2, reversals={"a1": "r2"}, corrections={"a1": "c2"}))
    assert store.spend(["r2", "c2"]) == {}
    assert store.aggregates(NOV) == {KEY: 6_000, other: 800}


# ------------------------------------------------------------------------------------------ record: limits


def test_a_chunk_holds_at_most_max_chunk_items(store: FinanceStore) -> None:
    # 99 lines on one key: 99 + 1 aggregate = 100 items, the most, whatever the days they span
    full = chunk(*(stored(line(f"f{n}", day=date(2026, 11, 1 + n % 30))) for n in range(MAX_CHUNK_ITEMS - 1)))
    store.record(full)
    assert len(every_line(store, NOV, page=50)) == 99
    assert len(store.month_actuals(NOV).by_day) == 30
    # One more item is refused before anything is written
    over = chunk(*(stored(line(f"o{n}")) for n in range(MAX_CHUNK_ITEMS)))
    with pytest.raises(ValueError, match=r"a chunk holds at most 100 items .* not 101"):
        store.record(over)
    assert store.spend([f"o{n}" for n in range(100)]) == {}
    assert store.aggregates(NOV) == {("marketing", "paid_search", "c1"): 99 * 10_000}


def test_a_service_periods_listings_and_months_count_in_the_chunk_size(store: FinanceStore) -> None:
    # Given the longest service period (36 months from the 15th: it touches 37 months), and 26 lines of its key
    # on its first day: 1 line + 36 listings + 37 aggregates + 26 lines = 100 items
    longest = stored(line("long", 3_700_000, span=ServicePeriod(date(2026, 1, 15), date(2029, 1, 14))))
    assert chunk(longest).items == 1 + 36 + 37
    others = [stored(line(f"o{n}", day=date(2026, 1, 15))) for n in range(27)]
    store.record(chunk(longest, *others[:26]))
    assert ids(store.lines("2029-01").items) == ["long"]
    assert sum(store.aggregates(str(month))[KEY] for month in longest.line.months) == 3_700_000 + 26 * 10_000
    # One more item is refused before anything is written
    with pytest.raises(ValueError, match="not 101"):
        store.record(chunk(replace(longest, line=replace(longest.line, spend_id="long-2")), *others))
    assert store.spend(["long-2", "o26"]) == {}


def test_reversals_count_in_the_chunk_size(store: FinanceStore) -> None:
    lines = [stored(line(f"x{n}")) for n in range(98)]
    with pytest.raises(ValueError, match="not 101"):
        store.record(replace(chunk(*lines), reversals={"a": "x1", "b": "x2"}))


def _bad_chunks() -> dict[str, SpendChunk]:
    good = stored(line("g1"))
    return {
        "a spend_id twice": chunk(good, stored(line("g1", 5))),
        "a line reversing itself": replace(chunk(good), reversals={"g1": "g1"}),
        "# in a department": chunk(stored(line("g2", department="mar#keting"))),
        "# in a channel": chunk(stored(line("g2", channel="paid#search"))),
        "- as a campaign": chunk(stored(line("g2", campaign="-"))),
        "an empty department": chunk(stored(line("g2", department=""))),
        "a day outside its month": replace(chunk(good), deltas={(NOV, KEY): {date(2026, 12, 1): 5}}),
        "a quarter as the ledger's period": replace(chunk(good), deltas={("2026-Q4", KEY): {date(2026, 11, 3): 5}}),
        "a key twice in two spellings": replace(
            chunk(good), deltas={(NOV, KEY): {date(2026, 11, 3): 5}, ("2026-11 ", KEY): {date(2026, 11, 3): 5}}
        ),
        "a delta that is no int": replace(chunk(good), deltas={(NOV, KEY): {date(2026, 11, 3): Decimal(5)}}),  # type: ignore[dict-item]
        "a key moved on no day": replace(chunk(good), deltas={(NOV, KEY): {}}),
        "a naive recorded_at": chunk(good, stored(line("g3"), at=datetime(2026, 11, 3))),
        "a rate that is no rate": chunk(good, replace(stored(line("g3")), rate=Decimal("NaN"))),
    }


@pytest.mark.parametrize("bad", _bad_chunks().values(), ids=_bad_chunks().keys())
def test_a_chunk_that_cannot_be_laid_out_is_refused_before_anything_is_written(
    store: FinanceStore, bad: SpendChunk
) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each reason has its own message
        store.record(bad)
    assert store.spend(["g1", "g2", "g3"]) == {}
    assert (store.aggregates(NOV), store.month_actuals(NOV)) == ({}, MonthActuals({}, {}, {}))


def test_campaign_ids_may_hold_hashes(store: FinanceStore) -> None:
    odd = stored(line("id#1", campaign="camp#2026/q4#a", channel="events"))
    store.record(chunk(odd))
    assert store.aggregates(NOV) == {("marketing", "events", "camp#2026/q4#a"): 10_000}
    assert store.lines(NOV, campaign_id="camp#2026/q4#a").items == [odd]


def test_an_empty_chunk_writes_nothing(store: FinanceStore) -> None:
    store.record(SpendChunk(()))
    assert (store.aggregates(NOV), store.lines(NOV).items) == ({}, [])


# ------------------------------------------------------------------------------ aggregates vs the ledger

_KEYS: list[SpendKey] = [
    ("marketing", "paid_search", "c1"),
    ("marketing", "paid_search", None),
    ("marketing", "events", "c#2"),
    ("sales", "events", None),
]


def _drawn_span(data: st.DataObject, year: int) -> ServicePeriod | None:
    """None (a line of one day) or a service period within `year` (the example's own), from a day to months."""
    if not data.draw(st.booleans(), label="service period"):
        return None
    # drawn as offsets (the strategies must not depend on the year, which each example changes)
    start = min(date(year, 1, 1) + timedelta(days=data.draw(st.integers(0, 364), label="from")), date(year, 12, 31))
    days = data.draw(st.sampled_from([0, 1, 29, 30, 31, 45, 92, 200, 365]), label="days")
    return ServicePeriod(start, min(start + timedelta(days=days), date(year, 12, 31)))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_aggregates_equal_a_recomputation_from_the_ledger(store: FinanceStore, data: st.DataObject) -> None:
    # Given a year of its own, and many random chunks: new lines in mixed currencies, on a day or over a service
    # period that may span months, reversals of stored lines, corrections of reversed ones, and chunks that
    # conflict (a spend_id again, an original reversed again, a correction of a line not reversed or corrected
    # already) and must change nothing
    year = next(_years)
    fx = replace(FX_NOV, period=Period.month(year, 11))
    held: list[StoredSpend] = []
    reversed_ids: set[str] = set()
    corrected_ids: set[str] = set()
    serial = itertools.count()
    for _ in range(data.draw(st.integers(1, 8), label="chunks")):
        new = [
            stored(
                line(
                    f"{year}-{next(serial)}",
                    data.draw(st.integers(1, 10**9)),
                    data.draw(_currencies),
                    day=date(year, 11, data.draw(st.integers(1, 30))),
                    campaign=key[2],
                    channel=key[1],
                    department=key[0],
                    span=_drawn_span(data, year),
                ),
                fx=fx,
            )
            for key in data.draw(st.lists(st.sampled_from(_KEYS), min_size=1, max_size=4))
        ]
        reversals: dict[str, str] = {}
        reversible = [one for one in held if one.line.reverses is None]
        if data.draw(st.booleans(), label="reverse") and reversible:
            original = data.draw(st.sampled_from(reversible))
            reversal = stored(reversal_of(original.line, f"{year}-{next(serial)}"), fx=fx)
            new.append(reversal)
            reversals[original.line.spend_id] = reversal.line.spend_id
        corrections: dict[str, str] = {}
        if data.draw(st.booleans(), label="correct") and reversible:
            original = data.draw(st.sampled_from(reversible))
            fixed = line(f"{year}-{next(serial)}", 77, day=date(year, 11, 3), corrects=original.line.spend_id)
            correction = stored(fixed, fx=fx)
            new.append(correction)
            corrections[original.line.spend_id] = correction.line.spend_id
        conflicting = bool(held) and data.draw(st.booleans(), label="conflict")
        if conflicting:
            new.insert(data.draw(st.integers(0, len(new))), data.draw(st.sampled_from(held)))
        conflicting |= any(original in reversed_ids for original in reversals)
        conflicting |= any(original in corrected_ids for original in corrections)
        conflicting |= any(o not in reversed_ids and o not in reversals for o in corrections)
        if chunk(*new, reversals=reversals, corrections=corrections).items > MAX_CHUNK_ITEMS:
            continue
        if conflicting:
            with pytest.raises(SpendConflict):
                store.record(chunk(*new, reversals=reversals, corrections=corrections))
            continue
        store.record(chunk(*new, reversals=reversals, corrections=corrections))
        held += new
        reversed_ids |= set(reversals)
        corrected_ids |= set(corrections)
    # Then in every month of the year, the aggregates and the daily actuals are what the lines the month lists
    # add up to, each line counting its share of the month (a service period's spread over its days)
    months = [Period.month(year, month) for month in range(1, 13)]
    ledger: dict[str, StoredSpend] = {}
    for month in months:
        listed = every_line(store, str(month), page=5)
        assert sorted(ids(listed)) == sorted(one.line.spend_id for one in held if month in one.line.months)
        ledger |= {one.line.spend_id: one for one in listed}
        by_key: Counter[SpendKey] = Counter()
        by_day: Counter[date] = Counter()
        by_key_day: dict[SpendKey, Counter[date]] = {}
        for one in listed:
            for day, amount in one.month_deltas()[month].items():
                by_key[one.line.key] += amount
                by_day[day] += amount
                by_key_day.setdefault(one.line.key, Counter())[day] += amount
        assert store.aggregates(str(month)) == {k: by_key[k] for k in {one.line.key for one in listed}}
        actuals = store.month_actuals(str(month))
        assert actuals.by_day == dict(by_day)
        # And each key's daily actuals are what its lines add up to on each day (a line's trend is fitted to them)
        assert actuals.by_key_day == {k: dict(days) for k, days in by_key_day.items()}
        assert actuals.by_key == store.aggregates(str(month))
    # And the ledger holds every line once, every reversed original names its reversal and every corrected one
    # its correction
    assert sorted(ledger) == sorted(ids(held))
    assert {one.line.spend_id for one in ledger.values() if one.reversed_by} == reversed_ids
    assert {one.line.spend_id for one in ledger.values() if one.corrected_by} == corrected_ids


# ------------------------------------------------------------------------------------------------ alerts


@pytest.mark.parametrize("period", ["2026-11", "2026-Q4"])
def test_an_alert_fires_for_exactly_one_of_twenty_concurrent_callers(store: FinanceStore, period: str) -> None:
    label = "marketing / paid_search / campaign c#1"
    barrier = threading.Barrier(20)

    def fire(_: int) -> bool:
        barrier.wait()
        return store.fire(period, label, 80, 0)

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(fire, range(20)))
    assert results.count(True) == 1
    assert store.fired(period.lower()) == {(label, 80)}


def test_alerts_fire_once_rearm_once_and_fire_again(store: FinanceStore) -> None:
    assert store.fired(NOV) == set()
    assert store.fire(NOV, "total", 80, 0) is True
    assert store.fire(NOV, "total", 80, 0) is False
    assert store.fire(NOV, "total", 100, 0) is True
    assert store.fire(NOV, "marketing / all channels / all campaigns", 80, 0) is True
    assert store.fire("2026-12", "total", 80, 0) is True
    assert store.fired(NOV) == {("total", 80), ("total", 100), ("marketing / all channels / all campaigns", 80)}
    # A reversal takes consumption back under 100 %: re-armed once (its next crossing is generation 1), and it
    # can fire again
    assert store.rearm(NOV, "total", 100, 0) is True
    assert store.rearm(NOV, "total", 100, 0) is False
    assert store.rearm(NOV, "never fired", 50, 0) is False
    assert store.fired(NOV) == {("total", 80), ("marketing / all channels / all campaigns", 80)}
    assert store.fire(NOV, "total", 100, 1) is True
    assert store.fired("2026-12") == {("total", 80)}
    assert store.alerts(NOV) == {
        ("total", 80): AlertState(0, fired=True),
        ("total", 100): AlertState(1, fired=True),
        ("marketing / all channels / all campaigns", 80): AlertState(0, fired=True),
    }


def test_fire_and_rearm_are_conditional_on_the_generation_read(store: FinanceStore) -> None:
    # Given 100 % fired (generation 0), re-armed by one writer (now armed at generation 1) and fired again
    assert store.alerts(NOV) == {}
    assert store.fire(NOV, "total", 100, 0) is True
    assert store.rearm(NOV, "total", 100, 0) is True
    assert store.alerts(NOV) == {("total", 100): AlertState(1, fired=False)}
    # When a writer that read the armed state of generation 0 (before the re-arm) fires it
    # Then it is refused: what it saw is gone (a crossing of generation 0 was told already)
    assert store.fire(NOV, "total", 100, 0) is False
    assert store.fire(NOV, "total", 100, 1) is True
    # And a writer that read the fired state of generation 0 cannot re-arm generation 1's crossing
    assert store.rearm(NOV, "total", 100, 0) is False
    assert store.alerts(NOV) == {("total", 100): AlertState(1, fired=True)}
    assert store.fired(NOV) == {("total", 100)}
    # And a generation that was never fired is neither fired nor re-armed
    assert store.fire(NOV, "total", 100, 2) is False
    assert store.rearm(NOV, "total", 100, 2) is False
    assert store.fire(NOV, "other", 50, 1) is False  # never fired: armed at generation 0
    assert store.alerts(NOV) == {("total", 100): AlertState(1, fired=True)}


def test_an_alert_unfired_after_its_event_was_refused_is_armed_at_the_same_generation(store: FinanceStore) -> None:
    # Given 80 % fired at generation 1 (after one re-arm)
    store.fire(NOV, "total", 80, 0)
    store.rearm(NOV, "total", 80, 0)
    assert store.fire(NOV, "total", 80, 1) is True
    # When its event is refused by the bus and the fire is undone
    assert store.unfire(NOV, "total", 80, 0) is False  # not the generation fired
    assert store.unfire(NOV, "total", 80, 1) is True
    assert store.unfire(NOV, "total", 80, 1) is False  # once
    # Then it is armed at generation 1 again: the retry fires the same crossing (the same event id)
    assert store.alerts(NOV) == {("total", 80): AlertState(1, fired=False)}
    assert store.fired(NOV) == set()
    assert store.fire(NOV, "total", 80, 1) is True


def test_a_rearm_is_won_by_exactly_one_of_twenty_concurrent_callers(store: FinanceStore) -> None:
    store.fire(NOV, "total", 100, 0)
    barrier = threading.Barrier(20)

    def rearm(_: int) -> bool:
        barrier.wait()
        return store.rearm(NOV, "total", 100, 0)

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(rearm, range(20)))
    assert results.count(True) == 1
    assert store.alerts(NOV) == {("total", 100): AlertState(1, fired=False)}


@pytest.mark.parametrize("threshold", [-1, True, "80"])
def test_a_threshold_is_a_whole_number(store: FinanceStore, threshold: Any) -> None:
    with pytest.raises(ValueError, match="an alert threshold is a whole number"):
        store.fire(NOV, "total", threshold, 0)
    with pytest.raises(ValueError, match="an alert threshold is a whole number"):
        store.rearm(NOV, "total", threshold, 0)
    assert store.fired(NOV) == set()


# ----------------------------------------------------------------------------------------------- listings


def _listing_fixture(store: FinanceStore) -> list[StoredSpend]:
    """Ten November lines over three days, two campaigns and two channels, and lines of October and December."""
    lines = [
        stored(line(spend_id, day=date(2026, 11, day), campaign=campaign, channel=channel))
        for spend_id, day, campaign, channel in [
            ("n-b", 3, "c1", "paid_search"),
            ("n-a", 3, "c2", "paid_search"),
            ("n-c", 3, "c1", "events"),
            ("m-1", 14, "c1", "paid_search"),
            ("z-9", 1, None, "events"),
            ("n-a#1", 3, "c1", "paid_search"),
            ("q-1", 30, "c2", "events"),
            ("q-2", 30, "c1", "paid_search"),
            ("a-0", 14, None, "paid_search"),
            ("b-0", 14, "c1", "events"),
        ]
    ]
    store.record(chunk(*lines))
    store.record(chunk(stored(line("oct", day=date(2026, 10, 31))), stored(line("dec", day=date(2026, 12, 1)))))
    return lines


_FILTERS: list[dict[str, Any]] = [
    {},
    {"campaign_id": "c1"},
    {"channel": "events"},
    {"campaign_id": "c1", "channel": "events"},
]


def test_lines_are_listed_by_day_then_spend_id_with_filters(store: FinanceStore) -> None:
    _listing_fixture(store)
    assert ids(store.lines(NOV).items) == [
        "z-9", "n-a", "n-a#1", "n-b", "n-c", "a-0", "b-0", "m-1", "q-1", "q-2"
    ]  # fmt: skip
    assert ids(store.lines(NOV, campaign_id="c1").items) == ["n-a#1", "n-b", "n-c", "b-0", "m-1", "q-2"]
    assert ids(store.lines(NOV, channel="events").items) == ["z-9", "n-c", "b-0", "q-1"]
    assert ids(store.lines(NOV, campaign_id="c1", channel="events").items) == ["n-c", "b-0"]
    assert ids(store.lines(NOV, campaign_id="nope").items) == []
    assert ids(store.lines("2026-10").items) == ["oct"]
    assert store.lines("2026-09").items == []
    assert store.lines(NOV).next_cursor is None


@pytest.mark.parametrize("page", [1, 2, 3, 9, 10])
def test_pages_follow_one_another_without_gaps_or_repeats(store: FinanceStore, page: int) -> None:
    _listing_fixture(store)
    for filters in _FILTERS:
        assert ids(every_line(store, NOV, page=page, **filters)) == ids(store.lines(NOV, limit=100, **filters).items)
    # a full last page has no cursor after it
    assert store.lines(NOV, limit=10).next_cursor is None
    assert store.lines(NOV, limit=9).next_cursor is not None


def _b64(document: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not a cursor",
        "!!!!",
        _b64([1, 2]),
        _b64({"after": "2026-11-03#n-a"}),
        _b64({"after": "n-a", "p": NOV, "c": None, "ch": None}),
        _b64({"after": "2026-13-03#n-a", "p": NOV, "c": None, "ch": None}),
        _b64({"after": "2026-11-03#", "p": NOV, "c": None, "ch": None}),
        _b64({"after": 5, "p": NOV, "c": None, "ch": None}),
        _b64({"after": "2026-11-03#n-a", "p": NOV, "c": 5, "ch": None}),
    ],
)
def test_a_cursor_the_store_did_not_issue_is_invalid_input(store: FinanceStore, cursor: str) -> None:
    _listing_fixture(store)
    with pytest.raises(InvalidInput, match="cursor is not one this API returned"):
        store.lines(NOV, cursor=cursor)


def test_a_cursor_from_another_listing_is_invalid_input(store: FinanceStore) -> None:
    _listing_fixture(store)
    cursor = store.lines(NOV, campaign_id="c1", limit=2).next_cursor
    assert cursor is not None
    assert ids(store.lines(NOV, campaign_id="c1", limit=2, cursor=cursor).items) == ["n-c", "b-0"]
    others: list[dict[str, Any]] = [{"campaign_id": "c2"}, {"campaign_id": "c1", "channel": "events"}, {}]
    for other in others:
        with pytest.raises(InvalidInput, match="another period or other filters"):
            store.lines(NOV, cursor=cursor, **other)
    with pytest.raises(InvalidInput, match="another period or other filters"):
        store.lines("2026-10", campaign_id="c1", cursor=cursor)


def test_a_page_needs_room_for_one_line(store: FinanceStore) -> None:
    with pytest.raises(InvalidInput, match="limit must be at least 1"):
        store.lines(NOV, limit=0)


# ------------------------------------------------------------------------------ DynamoDB specifics only


def _item(client: Any, pk: str, sk: str) -> dict[str, Any]:
    """The item in DynamoDB JSON; {} when there is none."""
    item: dict[str, Any] = client.get_item(TableName=TABLE, Key={"pk": {"S": pk}, "sk": {"S": sk}}).get("Item", {})
    return item


def test_the_item_layout(dynamo: tuple[DynamoDbFinanceStore, Any]) -> None:
    repo, client = dynamo
    a1 = stored(line("a1", 9_999, "EUR", campaign=None), at=T0.astimezone(timezone(timedelta(hours=-8))))
    repo.record(chunk(a1))
    assert _item(client, "SPEND#a1", "LINE") == {
        "pk": {"S": "SPEND#a1"},
        "sk": {"S": "LINE"},
        "spend_id": {"S": "a1"},
        "channel": {"S": "paid_search"},
        "department": {"S": "marketing"},
        "vendor": {"S": "Acme Ads"},
        "amount": {"S": "99.99"},
        "currency": {"S": "EUR"},
        "incurred_on": {"S": "2026-11-03"},
        "company_minor": {"N": "10849"},
        "rate": {"S": "1.0850"},
        "recorded_at": {"S": "2026-11-25T12:00:00.123456+00:00"},
        "line_period": {"S": "PERIOD#2026-11"},
        "line_sort": {"S": "2026-11-03#a1"},
    }
    assert _item(client, "PERIOD#2026-11", "AGG#marketing#paid_search#-") == {
        "pk": {"S": "PERIOD#2026-11"},
        "sk": {"S": "AGG#marketing#paid_search#-"},
        "actual": {"N": "10849"},
        "d03": {"N": "10849"},
    }
    assert _item(client, "PERIOD#2026-11", "DAY#2026-11-03") == {}  # the day rides on the aggregate
    reverse(repo, a1, "r1")
    assert _item(client, "SPEND#a1", "LINE")["reversed_by"] == {"S": "r1"}
    assert _item(client, "SPEND#r1", "LINE")["reverses"] == {"S": "a1"}
    assert _item(client, "PERIOD#2026-11", "AGG#marketing#paid_search#-")["actual"] == {"N": "0"}
    repo.put_fx(FX_NOV)
    assert _item(client, "FX#2026-11", "TABLE")["rates"]["M"]["JPY"] == {"S": "0.0067"}
    repo.put_budget(budget(), 0, T0, "ana")
    repo.put_budget(budget(6), 1, T0, "ana")
    assert _item(client, "BUDGET#2026-11", "CURRENT")["version"] == {"N": "2"}
    assert _item(client, "BUDGET#2026-11", "V#0000000001")["version"] == {"N": "1"}
    assert _item(client, "BUDGET#2026-11", "V#0000000002") != {}
    repo.fire("2026-q4", "sales / all", 110, 0)
    assert _item(client, "ALERT#2026-Q4", "sales / all#110") == {
        "pk": {"S": "ALERT#2026-Q4"},
        "sk": {"S": "sales / all#110"},
        "label": {"S": "sales / all"},
        "threshold": {"N": "110"},
        "generation": {"N": "0"},
        "state": {"S": "fired"},
    }
    repo.rearm("2026-q4", "sales / all", 110, 0)
    assert _item(client, "ALERT#2026-Q4", "sales / all#110")["generation"] == {"N": "1"}
    assert _item(client, "ALERT#2026-Q4", "sales / all#110")["state"] == {"S": "armed"}


def test_an_alert_fired_before_generations_were_kept_reads_as_fired_at_generation_0(
    dynamo: tuple[DynamoDbFinanceStore, Any],
) -> None:
    # Given an alert item as fired before arm generations were stored (no generation, no state)
    repo, client = dynamo
    legacy = {"pk": "ALERT#2026-11", "sk": "total#80", "label": "total", "threshold": 80}
    client.put_item(TableName=TABLE, Item=serialize(legacy))
    # Then it is fired at generation 0: not fired again, re-armed at generation 0 only, then fired at 1
    assert repo.alerts(NOV) == {("total", 80): AlertState(0, fired=True)}
    assert repo.fired(NOV) == {("total", 80)}
    assert repo.fire(NOV, "total", 80, 0) is False
    assert repo.rearm(NOV, "total", 80, 1) is False
    assert repo.rearm(NOV, "total", 80, 0) is True
    assert repo.fire(NOV, "total", 80, 1) is True
    assert repo.alerts(NOV) == {("total", 80): AlertState(1, fired=True)}


def test_aws_calls_per_method(dynamo: tuple[DynamoDbFinanceStore, Any]) -> None:
    repo, client = dynamo
    calls, count = counted_calls(client)
    lines = [stored(line(f"s{n}")) for n in range(150)]
    assert count(lambda: repo.record(chunk(*lines[:99]))) == ["TransactWriteItems"]
    repo.record(chunk(*lines[99:]))
    with pytest.raises(SpendConflict):
        count(lambda: repo.record(chunk(*lines[:1])))
    assert calls == ["TransactWriteItems"]  # refused by its condition: still one call
    assert count(lambda: repo.spend(ids(lines))) == ["BatchGetItem"] * 2
    assert count(lambda: repo.spend([])) == []
    assert count(lambda: repo.lines(NOV, limit=10)) == ["Query"]
    assert count(lambda: repo.aggregates(NOV)) == ["Query"]
    assert count(lambda: repo.month_actuals(NOV).by_day) == ["Query"]
    assert count(lambda: repo.put_fx(FX_NOV)) == ["PutItem"]
    assert count(lambda: repo.fx(NOV)) == ["GetItem"]
    assert count(lambda: repo.put_budget(budget(), 0, T0, "ana")) == ["TransactWriteItems"]
    assert count(lambda: repo.budget(NOV)) == ["GetItem"]
    assert count(lambda: repo.budget_versions(NOV)) == ["Query"]
    assert count(lambda: repo.budget_version(NOV, 1)) == ["GetItem"]
    assert count(lambda: repo.fire(NOV, "total", 80, 0)) == ["PutItem"]
    assert count(lambda: repo.rearm(NOV, "total", 80, 0)) == ["PutItem"]
    assert count(lambda: repo.unfire(NOV, "total", 80, 1)) == ["PutItem"]
    assert count(lambda: repo.fired(NOV)) == ["Query"]
    assert count(lambda: repo.alerts(NOV)) == ["Query"]
    with pytest.raises(ValueError, match="at most 100 items"):
        count(lambda: repo.record(chunk(*lines[:100])))
    assert calls == []


def test_write_units_of_a_line() -> None:
    """What the WRU figures rest on: a typical line (~360 bytes) is one 1 KB write unit; the largest ASCII line
    the parser admits (ids of 128, vendor and reference of 200, description of 2000 characters) four; the
    counters are far under one."""
    typical = stored(
        replace(
            line("inv-2026-11-0042", 123_456, "EUR", campaign="q4-brand-search"),
            reference="PO-88123",
            description="Google Ads, November invoice",
        )
    )
    assert item_size(spend_item(typical)) <= 1024
    largest = replace(
        typical,
        line=replace(
            typical.line,
            spend_id="s" * 128,
            campaign_id="c" * 128,
            vendor="v" * 200,
            reference="r" * 200,
            description="d" * 2000,
        ),
        reversed_by="r" * 128,
    )
    assert 3072 < item_size(spend_item(largest)) <= 4096
    counter = {"pk": "PERIOD#2026-12", "sk": "AGG#marketing#paid_search#" + "c" * 128, "actual": 10**15}
    counter |= {day_attribute(date(2026, 12, day)): 10**15 for day in range(1, 32)}  # a value on every day
    assert item_size(counter) < 1024


def test_the_item_layout_of_a_service_period_line(dynamo: tuple[DynamoDbFinanceStore, Any]) -> None:
    repo, client = dynamo
    winter = stored(line("sub-1", 91_000, span=WINTER, campaign=None))
    repo.record(chunk(winter))
    # The line once, with its period as a map, under its first day
    item = _item(client, "SPEND#sub-1", "LINE")
    assert item["service_period"] == {"M": {"from": {"S": "2026-11-16"}, "to": {"S": "2027-02-14"}}}
    assert "incurred_on" not in item
    assert (item["line_period"], item["line_sort"]) == ({"S": "PERIOD#2026-11"}, {"S": "2026-11-16#sub-1"})
    # A small listing item in each further month, with what a listing filters on
    assert _item(client, "SPEND#sub-1", "MONTH#2026-12") == {
        "pk": {"S": "SPEND#sub-1"},
        "sk": {"S": "MONTH#2026-12"},
        "spend_id": {"S": "sub-1"},
        "channel": {"S": "paid_search"},
        "line_period": {"S": "PERIOD#2026-12"},
        "line_sort": {"S": "2026-12-01#sub-1"},
    }
    assert _item(client, "SPEND#sub-1", "MONTH#2026-11") == {}
    assert _item(client, "PERIOD#2027-02", "AGG#marketing#paid_search#-")["d14"] == {"N": "1000"}
    # A month listing one reads its line (strongly consistent); a month without any reads nothing more
    _, count = counted_calls(client)
    assert count(lambda: repo.lines("2027-01")) == ["Query", "BatchGetItem"]
    assert count(lambda: repo.lines("2026-11")) == ["Query"]
    # A correction marks its original's line item
    reverse(repo, winter, "sub-1-rev")
    repo.record(chunk(stored(line("sub-2", 1)), corrections={"sub-1": "sub-2"}))
    assert _item(client, "SPEND#sub-1", "LINE")["corrected_by"] == {"S": "sub-2"}


def test_a_ledger_written_with_day_items_still_reads_its_days(dynamo: tuple[DynamoDbFinanceStore, Any]) -> None:
    # Given a month whose 3rd was counted in a DAY# item (as ledgers were written before the days moved onto
    # the aggregates), and a line recorded now on the 3rd and the 4th
    repo, client = dynamo
    legacy = {"pk": period_pk(NOV), "sk": day_sk(date(2026, 11, 3)), "actual": 5_000}
    client.put_item(TableName=TABLE, Item=serialize(legacy))
    repo.record(chunk(stored(line("now-3")), stored(line("now-4", day=date(2026, 11, 4)))))
    # Then the day's actual holds both, and the aggregates are what the new lines made
    assert repo.month_actuals(NOV).by_day == {date(2026, 11, 3): 15_000, date(2026, 11, 4): 10_000}
    assert repo.aggregates(NOV) == {KEY: 20_000}
    # And the key's days are its own lines' only: the day item's spend is of no known key
    assert repo.month_actuals(NOV).by_key_day == {KEY: {date(2026, 11, 3): 10_000, date(2026, 11, 4): 10_000}}


def test_a_budget_too_large_to_store_is_refused_before_anything_is_written(
    dynamo: tuple[DynamoDbFinanceStore, Any],
) -> None:
    repo, _ = dynamo
    lines = tuple(BudgetLine("marketing", "paid_search", f"campaign-{n:06d}-{'x' * 60}", 100) for n in range(5000))
    big = Budget(Period.month(2026, 11), "USD", lines)
    with pytest.raises(TooLarge, match=r"budget of 2026-11 would be \d+ bytes, over DynamoDB's item limit .*`lines`"):
        repo.put_budget(big, 0, T0, "ana")
    assert repo.budget(NOV) is None
    assert item_size(budget_item(StoredBudget(budget(), 1, T0, "ana"), "CURRENT")) < 1024


class _Cancelling:
    """A client whose transactions are cancelled with the given reason on the first item."""

    def __init__(self, client: Any, code: str) -> None:
        self._client, self._code = client, code

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def transact_write_items(self, TransactItems: list[dict[str, Any]], **_: Any) -> dict[str, Any]:
        response: Any = {
            "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
            "CancellationReasons": [{"Code": self._code}] + [{"Code": "None"}] * (len(TransactItems) - 1),
        }
        raise ClientError(response, "TransactWriteItems")


def test_a_transaction_conflict_is_a_spend_conflict_or_a_stale_budget(
    dynamo: tuple[DynamoDbFinanceStore, Any],
) -> None:
    _, client = dynamo
    repo = DynamoDbFinanceStore(_Cancelling(client, "TransactionConflict"), TABLE)
    with pytest.raises(SpendConflict, match="spend line a1 is being written by another transaction"):
        repo.record(chunk(stored(line("a1"))))
    with pytest.raises(StaleBudget, match="budget of 2026-11 is being written by another transaction"):
        repo.put_budget(budget(), 0, T0, "ana")


@pytest.mark.parametrize("code", ["ValidationError", "ThrottlingError"])
def test_other_cancellations_propagate(dynamo: tuple[DynamoDbFinanceStore, Any], code: str) -> None:
    _, client = dynamo
    repo = DynamoDbFinanceStore(_Cancelling(client, code), TABLE)
    with pytest.raises(ClientError, match="TransactionCanceledException"):
        repo.record(chunk(stored(line("a1"))))


def test_reads_follow_every_page_dynamodb_returns(
    dynamo: tuple[DynamoDbFinanceStore, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, client = dynamo
    monkeypatch.setattr("shared.adapters.dynamodb_finance.time.sleep", lambda _: None)
    lines = _listing_fixture(repo)
    for version in range(3):
        repo.put_budget(budget(version), version, T0, "ana")
    for threshold in (50, 80, 100):
        repo.fire(NOV, "total", threshold, 0)
    paged = SmallPages(client)
    small = DynamoDbFinanceStore(paged, TABLE)
    assert small.aggregates(NOV) == repo.aggregates(NOV)
    assert len(small.month_actuals(NOV).by_day) == 4
    assert small.month_actuals(NOV).by_day == repo.month_actuals(NOV).by_day
    assert small.budget_versions(NOV) == repo.budget_versions(NOV)
    assert small.fired(NOV) == repo.fired(NOV)
    for filters in _FILTERS:
        assert small.lines(NOV, limit=4, **filters) == repo.lines(NOV, limit=4, **filters)
    assert paged.queries > 20
    assert small.spend(ids(lines)) == repo.spend(ids(lines))
    assert paged.batches == 4


def test_keys_left_unprocessed_too_often_are_an_error(
    dynamo: tuple[DynamoDbFinanceStore, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, client = dynamo
    monkeypatch.setattr("shared.adapters.dynamodb_finance.time.sleep", lambda _: None)

    with pytest.raises(RuntimeError, match="left 2 spend keys unprocessed"):
        DynamoDbFinanceStore(Starved(client), TABLE).spend(["a", "b"])
    assert repo.spend(["a"]) == {}


def _month_of_other_campaigns(repo: DynamoDbFinanceStore, others: int) -> None:
    """`others` November lines of campaign c1, then one of campaign c2 sorting after all of them."""
    lines = [stored(line(f"a-{n:04}", day=date(2026, 11, 3), campaign="c1")) for n in range(others)]
    lines.append(stored(line("z-last", day=date(2026, 11, 3), campaign="c2")))
    for start in range(0, len(lines), 90):
        repo.record(chunk(*lines[start : start + 90]))


def test_a_filtered_page_reads_a_thousand_items_a_call(dynamo: tuple[DynamoDbFinanceStore, Any]) -> None:
    # Given 300 lines the filter drops before the one it keeps
    repo, client = dynamo
    _month_of_other_campaigns(repo, 300)
    _, count = counted_calls(client)
    # When that line is listed one per page
    pages: list[SpendPage] = []
    calls = count(lambda: pages.append(repo.lines(NOV, campaign_id="c2", limit=1)))
    # Then one Query finds it (at Limit 2 it took 151) and nothing follows it
    assert calls == ["Query"]
    assert ids(pages[0].items) == ["z-last"]
    assert pages[0].next_cursor is None


def test_a_filtered_page_stops_at_its_read_budget_and_resumes_where_it_stopped(finance_table: Any) -> None:
    # Given a store that reads 100 items per page at most, and 300 lines the filter drops before the one it keeps
    repo = DynamoDbFinanceStore(SmallPages(finance_table), TABLE, read_budget=100)
    _month_of_other_campaigns(repo, 300)
    # When the campaign is listed page by page
    pages, cursor = [], None
    while True:
        page = repo.lines(NOV, campaign_id="c2", limit=5, cursor=cursor)
        pages.append(page)
        if (cursor := page.next_cursor) is None:
            break
    # Then the first pages are empty but say where to resume, and the walk finds the line once
    assert [ids(page.items) for page in pages] == [[], [], [], ["z-last"]]
    assert all(page.next_cursor for page in pages[:-1])
