"""Service periods and corrections through the finance service, on the in-memory store: a line over a service
period counts in each month the share of its days (budget views, day figures, alerts of every month it moves),
converted once at its first month's rate; a reversal of it nets every month; a correction names its reversed
original, once; bad periods and bad corrections are refused naming the line and field."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from shared.finance.api_views import Unprocessable, finance_problem, spend_view
from shared.finance.budget_engine import compile_budget_engine
from shared.finance.config import SpendDates
from shared.finance.listing import SpendRange, spend_page
from shared.finance.ports import SpendChunk
from shared.finance.service import FinanceService, SpendIdConflict
from shared.finance.spend import InvalidSpendBatch
from tests.fakes import FixedClock, RecordingPublisher
from tests.finance_fakes import InMemoryFinanceStore
from tests.unit.test_finance_service import CONFIG, NOW, line

KEY = ("sales", "events", None)
# 60 days: 15 of November (16th to 30th), 31 of December, 14 of January
WINTER = {"from": "2026-11-16", "to": "2027-01-14"}


@pytest.fixture
def service() -> FinanceService:
    return FinanceService(
        InMemoryFinanceStore(), CONFIG, compile_budget_engine(CONFIG), RecordingPublisher(), FixedClock(NOW)
    )


def over(
    spend_id: str, amount: str, currency: str = "USD", period: dict[str, str] = WINTER, **fields: Any
) -> dict[str, Any]:
    """A line over a service period (no incurred_on)."""
    body = line(spend_id, amount, currency, service_period=period, **fields)
    del body["incurred_on"]
    return body


def budget(service: FinanceService, month: str, amount: str) -> None:
    body = {"currency": "USD", "lines": [{"department": "sales", "channel": "events", "amount": amount}]}
    service.put_budget(month, body, "fin")


def crossings(service: FinanceService) -> list[tuple[str, int]]:
    bus = service._publisher
    assert isinstance(bus, RecordingPublisher)
    return [(e.period, e.threshold) for e in bus.published if e.event_type.value == "budget.threshold_crossed"]


def problems(refused: pytest.ExceptionInfo[InvalidSpendBatch]) -> list[tuple[int | None, str]]:
    return [(p.line, p.field) for p in refused.value.problems]


# -------------------------------------------------------------------------------------------- budget view


def test_a_month_a_service_period_covers_partly_counts_the_share_of_its_days(service: FinanceService) -> None:
    # Given budgets of 3,000.00 for November and December
    budget(service, "2026-11", "3000.00")
    budget(service, "2026-12", "3000.00")
    # When 6,000.00 is recorded over WINTER (60 days: 100.00 a day)
    service.record_spend([over("retainer", "6000.00")])
    # Then November's actual is its 15 days' share, December's its 31 days', January's its 14 days'
    november = service.figures("2026-11", as_of=date(2026, 11, 30))
    december = service.figures("2026-12", as_of=date(2026, 12, 31))
    assert november is not None
    assert december is not None
    assert (november.totals.actual, november.lines[0].figures.actual) == (150_000, 150_000)
    assert december.totals.actual == 310_000
    assert service.store.aggregates("2027-01") == {KEY: 140_000}
    # And the day figures the forecast reads hold 100.00 on each day of the period, none before it
    assert service.store.month_actuals("2026-11").by_key_day == {
        KEY: {date(2026, 11, d): 10_000 for d in range(16, 31)}
    }
    # And the alerts of each month the line moves are published: 50 % of November, 50, 80 and 100 % of December
    assert crossings(service) == [("2026-11", 50), ("2026-12", 50), ("2026-12", 80), ("2026-12", 100)]


def forecast_overruns(service: FinanceService) -> list[tuple[str, str]]:
    bus = service._publisher
    assert isinstance(bus, RecordingPublisher)
    return [(e.period, e.line) for e in bus.published if e.event_type.value == "budget.forecast_overrun"]


@pytest.mark.parametrize("day", [1, 3, 15])  # the run rate on the 1st and the 3rd, the trend on the 15th
def test_a_service_period_booked_over_the_month_raises_no_forecast_overrun(day: int) -> None:
    # Given it is an April day, with an April budget of 1,000.00
    clock = FixedClock(datetime(2026, 4, day, 12, 0, tzinfo=UTC))
    service = FinanceService(InMemoryFinanceStore(), CONFIG, compile_budget_engine(CONFIG), RecordingPublisher(), clock)
    budget(service, "2026-04", "1000.00")
    # When 3,600.00 is recorded over a year from 1 April: April's share is 295.89, booked on its 30 days
    service.record_spend([over("annual", "3600.00", period={"from": "2026-04-01", "to": "2027-03-31"})])
    # Then April is forecast at its share (within the minor unit its day shares differ by, a day left), not
    # extrapolated over the days it has booked (8,876.70 on the 1st, 2,958.90 on the 3rd, 443.88 on the 15th)
    april = service.figures("2026-04")
    assert april is not None
    assert april.totals.actual == 29_589
    assert 29_589 <= april.totals.forecast <= 29_589 + (30 - day)
    # And no one is told of a forecast overrun
    assert forecast_overruns(service) == []
    # While spend of the day at a pace that would pass the budget still is told: 100.00 more today
    if day < 15:
        service.record_spend([line("today", "100.00", incurred_on=f"2026-04-{day:02d}")])
        assert forecast_overruns(service) == [("2026-04", "sales/events/*")]


def test_a_quarter_view_counts_its_months_shares(service: FinanceService) -> None:
    budget(service, "2026-Q4", "10000.00")
    service.record_spend([over("retainer", "6000.00")])
    quarter = service.figures("2026-Q4", as_of=date(2026, 12, 31))
    assert quarter is not None
    assert quarter.totals.actual == 150_000 + 310_000  # January's share is the next quarter's


def test_a_service_period_converts_once_at_its_first_months_rate(service: FinanceService) -> None:
    # Given FX tables for November (EUR 1.0850) and December (EUR 1.2000)
    service.put_fx("2026-11", {"base": "USD", "rates": {"EUR": "1.0850"}})
    service.put_fx("2026-12", {"base": "USD", "rates": {"EUR": "1.2000"}})
    # When 2,000.00 EUR is recorded over 21 November to 10 December (10 days in each month)
    recorded = service.record_spend([over("eur", "2000.00", "EUR", period={"from": "2026-11-21", "to": "2026-12-10"})])
    # Then it converts once, at November's rate (kept on the line), and each month counts half of that
    stored = recorded.created[0]
    assert (stored.company_minor, stored.rate) == (217_000, Decimal("1.0850"))
    assert service.store.aggregates("2026-11") == {KEY: 108_500}
    assert service.store.aggregates("2026-12") == {KEY: 108_500}
    # And the API shows what each month counts
    view = spend_view(stored, "USD")
    assert view["company_amount"] == "2170.00"
    assert view["company_amount_by_month"] == {"2026-11": "1085.00", "2026-12": "1085.00"}
    assert view["service_period"] == {"from": "2026-11-21", "to": "2026-12-10"}
    assert (view["incurred_on"], view["corrected_by"], view["corrects"]) == (None, None, None)


def test_a_service_period_needs_the_rate_of_its_first_month(service: FinanceService) -> None:
    service.put_fx("2026-12", {"base": "USD", "rates": {"EUR": "1.2000"}})
    with pytest.raises(InvalidSpendBatch, match="EUR") as refused:
        service.record_spend(
            [line("ok"), over("eur", "10.00", "EUR", period={"from": "2026-11-30", "to": "2026-12-31"})]
        )
    assert problems(refused) == [(2, "currency")]
    assert "2026-11" in str(refused.value)
    assert service.store.spend(["ok", "eur"]) == {}


def test_a_bad_service_period_is_a_422_naming_the_line_and_field(service: FinanceService) -> None:
    batch = [
        line("ok"),
        over("backwards", "10.00", period={"from": "2026-12-01", "to": "2026-11-30"}),
        over("too-long", "10.00", period={"from": "2026-11-01", "to": "2029-11-01"}),
        line("both", service_period=WINTER),
        {key: value for key, value in line("neither").items() if key != "incurred_on"},
    ]
    with pytest.raises(Unprocessable) as refused, finance_problem():
        service.record_spend(batch)
    assert refused.value.status == 422
    errors = refused.value.details["errors"]
    assert [(e["line"], e["field"]) for e in errors] == [
        (2, "service_period"),
        (3, "service_period"),
        (4, "service_period"),
        (5, "incurred_on"),
    ]
    assert "to (2026-11-30) is before from (2026-12-01)" in errors[0]["message"]
    assert "longer than 36 months" in errors[1]["message"]
    assert "not both" in errors[2]["message"]
    assert service.store.spend(["ok"]) == {}


def test_a_service_period_near_the_end_of_the_calendar_is_recorded_or_refused_naming_the_line() -> None:
    # Given a finance file that lets spend be dated to the calendar's last day (the shipped one stops five years
    # ahead: `test_spend_dates.py`)
    unbounded = CONFIG.model_copy(update={"spend_dates": SpendDates(years_ahead=None)})
    service = FinanceService(
        InMemoryFinanceStore(), unbounded, compile_budget_engine(unbounded), RecordingPublisher(), FixedClock(NOW)
    )
    # And a batch with a line over more than 36 months that ends on the calendar's last day
    batch = [line("ok"), over("too-long", "10.00", period={"from": "9996-12-31", "to": "9999-12-31"})]
    # Then it is a 422 naming the line and its service_period (not a period of the year 10000)
    with pytest.raises(Unprocessable) as refused, finance_problem():
        service.record_spend(batch)
    assert refused.value.status == 422
    errors = refused.value.details["errors"]
    assert [(e["line"], e["field"]) for e in errors] == [(2, "service_period")]
    assert "it may run to 9999-12-30 at the latest" in errors[0]["message"]
    # When lines starting in 9997 (whose 36 months would end in the year 10000) and in 9999 are recorded
    recorded = service.record_spend(
        [
            over("to-the-end", "1095.00", period={"from": "9997-01-01", "to": "9999-12-31"}),  # 1,095 days
            over("last-month", "31.00", period={"from": "9999-12-01", "to": "9999-12-31"}),
        ]
    )
    # Then they are stored, and each month counts its share: 1.00 a day each, December 9999 the last month
    assert [e.line.spend_id for e in recorded.created] == ["to-the-end", "last-month"]
    assert service.store.aggregates("9997-01") == {KEY: 3_100}
    assert service.store.aggregates("9999-12") == {KEY: 6_200}
    view = spend_view(recorded.created[0], "USD")
    assert len(view["company_amount_by_month"]) == 36
    assert view["company_amount_by_month"]["9999-12"] == "31.00"


# ---------------------------------------------------------------------------------------------- reversals


def test_a_reversal_of_a_service_period_line_reverses_every_months_share_and_rearms(service: FinanceService) -> None:
    # Given December over 100 % with a line over WINTER, in EUR at November's rate
    service.put_fx("2026-11", {"base": "USD", "rates": {"EUR": "1.0850"}})
    budget(service, "2026-12", "3000.00")
    service.record_spend([over("retainer", "6000.00", "EUR")])
    assert ("2026-12", 100) in crossings(service)
    # And November's table changes before the reversal
    service.put_fx("2026-11", {"base": "USD", "rates": {"EUR": "1.2500"}})
    # When the line is reversed
    service.record_spend([over("retainer-rev", "-6000.00", "EUR", reverses="retainer")])
    # Then it negates the original's company amount at the original's rate, so every month is back to 0 on
    # every day, and December's thresholds re-arm
    reversal = service.store.spend(["retainer-rev"])["retainer-rev"]
    assert (reversal.company_minor, reversal.rate) == (-651_000, Decimal("1.0850"))
    for month in ("2026-11", "2026-12", "2027-01"):
        assert service.store.aggregates(month) == {KEY: 0}
        assert set(service.store.month_actuals(month).by_day.values()) == {0}
    assert {(label, t) for label, t in service.store.fired("2026-12") if not label.endswith("#forecast")} == set()
    # And a reversal that does not mirror the period is refused naming it
    service.record_spend([over("other", "10.00")])
    with pytest.raises(InvalidSpendBatch, match="service_period: must be 2026-11-16 to 2027-01-14 as on the original"):
        service.record_spend(
            [over("other-rev", "-10.00", period={"from": "2026-11-16", "to": "2026-12-31"}, reverses="other")]
        )


# -------------------------------------------------------------------------------------------- corrections


def test_a_correction_with_its_reversal_in_one_batch_is_linked_to_the_original(service: FinanceService) -> None:
    # Given a line recorded with the wrong amount
    service.record_spend([line("a", "100.00")])
    # When a reversal and a correcting line come in one batch (the correction first)
    recorded = service.record_spend([line("a-fix", "120.00", corrects="a"), line("a-rev", "-100.00", reverses="a")])
    # Then both are stored, the original names both, the correction names the original, and the month counts 120
    assert [entry.line.spend_id for entry in recorded.created] == ["a-fix", "a-rev"]
    original = service.store.spend(["a"])["a"]
    assert (original.reversed_by, original.corrected_by) == ("a-rev", "a-fix")
    assert service.store.aggregates("2026-11") == {KEY: 12_000}
    # And the listing shows the link on both sides
    listed = spend_page(service.store, SpendRange.of(NOW.date(), month="2026-11"), 10, None).items
    views = {entry.line.spend_id: spend_view(entry, "USD") for entry in listed}
    assert (views["a"]["reversed_by"], views["a"]["corrected_by"], views["a"]["corrects"]) == ("a-rev", "a-fix", None)
    assert (views["a-fix"]["corrects"], views["a-fix"]["corrected_by"]) == ("a", None)
    # And sending the correction again answers it as stored (idempotent by spend_id, as any line)
    again = service.record_spend([line("a-fix", "120.00", corrects="a")])
    assert (again.created, [entry.line.spend_id for entry in again.existing]) == ([], ["a-fix"])
    # And the same spend_id with another original is a conflict naming the field
    with pytest.raises(SpendIdConflict) as conflict:
        service.record_spend([line("a-fix", "120.00", corrects="b")])
    assert conflict.value.conflicts == {"a-fix": ["corrects"]}


def test_a_correction_after_a_stored_reversal_may_change_anything_even_the_period(service: FinanceService) -> None:
    service.record_spend([line("a", "3000.00")])
    service.record_spend([line("a-rev", "-3000.00", reverses="a")])
    service.record_spend([over("a-fix", "3000.00", corrects="a")])
    assert service.store.spend(["a"])["a"].corrected_by == "a-fix"
    assert service.store.aggregates("2026-11") == {KEY: 75_000}  # 15 of WINTER's 60 days


@pytest.mark.parametrize(
    ("batch", "said"),
    [
        ([line("fix", corrects="a")], '"a" is not reversed: a correction is a reversal of the original'),
        ([line("fix", corrects="ghost")], 'no spend line "ghost" is recorded'),
        ([line("fix", corrects="r")], '"r" is a reversal (of "q"): a correction names the line it replaces ("q")'),
        ([line("fix", corrects="q")], '"q" was corrected by "q-fix" already (once per line)'),
    ],
)
def test_a_correction_the_ledger_cannot_link_is_refused_naming_the_line_and_why(
    service: FinanceService, batch: list[dict[str, Any]], said: str
) -> None:
    # Given a line "a" not reversed, and "q" reversed by "r" and corrected by "q-fix"
    service.record_spend([line("a"), line("q"), line("r", "-100.00", reverses="q"), line("q-fix", corrects="q")])
    before = service.store.aggregates("2026-11")
    with pytest.raises(InvalidSpendBatch) as refused:
        service.record_spend([line("ok"), *batch])
    assert problems(refused) == [(2, "corrects")]
    assert said in str(refused.value)
    assert service.store.spend(["ok", "fix"]) == {}
    assert service.store.aggregates("2026-11") == before


def test_an_original_is_corrected_once_within_a_batch_too(service: FinanceService) -> None:
    service.record_spend([line("a")])
    with pytest.raises(InvalidSpendBatch) as refused:
        service.record_spend(
            [line("a-rev", "-100.00", reverses="a"), line("fix-1", corrects="a"), line("fix-2", corrects="a")]
        )
    assert problems(refused) == [(3, "corrects")]
    assert 'was corrected by "fix-1" already' in str(refused.value)


def test_corrections_that_correct_each_other_are_refused(service: FinanceService) -> None:
    batch = [
        line("x", corrects="y"),
        line("y", corrects="x"),
        line("x-rev", "-100.00", reverses="x"),
        line("y-rev", "-100.00", reverses="y"),
    ]
    with pytest.raises(InvalidSpendBatch, match="the corrections form a cycle") as refused:
        service.record_spend(batch)
    assert problems(refused) == [(1, "corrects"), (2, "corrects")]
    assert service.store.spend(["x", "y"]) == {}


def test_a_batch_writes_what_a_line_depends_on_in_an_earlier_or_the_same_chunk(service: FinanceService) -> None:
    # Given a batch sent backwards: a correction, the reversal it needs, 150 lines of other campaigns (more than
    # a chunk holds), then the original
    fillers = [line(f"f{n}", campaign_id=f"c{n}") for n in range(150)]
    batch = [line("fix", corrects="a"), line("a-rev", "-100.00", reverses="a"), *fillers, line("a")]
    chunks: list[SpendChunk] = []
    record = service.store.record

    def recording(chunk: SpendChunk) -> None:
        chunks.append(chunk)
        record(chunk)

    service.store.record = recording  # type: ignore[method-assign]
    # When it is recorded
    service.record_spend(batch)
    # Then it took several chunks, and each line came no earlier than what it depends on
    assert len(chunks) > 1
    chunk_of = {stored.line.spend_id: n for n, chunk in enumerate(chunks) for stored in chunk.lines}
    assert chunk_of["a"] <= chunk_of["a-rev"] <= chunk_of["fix"]
    original = service.store.spend(["a"])["a"]
    assert (original.reversed_by, original.corrected_by) == ("a-rev", "fix")


# ------------------------------------------------------------------------------------------------ listing


def test_a_range_lists_a_service_period_line_once_where_it_first_falls_in_the_range(service: FinanceService) -> None:
    # Given a line over WINTER, and lines on 1 December and 1 January
    service.record_spend(
        [over("retainer", "6000.00"), line("dec", incurred_on="2026-12-01"), line("jan", incurred_on="2027-01-01")]
    )

    def walk(spend_range: SpendRange, limit: int) -> list[str]:
        ids, cursor = [], None
        for _ in range(50):
            page = spend_page(service.store, spend_range, limit, cursor)
            ids += [entry.line.spend_id for entry in page.items]
            if (cursor := page.next_cursor) is None:
                return ids
        raise AssertionError("the listing never ended")

    today = NOW.date()
    for limit in (1, 2, 10):
        # Then a month lists it (on its first day there), and a range over three months lists it once
        assert walk(SpendRange.of(today, month="2026-12"), limit) == ["dec", "retainer"]
        assert walk(SpendRange.of(today, month="2027-01"), limit) == ["jan", "retainer"]
        assert walk(SpendRange.of(today, start=date(2026, 11, 1), end=date(2027, 1, 31)), limit) == [
            "retainer",
            "dec",
            "jan",
        ]
        # And a range starting after its first day lists it in the range's first month
        assert walk(SpendRange.of(today, start=date(2026, 12, 15), end=date(2027, 1, 31)), limit) == [
            "retainer",
            "jan",
        ]
    # And a range after it does not list it
    assert walk(SpendRange.of(today, month="2027-02"), 10) == []
