"""The days a spend line may be dated (the finance file's `spend_dates`): a line outside them is refused naming
its line and field and the bounds; the bounds are the file's to set; a reversal mirrors its stored original
whatever its day."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.finance.budget_engine import compile_budget_engine
from shared.finance.config import DEFAULT_FINANCE_PATH, FinanceConfig, InvalidFinanceConfig, parse_finance_config
from shared.finance.service import FinanceService
from shared.finance.spend import InvalidSpendBatch, parse_spend_line
from tests.fakes import FixedClock, RecordingPublisher
from tests.finance_fakes import InMemoryFinanceStore

FILE: dict[str, Any] = json.loads(DEFAULT_FINANCE_PATH.read_text())
NOW = datetime(2026, 12, 2, 9, tzinfo=UTC)
LINE = {"channel": "events", "department": "marketing", "vendor": "Expo", "amount": "10.00", "currency": "USD"}


def config(**spend_dates: Any) -> FinanceConfig:
    return parse_finance_config(FILE | {"spend_dates": spend_dates})


def service(finance: FinanceConfig, store: InMemoryFinanceStore) -> FinanceService:
    return FinanceService(store, finance, compile_budget_engine(finance), RecordingPublisher(), FixedClock(NOW))


def test_the_shipped_bounds_are_2000_to_five_years_after_today() -> None:
    # Given the shipped finance file, on 2 December 2026
    finance = parse_finance_config(FILE)
    # Then a line may be dated 2000-01-01 to 2031-12-31, and not a day outside
    assert finance.spend_dates.earliest.isoformat() == "2000-01-01"
    assert finance.spend_dates.latest(NOW.date()).isoformat() == "2031-12-31"
    for day in ("2000-01-01", "2031-12-31"):
        assert parse_spend_line(LINE | {"spend_id": "s", "incurred_on": day}, finance, today=NOW.date())
    with pytest.raises(InvalidSpendBatch) as refused:
        service(finance, InMemoryFinanceStore()).record_spend(
            [
                LINE | {"spend_id": "a", "incurred_on": "2026-11-03"},
                LINE | {"spend_id": "b", "incurred_on": "2032-01-01"},
            ]
        )
    [problem] = refused.value.problems
    assert (problem.line, problem.field) == (2, "incurred_on")
    assert problem.message == (
        "2032-01-01 is outside the days a spend line may be dated: 2000-01-01 to 2031-12-31 (5 years ahead)"
    )


def test_the_finance_file_sets_the_bounds() -> None:
    # Given a finance file whose spend starts in 2020 and runs a year ahead
    finance = config(earliest="2020-01-01", years_ahead=1)
    store = InMemoryFinanceStore()
    # When lines dated just inside and just outside are recorded
    recorded = service(finance, store).record_spend(
        [
            LINE | {"spend_id": "in-1", "incurred_on": "2020-01-01"},
            LINE | {"spend_id": "in-2", "incurred_on": "2027-12-31"},
        ]
    )
    assert [entry.line.spend_id for entry in recorded.created] == ["in-1", "in-2"]
    for day in ("2019-12-31", "2028-01-01"):
        with pytest.raises(InvalidSpendBatch, match=f"line 1: incurred_on: {day} is outside"):
            service(finance, store).record_spend([LINE | {"spend_id": f"out-{day}", "incurred_on": day}])
    # Then only the lines inside are stored
    assert sorted(store.spend(["in-1", "in-2", "out-2019-12-31", "out-2028-01-01"])) == ["in-1", "in-2"]


@pytest.mark.parametrize(
    ("spend_dates", "field"),
    [({"earliest": "1899-12-31"}, "earliest"), ({"years_ahead": 51}, "years_ahead"), ({"latest": 1}, "latest")],
)
def test_bounds_the_calendar_cannot_hold_are_refused_naming_the_field(spend_dates: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidFinanceConfig, match=f"spend_dates: {field}"):
        config(**spend_dates)


def test_a_reversal_mirrors_a_stored_original_dated_before_the_bounds() -> None:
    # Given a line of 1995 recorded while the finance file let spend start in 1990
    store = InMemoryFinanceStore()
    service(config(earliest="1990-01-01"), store).record_spend(
        [LINE | {"spend_id": "old", "incurred_on": "1995-05-01"}]
    )
    # When the shipped file (spend from 2000) records its reversal
    reversal = LINE | {"spend_id": "old-rev", "incurred_on": "1995-05-01", "amount": "-10.00", "reverses": "old"}
    recorded = service(parse_finance_config(FILE), store).record_spend([reversal])
    # Then it is recorded and the original shows it
    assert [entry.line.spend_id for entry in recorded.created] == ["old-rev"]
    assert store.spend(["old"])["old"].reversed_by == "old-rev"
