"""`make import-spend` reads a service period from the CSV columns `service_from` and `service_to`, and a
correction's `corrects`, and names the columns of a bad period with the CSV line."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from pathlib import Path

from ops.import_spend import FIELDS, import_file
from shared.finance.budget_engine import compile_budget_engine
from shared.finance.config import FinanceConfig, SpendDates, load_finance_config
from shared.finance.service import FinanceService
from shared.finance.service_periods import ServicePeriod
from tests.fakes import FixedClock, RecordingPublisher
from tests.finance_fakes import InMemoryFinanceStore

CONFIG = load_finance_config()


def _service(config: FinanceConfig = CONFIG) -> FinanceService:
    return FinanceService(
        InMemoryFinanceStore(),
        config,
        compile_budget_engine(config),
        RecordingPublisher(),
        FixedClock(datetime(2026, 11, 10, tzinfo=UTC)),
    )


def _csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(FIELDS))
        writer.writeheader()
        writer.writerows(rows)
    return path


def _row(spend_id: str, **cells: str) -> dict[str, str]:
    return {"spend_id": spend_id, "channel": "tools_and_agencies", "department": "marketing", "vendor": "Figma",
            "amount": "1200.00", "currency": "USD", "incurred_on": "2026-11-03", **cells}  # fmt: skip


def test_service_periods_and_corrections_are_read_from_their_columns(tmp_path: Path) -> None:
    # Given a CSV with an annual subscription over a service period, a line, its reversal and its correction,
    # and a line whose service period ends before it starts (CSV line 6) and one with only service_to (line 7)
    service = _service()
    path = _csv(
        tmp_path / "spend.csv",
        [
            _row("annual", incurred_on="", service_from="2026-11-01", service_to="2027-10-31"),
            _row("wrong", amount="99.00"),
            _row("wrong-rev", amount="-99.00", reverses="wrong"),
            _row("right", amount="89.00", corrects="wrong"),
            _row("bad", incurred_on="", service_from="2026-11-02", service_to="2026-11-01"),
            _row("half", incurred_on="", service_to="2026-11-30"),
        ],
    )
    # When it is imported
    summary = import_file(service, path)
    # Then the four good lines are imported, the period and the correction kept
    assert summary.imported == 4
    stored = service.store.spend(["annual", "wrong", "right"])
    assert stored["annual"].line.service_period == ServicePeriod(date(2026, 11, 1), date(2027, 10, 31))
    assert stored["wrong"].corrected_by == "right"
    assert stored["right"].line.corrects == "wrong"
    # And each bad line is listed once with its CSV line, naming the columns
    assert summary.problems == [
        "invalid spend line: line 6: service_from/service_to: to (2026-11-01) is before from (2026-11-02)",
        'invalid spend line: line 7: service_from: required, the first day "YYYY-MM-DD"',
    ]


def test_a_batch_cut_around_a_refused_line_keeps_a_correction_after_the_reversal_it_needs(tmp_path: Path) -> None:
    # Given a CSV whose correction comes before the reversal it needs, and a line in CHF (no FX rate) between
    service = _service()
    path = _csv(
        tmp_path / "spend.csv",
        [
            _row("wrong", amount="99.00"),
            _row("right", amount="89.00", corrects="wrong"),
            _row("chf", currency="CHF"),
            _row("wrong-rev", amount="-99.00", reverses="wrong"),
        ],
    )
    # When it is imported (the batch refused for the CHF line, then sent again in parts)
    summary = import_file(service, path)
    # Then every good line is imported, the correction linked, and only the CHF line is refused
    assert summary.imported == 3
    assert service.store.spend(["wrong"])["wrong"].corrected_by == "right"
    assert len(summary.problems) == 1
    assert summary.problems[0].startswith("line 4: currency: no FX rate for CHF")


def test_a_service_period_near_the_end_of_the_calendar_is_imported_or_listed_with_its_line(tmp_path: Path) -> None:
    # Given a CSV with a line over 9997-01-01 to 9999-12-31 (36 months: its limit would be in the year 10000)
    # and one over more than 36 months ending on the calendar's last day (CSV line 3), imported under a finance
    # file that lets spend be dated to the calendar's last day (the shipped one stops five years ahead)
    service = _service(CONFIG.model_copy(update={"spend_dates": SpendDates(years_ahead=None)}))
    path = _csv(
        tmp_path / "spend.csv",
        [
            _row("to-the-end", incurred_on="", service_from="9997-01-01", service_to="9999-12-31"),
            _row("too-long", incurred_on="", service_from="9996-12-31", service_to="9999-12-31"),
        ],
    )
    # When it is imported
    summary = import_file(service, path)
    # Then the first is imported and the second listed with its CSV line and columns, no traceback
    assert summary.imported == 1
    assert service.store.spend(["to-the-end"])["to-the-end"].line.service_period == ServicePeriod(
        date(9997, 1, 1), date.max
    )
    assert summary.problems == [
        "invalid spend line: line 3: service_from/service_to: from 9996-12-31 to 9999-12-31 is longer than 36 "
        "months: it may run to 9999-12-30 at the latest (record a longer commitment as several lines)"
    ]


def test_a_line_dated_outside_the_ledgers_days_is_listed_with_its_csv_line_and_column(tmp_path: Path) -> None:
    # Given a CSV whose second line is dated 9999-12-31 (the shipped finance file: 2000-01-01 to five years ahead)
    service = _service()
    path = _csv(tmp_path / "spend.csv", [_row("typo", incurred_on="9999-12-31")])
    # When it is imported
    summary = import_file(service, path)
    # Then nothing is imported and the problem names the CSV line, the column and the bounds
    assert summary.imported == 0
    assert service.store.spend(["typo"]) == {}
    [problem] = summary.problems
    assert "line 2: incurred_on: 9999-12-31 is outside the days a spend line may be dated: 2000-01-01 to" in problem


def test_a_row_with_more_cells_than_the_header_is_refused_naming_its_line(tmp_path: Path) -> None:
    # Given a CSV whose second row has an unquoted thousands separator in its last column (8 cells under 7
    # columns), between two good rows
    service = _service()
    path = tmp_path / "spend.csv"
    path.write_text(
        "spend_id,channel,department,vendor,currency,incurred_on,amount\n"
        "g-0,paid_search,marketing,Google,USD,2026-11-03,10.00\n"
        "g-1,paid_search,marketing,Google,USD,2026-11-03,1,234.56\n"
        "g-2,paid_search,marketing,Google,USD,2026-11-03,20.00\n"
    )
    # When it is imported
    summary = import_file(service, path)
    # Then the row is not imported (not as 1.00, not at all) and is listed with its CSV line and cell counts
    assert service.store.spend(["g-1"]) == {}
    assert summary.problems == [
        "invalid spend line: line 3: the row has 8 cells, the header 7 columns (a value holding a comma must be quoted)"
    ]
    # And the good rows around it are imported
    assert summary.imported == 2
    assert set(service.store.spend(["g-0", "g-2"])) == {"g-0", "g-2"}


def test_a_row_with_fewer_cells_than_the_header_is_refused_naming_its_line(tmp_path: Path) -> None:
    # Given a CSV whose second row lacks its last cell (6 cells under 7 columns)
    service = _service()
    path = tmp_path / "spend.csv"
    path.write_text(
        "spend_id,channel,department,vendor,currency,incurred_on,amount\n"
        "g-0,paid_search,marketing,Google,USD,2026-11-03,10.00\n"
        "g-1,paid_search,marketing,Google,USD,2026-11-03\n"
    )
    # When it is imported
    summary = import_file(service, path)
    # Then it is refused naming line 3 and the counts; the first row is imported
    assert service.store.spend(["g-1"]) == {}
    assert summary.problems == ["invalid spend line: line 3: the row has 6 cells, the header 7 columns"]
    assert summary.imported == 1


def test_a_reversal_before_its_original_in_a_later_batch_is_imported_on_the_first_run(tmp_path: Path) -> None:
    # Given a CSV whose first row reverses its last one, 500 rows apart (the service takes 500 lines a batch)
    service = _service()
    rows = [_row("rev-of-last", amount="-5.00", reverses="last")]
    rows += [_row(f"l{n}", amount="1.00") for n in range(500)]
    rows += [_row("last", amount="5.00")]
    path = _csv(tmp_path / "spend.csv", rows)
    # When it is imported, then imported again
    first = import_file(service, path)
    second = import_file(service, path)
    # Then the first run imports every line, the reversal linked, and the second imports nothing
    assert first.problems == []
    assert first.imported == 502
    assert service.store.spend(["last"])["last"].reversed_by == "rev-of-last"
    assert (second.imported, second.already, second.problems) == (0, 502, [])


def test_line_numbers_are_the_physical_lines_after_a_multi_line_description(tmp_path: Path) -> None:
    # Given a CSV whose first row has a quoted description over three lines (physical lines 2-4), a blank
    # line (5), then a row with an unknown channel (physical line 6)
    path = tmp_path / "spend.csv"
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(FIELDS))
        writer.writeheader()
        writer.writerow(_row("a", description="line one\nline two\nline three"))
        out.write("\r\n")
        writer.writerow(_row("b", channel="nonsense"))
    # When it is imported
    summary = import_file(_service(), path)
    # Then the bad row is named by line 6, where an editor shows it
    assert summary.imported == 1
    assert len(summary.problems) == 1
    assert summary.problems[0].startswith("invalid spend line: line 6: channel:")


def test_a_batch_partly_stored_before_a_concurrent_writer_won_is_counted_and_its_rest_sent_again(
    tmp_path: Path,
) -> None:
    # Given a stored line "orig", a CSV of 60 lines of distinct campaigns (two transactions) and a reversal of
    # "orig" (CSV line 62), and a colleague who reverses "orig" just after the import's first transaction
    service = _service()
    service.record_spend([_row("orig", department="sales")])  # its key sorts after the others': a later chunk
    rows = [_row(f"b{n:02d}", campaign_id=f"c{n:02d}") for n in range(60)]
    reversal = _row("orig-rev", amount="-1200.00", reverses="orig", department="sales")
    path = _csv(tmp_path / "spend.csv", [*rows, reversal])
    store = service.store
    record = store.record
    other_reversal = _row("orig-rev-2", amount="-1200.00", reverses="orig", department="sales")
    colleague = iter([lambda: service.record_spend([other_reversal])])

    def colleague_after_the_first_chunk(chunk: object) -> None:
        record(chunk)  # type: ignore[arg-type]
        other = next(colleague, None)
        if other is not None:
            other()

    store.record = colleague_after_the_first_chunk  # type: ignore[method-assign]
    # When it is imported
    summary = import_file(service, path)
    # Then every line of the file but the reversal is imported, counted once, and the reversal is listed with
    # its CSV line
    assert summary.imported == 60
    assert set(store.spend([f"b{n:02d}" for n in range(60)])) == {f"b{n:02d}" for n in range(60)}
    assert len(summary.problems) == 1
    assert summary.problems[0].startswith('line 62: reverses: "orig" was reversed by "orig-rev-2" already')
