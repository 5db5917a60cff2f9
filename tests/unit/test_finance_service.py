"""The finance use cases over the in-memory store: spend recorded once per spend_id, converted at the period's
rate, aggregates equal to the lines, conflicts named, reversals once, thresholds crossed once and re-armed."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from shared.events.finance_events import FinanceEventType
from shared.finance.api_views import PartlyStored, finance_problem, spend_view
from shared.finance.budget_engine import Figures, ForecastMethod, compile_budget_engine
from shared.finance.config import load_finance_config
from shared.finance.service import FinanceService, PartlyRecorded, SpendIdConflict
from shared.finance.spend import InvalidSpendBatch
from tests.fakes import FixedClock, RecordingPublisher
from tests.finance_fakes import InMemoryFinanceStore

NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
CONFIG = load_finance_config()


@pytest.fixture
def service() -> FinanceService:
    return FinanceService(
        InMemoryFinanceStore(), CONFIG, compile_budget_engine(CONFIG), RecordingPublisher(), FixedClock(NOW)
    )


def line(spend_id: str, amount: str = "100.00", currency: str = "USD", **fields: Any) -> dict[str, Any]:
    return {
        "spend_id": spend_id,
        "channel": "events",
        "department": "sales",
        "vendor": "Expo",
        "amount": amount,
        "currency": currency,
        "incurred_on": "2026-11-03",
        **fields,
    }


def published(service: FinanceService, event_type: str) -> list[Any]:
    return [e for e in bus_of(service).published if e.event_type.value == event_type]


def bus_of(service: FinanceService) -> RecordingPublisher:
    bus = service._publisher
    assert isinstance(bus, RecordingPublisher)
    return bus


def budget(service: FinanceService, amount: str = "1000.00") -> None:
    body = {"currency": "USD", "lines": [{"department": "sales", "channel": "events", "amount": amount}]}
    service.put_budget("2026-11", body, "fin")


def test_a_line_is_recorded_once_and_a_resend_answers_the_stored_line(service: FinanceService) -> None:
    first = service.record_spend([line("a")])
    again = service.record_spend([line("a")])
    assert [e.line.spend_id for e in first.created] == ["a"]
    assert again.created == []
    assert [e.line.spend_id for e in again.existing] == ["a"]
    assert service.store.aggregates("2026-11") == {("sales", "events", None): 10000}
    # the same event id both times: consumers de-duplicate
    ids = {e.event_id for e in published(service, "finance.spend_recorded")}
    assert len(ids) == 1


def test_the_same_spend_id_with_another_body_is_a_conflict_naming_the_fields(service: FinanceService) -> None:
    service.record_spend([line("a")])
    with pytest.raises(SpendIdConflict) as refused:
        service.record_spend([line("b"), line("a", amount="120.00", vendor="Other")])
    assert refused.value.conflicts == {"a": ["vendor", "amount"]}  # in the contract's field order
    assert service.store.spend(["b"]) == {}  # the batch stored none of it


def test_foreign_currency_converts_at_the_periods_rate_and_keeps_it(service: FinanceService) -> None:
    service.put_fx("2026-11", {"base": "USD", "rates": {"EUR": "1.0850", "JPY": "0.0067"}})
    recorded = service.record_spend([line("eur", "1200.00", "EUR"), line("jpy", "150000", "JPY")])
    by_id = {e.line.spend_id: e for e in recorded.created}
    assert by_id["eur"].company_minor == 130200
    assert by_id["eur"].rate == Decimal("1.0850")
    assert by_id["jpy"].company_minor == 100500
    assert service.store.aggregates("2026-11")[("sales", "events", None)] == 230700


def test_a_rate_of_many_decimals_reads_as_a_plain_decimal_in_the_view_and_the_event(service: FinanceService) -> None:
    # Given a rate of nine decimal places (IDR), within the ten an FX table allows
    service.put_fx("2026-11", {"base": "USD", "rates": {"IDR": "0.000000637"}})
    # When a line in IDR is recorded
    recorded = service.record_spend([line("idr", "157000000", "IDR")])
    # Then the line's view and its finance.spend_recorded say the rate as written, not in exponent notation
    [stored] = recorded.created
    assert stored.company_minor == 10001  # 100.009 USD, to the cent
    assert spend_view(stored, "USD")["rate"] == "0.000000637"  # not "6.37E-7"
    bus = service._publisher
    assert isinstance(bus, RecordingPublisher)
    [event] = [e for e in bus.published if e.event_type is FinanceEventType.SPEND_RECORDED]
    assert event.rate == "0.000000637"


def test_a_currency_without_a_rate_is_refused_naming_it(service: FinanceService) -> None:
    with pytest.raises(InvalidSpendBatch, match="GBP"):
        service.record_spend([line("gbp", "10.00", "GBP")])


def test_a_reversal_negates_once(service: FinanceService) -> None:
    service.record_spend([line("a")])
    service.record_spend([line("r1", "-100.00", reverses="a")])
    assert service.store.aggregates("2026-11")[("sales", "events", None)] == 0
    assert service.store.spend(["a"])["a"].reversed_by == "r1"
    with pytest.raises(InvalidSpendBatch, match="reversed"):
        service.record_spend([line("r2", "-100.00", reverses="a")])


def test_thresholds_cross_once_and_rearm_under_them(service: FinanceService) -> None:
    budget(service)
    service.record_spend([line("a", "850.00")])  # 85 %: 50 and 80
    service.record_spend([line("b", "100.00")])  # 95 %: nothing
    service.record_spend([line("c", "100.00")])  # 105 %: 100
    crossed = [e.threshold for e in published(service, "budget.threshold_crossed")]
    assert crossed == [50, 80, 100]
    service.record_spend([line("rc", "-100.00", reverses="c")])  # 95 %: 100 re-armed
    service.record_spend([line("d", "100.00")])  # 105 % again
    assert [e.threshold for e in published(service, "budget.threshold_crossed")] == [50, 80, 100, 100]


def test_a_line_without_a_rate_is_named_by_its_place_in_the_batch_sent(service: FinanceService) -> None:
    # Given a line recorded already
    service.record_spend([line("ok1")])
    # When a batch sends it again, then a line in a currency without a rate
    with pytest.raises(InvalidSpendBatch) as refused:
        service.record_spend([line("ok1"), line("gbp1", "10.00", "GBP")])
    # Then the refusal names the second line of the batch (not the first of the lines new to the ledger)
    assert [(p.line, p.field) for p in refused.value.problems] == [(2, "currency")]


def test_alerts_the_bus_refused_are_told_by_the_retry(service: FinanceService) -> None:
    # Given a budget, and a bus that refuses the next event
    budget(service)
    bus_of(service).refuse_next = 1
    # When a line crossing 50 % and 80 % is recorded: stored, its spend event refused, the caller told so
    with pytest.raises(RuntimeError, match="refused"):
        service.record_spend([line("a", "850.00")])
    # And the caller retries the same batch
    again = service.record_spend([line("a", "850.00")])
    # Then the retry tells both thresholds, once
    assert [e.threshold for e in published(service, "budget.threshold_crossed")] == [50, 80]
    assert again.created == []


def test_an_alert_refused_after_it_was_fired_is_re_armed_and_told_by_the_retry(
    service: FinanceService, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a budget, a first line (told), and a bus that takes the next spend event but refuses its alert
    budget(service)
    service.record_spend([line("a", "450.00")])
    bus = bus_of(service)
    original = bus.publish
    calls = iter([original, None])

    def refuse_the_alert(events: Any) -> Any:
        publish = next(calls, original)
        if publish is None:
            bus.refuse_next = len(events)
            publish = original
        return publish(events)

    monkeypatch.setattr(bus, "publish", refuse_the_alert)
    with pytest.raises(RuntimeError, match="refused"):
        service.record_spend([line("b", "100.00")])  # 55 %: 50 crossed, its alert refused
    # When the caller retries
    service.record_spend([line("b", "100.00")])
    # Then the 50 % alert is told once
    assert [e.threshold for e in published(service, "budget.threshold_crossed")] == [50]


def test_a_threshold_fired_by_a_concurrent_writer_is_not_fired_again(
    service: FinanceService, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a budget at 95 %, and another writer whose line takes it to 105 % while this one checks its alerts
    budget(service)
    service.record_spend([line("a", "950.00")])
    store = service.store
    read_alerts = store.alerts
    concurrent = iter([lambda: service.record_spend([line("b", "100.00")])])

    def alerts_read_meanwhile(period: str) -> Any:
        other = next(concurrent, None)
        if other is not None:
            other()  # the other writer records, crosses 100 % and fires it (its own reads are not held up)
        return read_alerts(period)

    monkeypatch.setattr(store, "alerts", alerts_read_meanwhile)
    # When this writer records a line of its own (its alert check running beside the other's)
    service.record_spend([line("c", "10.00")])
    monkeypatch.setattr(store, "alerts", read_alerts)
    # And a later line keeps the total over 100 %
    service.record_spend([line("d", "10.00")])
    # Then 100 % was told once
    assert [e.threshold for e in published(service, "budget.threshold_crossed")] == [50, 80, 100]


def test_the_budget_view_sums_the_aggregates(service: FinanceService) -> None:
    budget(service, "2000.00")
    service.record_spend([line("a", "500.00"), line("b", "250.00", channel="email", department="marketing")])
    figures = service.figures("2026-11")
    assert figures is not None
    assert figures.totals.actual == 75000
    assert figures.totals.budget == 200000
    assert figures.lines[0].figures.actual == 50000


def test_a_batch_is_chunked_by_key_so_each_aggregate_is_written_about_once(service: FinanceService) -> None:
    # Given a month of daily lines for 10 campaigns, in the order an ad platform exports them (day by day)
    lines = [
        line(f"d{day}-c{campaign}", incurred_on=f"2026-11-{day:02d}", campaign_id=f"c{campaign}")
        for day in range(1, 31)
        for campaign in range(10)
    ]
    chunks = []
    record = service.store.record

    def recording(chunk: Any) -> None:
        chunks.append(chunk)
        record(chunk)

    service.store.record = recording  # type: ignore[method-assign]
    # When the batch is recorded
    recorded = service.record_spend(lines)
    # Then each chunk holds a run of keys (a chunk boundary splits at most one key), each within the 100 items
    assert sum(len(chunk.deltas) for chunk in chunks) <= 10 + len(chunks) - 1
    assert all(chunk.items <= 100 for chunk in chunks)
    assert len(chunks) == 4  # 300 lines + 10 keys + at most 3 split keys, 100 items a chunk
    # And the figures and the answer are as if written in one piece, in the order sent
    assert [entry.line.spend_id for entry in recorded.created] == [one["spend_id"] for one in lines]
    figures = service.store.month_actuals("2026-11")
    assert figures.by_key == {("sales", "events", f"c{c}"): 30 * 10000 for c in range(10)}
    assert figures.by_day == {entry.line.incurred_on: 10 * 10000 for entry in recorded.created}


def test_a_quarter_view_without_its_own_budget_counts_the_spend_of_months_without_one(
    service: FinanceService,
) -> None:
    # Given budgets for October and November only, and 100.00 spent in each of the three months of Q4
    # (500.00 in December)
    for month in ("2026-10", "2026-11"):
        body = {"currency": "USD", "lines": [{"department": "sales", "channel": "events", "amount": "1000.00"}]}
        service.put_budget(month, body, "fin")
    service.record_spend(
        [
            line("oct", incurred_on="2026-10-05"),
            line("nov", incurred_on="2026-11-03"),
            line("dec", "500.00", incurred_on="2026-12-01"),
        ]
    )
    # When the quarter is viewed
    quarter = service.figures("2026-Q4")
    # Then its actual is all the spend of its months, December's as unbudgeted spend of its department
    assert quarter is not None
    assert quarter.totals.actual == 70000
    assert quarter.totals.budget == 200000
    assert [(lf.key, lf.figures.actual) for lf in quarter.lines] == [(("sales", "events", None), 20000)]
    assert quarter.unbudgeted.actual == 50000
    assert [(d.department, d.figures.actual, d.unbudgeted.actual) for d in quarter.departments] == [
        ("sales", 70000, 50000)
    ]
    # And the breakdown sums exactly: totals = departments = lines + unbudgeted, for every figure
    assert quarter.totals == Figures.total(d.figures for d in quarter.departments)
    assert quarter.totals == Figures.total(lf.figures for lf in quarter.lines) + quarter.unbudgeted
    # And the quarter still rolls up its three months, December (not begun) forecast at what is booked
    assert [str(period) for period, _ in quarter.months] == ["2026-10", "2026-11", "2026-12"]
    assert quarter.thresholds == (50, 80, 100, 110)


def test_under_the_trend_each_line_is_forecast_from_its_own_daily_spend(service: FinanceService) -> None:
    # Given a November budget of 10,000.00 for sponsorships and for paid search
    body = {
        "currency": "USD",
        "lines": [
            {"department": "marketing", "channel": "sponsorships", "amount": "10000.00"},
            {"department": "marketing", "channel": "paid_search", "amount": "10000.00"},
        ],
    }
    service.put_budget("2026-11", body, "fin")
    # When a one-off 6,000.00 sponsorship is paid on the 1st and paid search spends 400.00 a day to the 10th
    marketing = {"department": "marketing"}
    sponsorship = line("sponsor", "6000.00", channel="sponsorships", incurred_on="2026-11-01", **marketing)
    search = [
        line(f"search-{day}", "400.00", channel="paid_search", incurred_on=f"2026-11-{day:02d}", **marketing)
        for day in range(1, 11)
    ]
    service.record_spend([sponsorship, *search])
    # Then on the 10th (trend: 10 days >= 7) the sponsorship is not extrapolated and paid search runs on at
    # 400.00 a day to 12,000.00
    figures = service.figures("2026-11")
    assert figures is not None
    assert figures.forecast_method is ForecastMethod.TREND
    forecasts = {lf.key: lf.figures.forecast for lf in figures.lines}
    assert forecasts == {
        ("marketing", "sponsorships", None): 600000,
        ("marketing", "paid_search", None): 1200000,
    }
    # And the total forecast is the sum of the lines' exactly
    assert figures.totals.forecast == 1800000 == sum(forecasts.values()) + figures.unbudgeted.forecast
    assert figures.daily_rate == 40000
    # And the forecast overrun is told for paid search, not for the sponsorship
    assert [e.line for e in published(service, "budget.forecast_overrun")] == ["marketing/paid_search/*"]


def test_a_budget_for_a_month_not_begun_raises_no_forecast_overrun(service: FinanceService) -> None:
    # Given it is November, When next January's budget is put (its forecast is its budget until it begins)
    body = {"currency": "USD", "lines": [{"department": "marketing", "channel": "paid_search", "amount": "10000.00"}]}
    service.put_budget("2027-01", body, "fin")
    # Then no one is told of an overrun: nothing is spent and nothing is forecast beyond the budget
    figures = service.figures("2027-01")
    assert figures is not None
    assert figures.forecast_method is ForecastMethod.BUDGET
    assert published(service, "budget.forecast_overrun") == []
    # And spend booked in advance past the budget is told as the threshold it crosses, not as a forecast
    prepaid = line("jan-prepaid", "11000.00", channel="paid_search", department="marketing", incurred_on="2027-01-05")
    service.record_spend([prepaid])
    assert [e.threshold for e in published(service, "budget.threshold_crossed")] == [50, 80, 100, 110]
    assert published(service, "budget.forecast_overrun") == []


def test_a_budget_put_racing_another_put_is_stored_after_it(
    service: FinanceService, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given another finance user's PUT of the month's budget landing between this PUT's read and its write
    store = service.store
    read_budget = store.budget
    others = iter([lambda: budget(service, "1000.00")])

    def another_put_meanwhile(period: str) -> Any:
        current = read_budget(period)
        other = next(others, None)
        if other is not None:
            other()
        return current

    monkeypatch.setattr(store, "budget", another_put_meanwhile)
    # When this PUT (a whole replacement) is sent
    stored = service.put_budget(
        "2026-11", {"currency": "USD", "lines": [{"department": "sales", "amount": "2000.00"}]}, "ana"
    )
    monkeypatch.setattr(store, "budget", read_budget)
    # Then it is stored as version 2, after the other, and both versions are kept
    assert (stored.version, stored.updated_by) == (2, "ana")
    assert [(v.version, v.updated_by) for v in store.budget_versions("2026-11")] == [(1, "fin"), (2, "ana")]
    assert store.budget("2026-11") == stored


def test_a_rearmed_threshold_crossed_again_is_a_new_event_id(service: FinanceService) -> None:
    # Given a budget line taken to 100 %, back to 0 % by a reversal (re-armed), then to 100 % again
    budget(service)
    service.record_spend([line("a", "1000.00")])
    service.record_spend([line("a-rev", "-1000.00", reverses="a")])
    service.record_spend([line("b", "1000.00")])
    # Then each crossing of 100 % is its own event, with an id of its own (consumers de-duplicate on it)
    crossed = [e for e in published(service, "budget.threshold_crossed") if e.threshold == 100]
    assert [e.actual for e in crossed] == ["1000.00", "1000.00"]
    assert crossed[0].event_id != crossed[1].event_id


def test_a_crossing_whose_alert_the_bus_refused_keeps_its_event_id_on_the_retry(
    service: FinanceService, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a budget at 45 %, and a bus that takes the next spend event but refuses the alert after it
    budget(service)
    service.record_spend([line("a", "450.00")])
    bus = bus_of(service)
    original = bus.publish
    attempts: list[list[Any]] = []

    def refuse_the_first_alert(events: Any) -> Any:
        alerts = [e for e in events if e.event_type is FinanceEventType.THRESHOLD_CROSSED]
        if alerts and not attempts:
            attempts.append(alerts)
            bus.refuse_next = len(events)
        return original(events)

    monkeypatch.setattr(bus, "publish", refuse_the_first_alert)
    with pytest.raises(RuntimeError, match="refused"):
        service.record_spend([line("b", "100.00")])  # 55 %: 50 crossed, its alert refused
    # When the caller retries once more spend has landed (the crossing is the same one, at another actual)
    service.record_spend([line("c", "10.00")])
    service.record_spend([line("b", "100.00")])
    # Then the alert told is the one refused, with the same event id
    [told] = published(service, "budget.threshold_crossed")
    assert told.threshold == 50
    assert told.event_id == attempts[0][0].event_id


def test_a_rearm_racing_a_new_crossing_still_tells_the_crossing(
    service: FinanceService, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a line at 100 % (fired), and a reversal taking it to 0 % whose writer re-arms 100 % just after a
    # colleague's line took it back to 100 % (the colleague saw 100 % still fired and told nothing)
    budget(service)
    service.record_spend([line("a", "1000.00")])
    store = service.store
    rearm = store.rearm
    colleague = iter([lambda: service.record_spend([line("c", "1000.00")])])

    def colleague_lands_first(period: str, label: str, threshold: int, *generation: int) -> bool:
        if threshold == 100:
            other = next(colleague, None)
            if other is not None:
                other()
        return rearm(period, label, threshold, *generation)

    monkeypatch.setattr(store, "rearm", colleague_lands_first)
    # When the reversal is recorded
    service.record_spend([line("a-rev", "-1000.00", reverses="a")])
    monkeypatch.setattr(store, "rearm", rearm)
    # Then the line is at 100 % and that second crossing was told (and is fired, not left armed)
    assert service.figures("2026-11").totals.actual == 100000  # type: ignore[union-attr]
    crossed = [e for e in published(service, "budget.threshold_crossed") if e.threshold == 100]
    assert len(crossed) == 2
    assert crossed[0].event_id != crossed[1].event_id
    assert ("sales/events/*", 100) in store.fired("2026-11")


def _two_transaction_batch() -> list[dict[str, Any]]:
    """61 lines that take two transactions: 60 lines of distinct campaigns (2 items each), then a reversal of
    the stored "orig" (its key sorts after theirs, so it lands in the second chunk, with b50..b59)."""
    lines = [line(f"b{n:02d}", department="marketing", campaign_id=f"c{n:02d}") for n in range(60)]
    return [*lines, line("orig-rev", "-100.00", reverses="orig")]


def test_a_batch_whose_later_chunk_loses_a_race_answers_what_it_stored_and_tells_it(
    service: FinanceService, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a stored line "orig", a budget of marketing (so the stored lines cross 50 %), and a colleague who
    # reverses "orig" on their own just after this batch's first transaction is written
    service.record_spend([line("orig")])
    service.put_budget("2026-11", {"currency": "USD", "lines": [{"department": "marketing", "amount": "8000.00"}]}, "f")
    store = service.store
    record = store.record
    colleague = iter([lambda: service.record_spend([line("orig-rev-2", "-100.00", reverses="orig")])])

    def colleague_after_the_first_chunk(chunk: Any) -> None:
        record(chunk)
        other = next(colleague, None)
        if other is not None:
            other()

    monkeypatch.setattr(store, "record", colleague_after_the_first_chunk)
    # When the batch is recorded (its second transaction then fails, and the retry finds "orig" reversed)
    with pytest.raises(PartlyRecorded) as refused:
        service.record_spend(_two_transaction_batch())
    stored_here = [f"b{n:02d}" for n in range(50)]
    # Then the refusal names exactly the lines stored (the first transaction's) and those not stored
    assert [entry.line.spend_id for entry in refused.value.recorded] == stored_here
    assert refused.value.not_recorded == [*(f"b{n:02d}" for n in range(50, 60)), "orig-rev"]
    assert [(p.line, p.field) for p in refused.value.refusal.problems] == [(61, "reverses")]  # type: ignore[attr-defined]
    assert set(store.spend([line["spend_id"] for line in _two_transaction_batch()])) == set(stored_here)
    # And each stored line was told as recorded, and the alerts it crossed were checked (50 % of 8,000.00)
    told = {e.spend_id for e in published(service, "finance.spend_recorded")}
    assert set(stored_here) <= told
    assert not told & {f"b{n:02d}" for n in range(50, 60)}
    assert [e.threshold for e in published(service, "budget.threshold_crossed")] == [50]
    # And the API answers 409 naming them
    with pytest.raises(PartlyStored) as answered, finance_problem():
        raise refused.value
    assert answered.value.status == 409
    details = answered.value.details
    assert details["recorded"] == stored_here
    assert details["not_recorded"] == refused.value.not_recorded
    assert details["errors"][0]["line"] == 61


def test_a_batch_retried_after_a_lost_race_answers_its_own_earlier_chunks_as_created(
    service: FinanceService, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a colleague who records "b55" (the same body) just after this batch's first transaction is written
    service.record_spend([line("orig")])
    batch = _two_transaction_batch()
    store = service.store
    record = store.record
    colleague = iter([lambda: service.record_spend([batch[55]])])

    def colleague_after_the_first_chunk(chunk: Any) -> None:
        record(chunk)
        other = next(colleague, None)
        if other is not None:
            other()

    monkeypatch.setattr(store, "record", colleague_after_the_first_chunk)
    # When the batch is recorded (its second transaction fails on b55, the retry writes the rest)
    recorded = service.record_spend(batch)
    # Then every line this request stored is answered as created, and only b55 as recorded before
    assert sorted(e.line.spend_id for e in recorded.created) == sorted(
        one["spend_id"] for one in batch if one["spend_id"] != "b55"
    )
    assert [e.line.spend_id for e in recorded.existing] == ["b55"]
