"""Budget figures: a line's actual sums every finer spend key under it, spend no line covers shows as the
department's unbudgeted spend, percentages round half to even, the forecast says its method (run rate, trend,
final, budget), the department breakdown sums exactly to the total, quarters roll up their months, and each
threshold fires once per upward crossing and re-arms when consumption falls back under it."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from fractions import Fraction
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.allocation import allocate
from shared.errors import InvalidInput
from shared.finance.budget_engine import (
    Budget,
    BudgetFigures,
    BudgetLine,
    Figures,
    ForecastMethod,
    InvalidBudget,
    budget_from_record,
    budget_record,
    budget_view,
    compile_budget_engine,
    crossed_thresholds,
    evaluate_budget,
    parse_budget,
    percent,
    reached,
    rearmed_thresholds,
    rollup,
    threshold_transition,
)
from shared.finance.periods import Period, days_in, first_day, last_day
from shared.finance.service_periods import ServicePeriod, spread
from shared.finance.spend import SpendKey
from tests.unit.test_finance_config import finance_config

SETTINGS = settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
CONFIG = finance_config()
ENGINE = compile_budget_engine(CONFIG)
NOVEMBER = Period.month(2026, 11)  # 30 days
DECEMBER = Period.month(2026, 12)  # 31 days
OCTOBER = Period.month(2026, 10)
Q4 = Period.quarter(2026, 4)
AFTER_NOVEMBER = date(2026, 12, 5)


def budget(*lines: tuple[str, str | None, str | None, int], period: Period = NOVEMBER, **kw: Any) -> Budget:
    return Budget(period, "USD", tuple(BudgetLine(*line) for line in lines), **kw)


def evaluate(
    the_budget: Budget, actuals: dict[SpendKey, int], as_of: date, daily: dict[date, int] | None = None
) -> BudgetFigures:
    return evaluate_budget(ENGINE, the_budget, actuals, daily or {}, as_of)


def line_of(
    figures: BudgetFigures, department: str, channel: str | None = None, campaign: str | None = None
) -> Figures:
    return next(lf.figures for lf in figures.lines if lf.key == (department, channel, campaign))


def department_of(figures: BudgetFigures, department: str) -> Figures:
    return next(d.figures for d in figures.departments if d.department == department)


# --------------------------------------------------------------------------------------------- line actuals


def test_a_line_sums_every_finer_spend_key_under_it_and_the_rest_is_unbudgeted() -> None:
    # Given marketing budgeted as a whole, sales' events and one paid-search campaign of sales
    plan = budget(
        ("marketing", None, None, 1_000_000),
        ("sales", "events", None, 200_000),
        ("sales", "paid_search", "c1", 50_000),
    )
    # And spend at the finest grain, some of it under no line
    actuals: dict[SpendKey, int] = {
        ("marketing", "paid_search", "c1"): 100,
        ("marketing", "events", None): 200,
        ("marketing", "display", "c2"): 300,
        ("sales", "events", "c9"): 1000,
        ("sales", "events", None): 500,
        ("sales", "paid_search", "c1"): 70,
        ("sales", "paid_search", "c2"): 5,  # not c1: no line covers it
        ("product", "email", None): 9,  # product has no budget
    }
    # When the figures are computed after the period
    figures = evaluate(plan, actuals, AFTER_NOVEMBER)
    # Then each line's actual sums what it covers
    assert line_of(figures, "marketing").actual == 600
    assert line_of(figures, "sales", "events").actual == 1500
    assert line_of(figures, "sales", "paid_search", "c1").actual == 70
    # And spend no line covers is its department's unbudgeted spend, counted in the department and the total
    unbudgeted = {d.department: d.unbudgeted.actual for d in figures.departments}
    assert unbudgeted == {"marketing": 0, "sales": 5, "product": 9}
    assert department_of(figures, "sales") == Figures(250_000, 1575, 1575)
    assert department_of(figures, "product") == Figures(0, 9, 9)
    assert figures.totals == Figures(1_250_000, 2184, 2184)
    assert figures.unbudgeted.actual == 14
    # And the departments come in the finance file's order
    assert [d.department for d in figures.departments] == ["marketing", "sales", "product"]


def test_a_line_shows_remaining_consumption_and_variance() -> None:
    figures = Figures(budget=5_000_000, actual=4_000_000, forecast=5_500_000)
    assert figures.remaining == 1_000_000
    assert figures.consumption_pct == Decimal("80.00")
    assert figures.variance == -1_000_000
    assert figures.variance_pct == Decimal("-20.00")
    assert figures.forecast_variance == 500_000
    assert figures.forecast_pct == Decimal("110.00")


def test_an_overspent_line_has_negative_remaining_and_positive_variance() -> None:
    figures = Figures(budget=100_00, actual=123_45, forecast=123_45)
    assert (figures.remaining, figures.variance) == (-23_45, 23_45)
    assert figures.consumption_pct == Decimal("123.45")
    assert figures.variance_pct == Decimal("23.45")


@pytest.mark.parametrize(
    ("part", "whole", "pct"),
    [
        (1, 800, "0.12"),  # 0.125 -> 0.12 (even), where half-up would give 0.13
        (3, 800, "0.38"),  # 0.375 -> 0.38 (even)
        (-1, 800, "-0.12"),
        (1, 3, "33.33"),
        (2, 3, "66.67"),
        (0, 5, "0.00"),
        (7, 7, "100.00"),
    ],
)
def test_percentages_round_half_to_even_to_two_places(part: int, whole: int, pct: str) -> None:
    assert percent(part, whole) == Decimal(pct)
    assert str(percent(part, whole)) == pct


def test_a_zero_budget_has_no_percentages() -> None:
    figures = Figures(budget=0, actual=500, forecast=500)
    assert (figures.consumption_pct, figures.variance_pct, figures.forecast_pct) == (None, None, None)
    assert figures.remaining == -500


@SETTINGS
@given(st.integers(-(10**18), 10**18), st.integers(1, 10**18))
def test_a_percentage_is_the_exact_ratio_rounded_half_to_even(part: int, whole: int) -> None:
    with localcontext() as context:
        context.prec = 120
        expected = (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
    assert percent(part, whole) == expected


# -------------------------------------------------------------------------------------------------- forecast


def test_early_in_the_period_the_forecast_is_the_run_rate() -> None:
    # Given 300.00 spent by November 3rd (3 of 30 days)
    plan = budget(("marketing", None, None, 500_000))
    figures = evaluate(plan, {("marketing", "events", None): 30_000}, date(2026, 11, 3))
    # Then the forecast runs 100.00 a day to 3000.00, and says so
    assert figures.forecast_method is ForecastMethod.RUN_RATE
    assert (figures.days_elapsed, figures.days_in_period) == (3, 30)
    assert figures.daily_rate == 10_000
    assert figures.totals.forecast == 300_000
    assert line_of(figures, "marketing").forecast_pct == Decimal("60.00")


def test_the_run_rate_rounds_half_to_even_to_the_minor_unit() -> None:
    # Given one cent by December 2nd: 29 days left at half a cent a day is 14.5 cents
    plan = budget(("marketing", None, None, 100), period=DECEMBER)
    figures = evaluate(plan, {("marketing", "email", None): 1}, date(2026, 12, 2))
    # Then the extrapolated 14.5 cents round to 14 (even), not 15
    assert figures.totals.forecast == 1 + 14


def test_the_run_rate_is_shared_among_lines_by_their_spend() -> None:
    plan = budget(("marketing", "events", None, 10_000), ("marketing", "email", None, 10_000))
    actuals: dict[SpendKey, int] = {("marketing", "events", None): 100, ("marketing", "email", "x"): 200}
    figures = evaluate(plan, actuals, date(2026, 11, 5))  # 5 of 30 days: x6
    assert figures.forecast_method is ForecastMethod.RUN_RATE
    assert line_of(figures, "marketing", "events").forecast == 600
    assert line_of(figures, "marketing", "email").forecast == 1200


def upfront_then_steady() -> dict[date, int]:
    """10,000.00 paid on the 1st (a sponsorship), then 100.00 a day: cumulative = 10,000.00 + 100.00 x day."""
    daily = {date(2026, 11, day): 10_000 for day in range(1, 11)}
    daily[date(2026, 11, 1)] += 1_000_000
    return daily


def test_once_enough_days_have_passed_the_forecast_follows_the_trend() -> None:
    # Given a sponsorship paid upfront, then steady spend, and an event already booked for the 20th
    daily = upfront_then_steady() | {date(2026, 11, 20): 500_000}
    actual = sum(daily.values())
    plan = budget(("marketing", None, None, 3_000_000))
    # When the figures are computed on the 10th (the trend needs 7 days)
    figures = evaluate(plan, {("marketing", "sponsorships", None): actual}, date(2026, 11, 10), daily)
    # Then the trend's slope is the steady 100.00 a day: the upfront payment is not extrapolated, and of the 20
    # days left the 20th counts the event booked on it (more than a day's 100.00), the 19 others 100.00 each
    assert figures.forecast_method is ForecastMethod.TREND
    assert figures.daily_rate == 10_000
    assert figures.totals.forecast == actual + 10_000 * 19
    # Whereas the run rate would have extrapolated the whole average of the days so far (not the event booked)
    run_rate = evaluate_budget(
        replace(ENGINE, trend_min_days=11),
        plan,
        {("marketing", "sponsorships", None): actual},
        daily,
        date(2026, 11, 10),
    )
    assert run_rate.forecast_method is ForecastMethod.RUN_RATE
    assert run_rate.totals.forecast == actual + (actual - 500_000) * 19 // 10


def test_under_the_trend_each_line_and_unbudgeted_spend_follow_their_own_daily_spend() -> None:
    # Given a one-off 6,000.00 sponsorship on the 1st, paid search at 400.00 a day and unbudgeted display at
    # 10.00 a day from the 6th, each budgeted line at 10,000.00
    sponsorships, search, display = (
        ("marketing", "sponsorships", None),
        ("marketing", "paid_search", "q4"),
        ("marketing", "display", None),
    )
    plan = budget(("marketing", "sponsorships", None, 1_000_000), ("marketing", "paid_search", None, 1_000_000))
    by_key = {
        sponsorships: {date(2026, 11, 1): 600_000},
        search: {date(2026, 11, day): 40_000 for day in range(1, 11)},
        display: {date(2026, 11, day): 1_000 for day in range(6, 11)},
    }
    actuals = {key: sum(days.values()) for key, days in by_key.items()}
    daily: dict[date, int] = {}
    for days in by_key.values():
        for day, amount in days.items():
            daily[day] = daily.get(day, 0) + amount
    # When the figures are computed on the 10th (trend)
    figures = evaluate_budget(ENGINE, plan, actuals, daily, date(2026, 11, 10), daily_by_key=by_key)
    # Then the sponsorship is not extrapolated, paid search runs on at 400.00 a day, display at its own slope
    assert figures.forecast_method is ForecastMethod.TREND
    assert line_of(figures, "marketing", "sponsorships").forecast == 600_000
    assert line_of(figures, "marketing", "paid_search").forecast == 40_000 * 30
    display_slope = Fraction(sum(1_000 * x * (x - 5) for x in range(6, 11)) * 10 - 55 * 15_000, 10 * 385 - 55**2)
    assert figures.unbudgeted.forecast == 5_000 + round(display_slope * 20)
    # And the total is the lines' and the unbudgeted forecasts summed, exactly
    assert figures.totals.forecast == 600_000 + 1_200_000 + figures.unbudgeted.forecast
    assert figures.daily_rate == round(40_000 + display_slope)


def test_under_the_trend_days_of_no_known_key_go_to_the_lines_whose_days_are_unknown() -> None:
    # Given paid search's days known by key (a one-off 6,000.00 on the 1st), and the sponsorships line's
    # 100.00 a day known only as the month's daily totals (a ledger's days written before they were per key)
    plan = budget(("marketing", "sponsorships", None, 1_000_000), ("marketing", "paid_search", None, 1_000_000))
    known: dict[SpendKey, dict[date, int]] = {("marketing", "paid_search", None): {date(2026, 11, 1): 600_000}}
    before = {date(2026, 11, day): 10_000 for day in range(1, 11)}
    daily = before | {date(2026, 11, 1): 610_000}
    actuals: dict[SpendKey, int] = {
        ("marketing", "paid_search", None): 600_000,
        ("marketing", "sponsorships", None): 100_000,
    }
    # When the figures are computed on the 10th
    figures = evaluate_budget(ENGINE, plan, actuals, daily, date(2026, 11, 10), daily_by_key=known)
    # Then paid search follows its own days and the sponsorships line the days of no known key
    assert line_of(figures, "marketing", "paid_search").forecast == 600_000
    assert line_of(figures, "marketing", "sponsorships").forecast == 100_000 + 10_000 * 20
    assert figures.totals.forecast == 900_000


APRIL = Period.month(2026, 4)  # 30 days
TOOLS: SpendKey = ("marketing", "tools_and_agencies", None)
ADS: SpendKey = ("marketing", "paid_search", "spring")


def booked_over(amount: int, start: date, end: date) -> dict[date, int]:
    """April's days of a line over a service period, as the ledger's day figures hold them."""
    return spread(amount, ServicePeriod(start, end))[APRIL]


def evaluate_by_key(
    the_budget: Budget, by_key: dict[SpendKey, dict[date, int]], as_of: date, engine: Any = ENGINE
) -> BudgetFigures:
    """The figures of spend known by key and day (the period's daily totals their sums), as the service has."""
    daily: dict[date, int] = {}
    for days in by_key.values():
        for day, amount in days.items():
            daily[day] = daily.get(day, 0) + amount
    actuals = {key: sum(days.values()) for key, days in by_key.items()}
    return evaluate_budget(engine, the_budget, actuals, daily, as_of, daily_by_key=by_key)


@pytest.mark.parametrize(
    ("day", "method", "forecast"),
    [
        # 3,600.00 over 2026-04-01..2027-03-31 books 295.89 on April's 30 days: 9.87 on the 1st to the 9th (the
        # units left over go to the earliest days), 9.86 after; it was forecast at 8,876.70, 2,958.90 and 443.88
        (1, ForecastMethod.RUN_RATE, 29_589 + 21),  # a rate of 9.87 tops up the 21 days of 9.86 by a unit each
        (3, ForecastMethod.RUN_RATE, 29_589 + 21),
        (15, ForecastMethod.TREND, 29_589 + 9),  # a slope of 9.866 over the 15 days of 9.86 left
        (29, ForecastMethod.TREND, 29_589),
    ],
)
def test_a_service_period_booked_over_the_month_is_forecast_at_its_share_not_extrapolated(
    day: int, method: ForecastMethod, forecast: int
) -> None:
    # Given April's share of an annual subscription, booked on every day of April, and nothing else spent
    days = booked_over(360_000, date(2026, 4, 1), date(2027, 3, 31))
    assert sum(days.values()) == 29_589
    plan = budget(("marketing", None, None, 100_000), period=APRIL)
    # When the figures are computed on an April day
    figures = evaluate_by_key(plan, {TOOLS: days}, date(2026, 4, day))
    # Then each day left counts once, at what is booked on it: April is forecast at its share (within the minor
    # unit its day shares differ by, a day), not extrapolated over days it has booked already
    assert figures.forecast_method is method
    assert figures.totals.actual == 29_589
    assert figures.totals.forecast == forecast
    assert 29_589 <= figures.totals.forecast <= 29_589 + (30 - day)
    assert line_of(figures, "marketing").forecast == figures.totals.forecast


@pytest.mark.parametrize("day", [1, 3, 15, 29])
def test_a_service_period_booked_evenly_over_the_month_is_forecast_at_exactly_its_share(day: int) -> None:
    # Given 3,650.00 over 365 days: 10.00 on each day of April, 300.00, the same every day
    days = booked_over(365_000, date(2026, 4, 1), date(2027, 3, 31))
    assert set(days.values()) == {1_000}
    plan = budget(("marketing", None, None, 100_000), period=APRIL)
    # Then on any day of April (run rate or trend) the forecast is the 300.00 booked, exactly
    figures = evaluate_by_key(plan, {TOOLS: days}, date(2026, 4, day))
    assert figures.totals.forecast == figures.totals.actual == 30_000
    # And so it is when the caller passes only the period's daily totals (spend of no known key)
    totals = evaluate(plan, {TOOLS: 30_000}, date(2026, 4, day), days)
    assert totals.totals.forecast == 30_000


@pytest.mark.parametrize(("day", "method"), [(3, ForecastMethod.RUN_RATE), (15, ForecastMethod.TREND)])
def test_other_spend_of_a_line_with_a_service_period_is_still_extrapolated(day: int, method: ForecastMethod) -> None:
    # Given a line holding the 10.00 a day of an annual subscription and 100.00 a day of paid search so far
    tools = booked_over(365_000, date(2026, 4, 1), date(2027, 3, 31))
    ads = {date(2026, 4, d): 10_000 for d in range(1, day + 1)}
    plan = budget(("marketing", None, None, 100_000), period=APRIL)
    figures = evaluate_by_key(plan, {TOOLS: tools, ADS: ads}, date(2026, 4, day))
    # Then each day left is forecast at 110.00: the 10.00 booked, topped up by the 100.00 of paid search
    assert figures.forecast_method is method
    assert figures.daily_rate == 11_000
    assert figures.totals.actual == 30_000 + 10_000 * day
    assert figures.totals.forecast == 11_000 * 30


def test_a_line_dated_later_in_the_month_is_counted_once_not_extrapolated() -> None:
    # Given 100.00 a day spent on the 1st to the 3rd, and 1,000.00 incurred on the 25th, recorded already
    days = {date(2026, 11, d): 10_000 for d in (1, 2, 3)} | {date(2026, 11, 25): 100_000}
    plan = budget(("marketing", None, None, 500_000))
    # When the figures are computed on the 3rd (run rate)
    figures = evaluate_by_key(plan, {ADS: days}, date(2026, 11, 3))
    # Then the rate is the 100.00 a day spent so far (not 1,300.00 / 3), and of the 27 days left the 25th counts
    # the 1,000.00 booked on it, the 26 others 100.00 each: 3,900.00, not 13,000.00
    assert figures.forecast_method is ForecastMethod.RUN_RATE
    assert figures.daily_rate == 10_000
    assert figures.totals.actual == 130_000
    assert figures.totals.forecast == 130_000 + 10_000 * 26
    # And the same once the trend has taken over (the 10th: 100.00 a day to the 10th, 19 days at 100.00 more)
    days |= {date(2026, 11, d): 10_000 for d in range(4, 11)}
    trend = evaluate_by_key(plan, {ADS: days}, date(2026, 11, 10))
    assert trend.forecast_method is ForecastMethod.TREND
    assert trend.totals.forecast == 200_000 + 10_000 * 19
    # And the same from the period's daily totals alone (no key known by day): they are the line's
    totals = evaluate(plan, {ADS: sum(days.values())}, date(2026, 11, 10), days)
    assert totals.totals.forecast == trend.totals.forecast


def test_spend_dated_after_as_of_alone_is_forecast_at_what_is_booked() -> None:
    # Given a line whose only spend is an event booked for the 20th, and another spending 100.00 a day
    plan = budget(("marketing", "events", None, 100_000), ("marketing", "paid_search", None, 500_000))
    event: SpendKey = ("marketing", "events", None)
    by_key = {event: {date(2026, 11, 20): 80_000}, ADS: {date(2026, 11, d): 10_000 for d in (1, 2)}}
    figures = evaluate_by_key(plan, by_key, date(2026, 11, 2))
    # Then the event is forecast at what is booked, and paid search at its own 100.00 a day
    assert line_of(figures, "marketing", "events").forecast == 80_000
    assert line_of(figures, "marketing", "paid_search").forecast == 10_000 * 30
    assert figures.totals.forecast == 80_000 + 300_000


def test_a_falling_trend_forecasts_no_further_spend() -> None:
    # Given 10.00 spent on the 1st and 9.00 of it reversed on the 8th
    daily = {date(2026, 11, 1): 1000, date(2026, 11, 8): -900}
    plan = budget(("marketing", None, None, 10_000))
    figures = evaluate(plan, {("marketing", "events", None): 100}, date(2026, 11, 10), daily)
    # Then the trend does not forecast refunds: the forecast is what is spent
    assert figures.forecast_method is ForecastMethod.TREND
    assert figures.daily_rate == 0
    assert figures.totals.forecast == 100


def test_after_the_period_the_forecast_is_the_actual() -> None:
    plan = budget(("marketing", None, None, 10_000))
    figures = evaluate(plan, {("marketing", "events", None): 12_345}, AFTER_NOVEMBER)
    assert figures.forecast_method is ForecastMethod.FINAL
    assert figures.daily_rate is None
    assert figures.totals == Figures(10_000, 12_345, 12_345)


def test_before_the_period_each_line_is_forecast_at_its_budget_or_what_is_already_booked() -> None:
    plan = budget(("marketing", "events", None, 10_000), ("marketing", "email", None, 5_000))
    actuals: dict[SpendKey, int] = {
        ("marketing", "events", None): 12_000,  # booked in advance, more than the budget
        ("marketing", "display", None): 700,  # unbudgeted
    }
    figures = evaluate(plan, actuals, date(2026, 10, 20))
    assert figures.forecast_method is ForecastMethod.BUDGET
    assert figures.days_elapsed == 0
    assert line_of(figures, "marketing", "events").forecast == 12_000
    assert line_of(figures, "marketing", "email").forecast == 5_000
    assert figures.unbudgeted.forecast == 700
    assert figures.totals.forecast == 17_700


def test_a_daily_actual_outside_the_period_is_a_bug_of_the_caller() -> None:
    plan = budget(("marketing", None, None, 10_000))
    with pytest.raises(ValueError, match="daily actual of 2026-12-01 is outside period 2026-11"):
        evaluate(plan, {}, date(2026, 11, 10), {date(2026, 12, 1): 5})


def test_a_budget_in_another_currency_than_the_company_one_is_refused() -> None:
    plan = Budget(NOVEMBER, "EUR", (BudgetLine("marketing", None, None, 1),))
    with pytest.raises(InvalidInput, match="budget of 2026-11 is in EUR, the company currency is USD"):
        evaluate(plan, {}, date(2026, 11, 10))


def test_a_quarter_budget_counts_the_quarter_days() -> None:
    plan = budget(("marketing", None, None, 9_200_000), period=Q4)
    figures = evaluate(plan, {("marketing", "events", None): 320_000}, date(2026, 11, 1))
    assert (figures.days_elapsed, figures.days_in_period) == (32, 92)
    assert figures.forecast_method is ForecastMethod.TREND  # 32 days >= 7, no daily data: slope 0
    assert figures.totals.forecast == 320_000


# ----------------------------------------------------------------------------------------- quarter rollups


def month_figures(period: Period, as_of: date, spent: int, booked: int = 0) -> BudgetFigures:
    plan = budget(("marketing", "events", None, 100_000), ("sales", None, None, 50_000), period=period)
    actuals: dict[SpendKey, int] = {("marketing", "events", None): spent, ("sales", "email", None): booked}
    return evaluate(plan, actuals, as_of)


def test_a_quarter_view_rolls_up_its_months() -> None:
    # Given October (over), November (in progress, run rate) and December (not begun), as of November 10th
    as_of = date(2026, 11, 10)
    months = [month_figures(DECEMBER, as_of, 0), month_figures(OCTOBER, as_of, 90_000, 60_000)]
    months.append(month_figures(NOVEMBER, as_of, 40_000))
    # When rolled up
    quarter = rollup(months)
    # Then the quarter sums its months line by line, and the percentages follow from the sums
    assert quarter.period == Q4
    assert quarter.forecast_method is ForecastMethod.ROLLUP
    assert quarter.months == (
        (OCTOBER, ForecastMethod.FINAL),
        (NOVEMBER, ForecastMethod.TREND),
        (DECEMBER, ForecastMethod.BUDGET),
    )
    events = line_of(quarter, "marketing", "events")
    assert events.budget == 300_000
    assert events.actual == 130_000
    assert events.forecast == 90_000 + 40_000 + 100_000
    assert events.consumption_pct == percent(130_000, 300_000)
    assert quarter.totals.budget == 450_000
    assert quarter.totals.actual == 190_000
    assert quarter.totals == Figures.total(d.figures for d in quarter.departments)
    assert (quarter.days_elapsed, quarter.days_in_period) == (31 + 10, 92)
    assert budget_view(quarter)["months"][0] == {"period": "2026-10", "forecast_method": "final"}


def test_a_rollup_takes_months_of_one_quarter_each_once() -> None:
    october = month_figures(OCTOBER, AFTER_NOVEMBER, 1)
    with pytest.raises(ValueError, match="at least one month"):
        rollup([])
    with pytest.raises(ValueError, match="2027-01 is not one of its months"):
        rollup([october, month_figures(Period.month(2027, 1), AFTER_NOVEMBER, 1)])
    with pytest.raises(ValueError, match="a month is given twice"):
        rollup([october, october])
    with pytest.raises(ValueError, match="is not one of its months"):
        rollup([replace(october, period=Q4)])


# -------------------------------------------------------------------------------------------------- budgets

BODY: dict[str, Any] = {
    "currency": "USD",
    "lines": [
        {"department": "marketing", "channel": "paid_search", "campaign_id": "q4-launch", "amount": "50000.00"},
        {"department": "marketing", "channel": "events", "amount": "20000"},
        {"department": "sales", "amount": 1_000_000},
    ],
    "thresholds": [100, 50, 80],
}


def test_the_budget_of_the_contract_is_read() -> None:
    plan = parse_budget("2026-11", BODY, CONFIG)
    assert plan.period == NOVEMBER
    assert plan.lines == (
        BudgetLine("marketing", "paid_search", "q4-launch", 5_000_000),
        BudgetLine("marketing", "events", None, 2_000_000),
        BudgetLine("sales", None, None, 1_000_000),
    )
    assert plan.thresholds == (50, 80, 100)
    assert plan.total == 8_000_000


def test_a_budget_without_thresholds_gets_the_default_ones() -> None:
    body = {key: value for key, value in BODY.items() if key != "thresholds"}
    assert parse_budget("2026-Q4", body, CONFIG).thresholds == (50, 80, 100, 110)


def test_a_budget_round_trips_through_its_record() -> None:
    plan = parse_budget("2026-11", BODY, CONFIG)
    record = budget_record(plan)
    assert record["lines"][0]["amount"] == "50000.00"
    assert budget_from_record(json.loads(json.dumps(record))) == plan


@pytest.mark.parametrize(
    ("first", "second", "words"),
    [
        ({"department": "marketing"}, {"department": "marketing", "channel": "email"}, "overlaps line 1"),
        (
            {"department": "marketing", "channel": "email"},
            {"department": "marketing", "campaign_id": "c1"},
            "(marketing / all channels / campaign c1) overlaps line 1 (marketing / email / all campaigns)",
        ),
        (
            {"department": "marketing", "channel": "email", "campaign_id": "c1"},
            {"department": "marketing", "channel": "email", "campaign_id": "c1"},
            "repeats line 1",
        ),
        (
            {"department": "marketing", "campaign_id": "c1"},
            {"department": "marketing", "channel": "email", "campaign_id": "c1"},
            "overlaps line 1",
        ),
    ],
)
def test_lines_that_cover_the_same_spend_are_refused_naming_both(
    first: dict[str, Any], second: dict[str, Any], words: str
) -> None:
    body = {"currency": "USD", "lines": [first | {"amount": "1.00"}, second | {"amount": "2.00"}]}
    with pytest.raises(InvalidBudget) as refused:
        parse_budget("2026-11", body, CONFIG)
    assert [(p.line, p.field) for p in refused.value.problems] == [(2, "coverage")]
    assert words in str(refused.value)


def test_lines_that_do_not_overlap_are_accepted() -> None:
    lines = [
        {"department": "marketing", "channel": "email", "campaign_id": "c1"},
        {"department": "marketing", "channel": "display", "campaign_id": "c1"},
        {"department": "marketing", "channel": "paid_search"},
        {"department": "marketing", "campaign_id": "c2", "channel": "events"},
        {"department": "sales"},
    ]
    body = {"currency": "USD", "lines": [line | {"amount": "1"} for line in lines]}
    assert len(parse_budget("2026-11", body, CONFIG).lines) == 5


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (BODY | {"currency": "EUR"}, [(None, "currency", "budgets are in the company currency USD, not EUR")]),
        (BODY | {"currency": "XYZ"}, [(None, "currency", '"XYZ" is not an ISO 4217 currency code')]),
        ({"lines": BODY["lines"]}, [(None, "currency", "required: the company currency USD")]),
        (BODY | {"lines": []}, [(None, "lines", "required: a list of at least one budget line")]),
        (BODY | {"owner": "me"}, [(None, "owner", "unknown field")]),
        (BODY | {"thresholds": [50, 50]}, [(None, "thresholds", "threshold 50 listed more than once")]),
        (BODY | {"thresholds": [0]}, [(None, "thresholds", "each is a whole percentage 1 to 1000, not 0")]),
        (BODY | {"thresholds": [True]}, [(None, "thresholds", "not True")]),
        (BODY | {"thresholds": []}, [(None, "thresholds", "must be a list of 1 to 20 percentages")]),
        (
            BODY | {"lines": [{"department": "legal", "channel": "tv", "amount": "-1.00", "owner": 1}]},
            [
                (1, "owner", "unknown field"),
                (1, "department", '"legal" is not a department of the finance file'),
                (1, "channel", '"tv" is not a channel of the finance file'),
                (1, "amount", "a budget is not negative"),
            ],
        ),
        (BODY | {"lines": [{"department": "sales", "amount": "1.001"}]}, [(1, "amount", "USD allows at most 2")]),
        (BODY | {"lines": [{"department": "sales"}]}, [(1, "amount", "required")]),
        (BODY | {"lines": [{"amount": "1"}]}, [(1, "department", "required")]),
        (BODY | {"lines": [{"department": "sales", "campaign_id": "a b", "amount": "1"}]}, [(1, "campaign_id", "")]),
        (BODY | {"lines": ["sales"]}, [(1, "line", "must be an object")]),
    ],
)
def test_a_bad_budget_is_refused_naming_each_line_and_field(
    body: dict[str, Any], expected: list[tuple[int | None, str, str]]
) -> None:
    with pytest.raises(InvalidBudget) as refused:
        parse_budget("2026-11", body, CONFIG)
    found = [(p.line, p.field, p.message) for p in refused.value.problems]
    assert [(line, field) for line, field, _ in found] == [(line, field) for line, field, _ in expected]
    for (_, _, message), (_, _, words) in zip(found, expected, strict=True):
        assert words in message


def test_a_budget_over_the_line_limit_is_refused() -> None:
    lines = [{"department": "sales", "campaign_id": f"c{n}", "amount": "1"} for n in range(1001)]
    with pytest.raises(InvalidBudget, match="lines: 1001 budget lines, at most 1000"):
        parse_budget("2026-11", {"currency": "USD", "lines": lines}, CONFIG)


def test_a_budget_built_directly_is_validated_too() -> None:
    with pytest.raises(InvalidBudget, match="amount: must be a non-negative int"):
        budget(("sales", None, None, -1))
    with pytest.raises(InvalidBudget, match="are not whole percentages"):
        budget(("sales", None, None, 1), thresholds=(0,))


# ---------------------------------------------------------------------------------------------------- view


def test_the_view_is_the_contract_with_money_as_decimal_strings() -> None:
    plan = parse_budget("2026-11", BODY, CONFIG)
    actuals: dict[SpendKey, int] = {("marketing", "paid_search", "q4-launch"): 4_000_000, ("sales", "email", None): 5}
    view = budget_view(evaluate(plan, actuals, date(2026, 11, 3)))
    assert list(view)[:2] == ["period", "currency"]
    assert (view["period"], view["currency"]) == ("2026-11", "USD")
    contract = ["budget", "actual", "remaining", "consumption_pct", "variance", "variance_pct", "forecast"]
    assert {*contract, "forecast_variance"} <= set(view["totals"])
    assert view["lines"][0] == {
        "department": "marketing",
        "channel": "paid_search",
        "campaign_id": "q4-launch",
        "budget": "50000.00",
        "actual": "40000.00",
        "remaining": "10000.00",
        "consumption_pct": "80.00",
        "variance": "-10000.00",
        "variance_pct": "-20.00",
        "forecast": "400000.00",
        "forecast_variance": "350000.00",
        "forecast_pct": "800.00",
    }
    assert view["forecast_method"] == "run_rate"
    assert view["forecast_basis"] == {"days_elapsed": 3, "days_in_period": 30, "daily_rate": "13333.35"}
    assert [d["department"] for d in view["departments"]] == ["marketing", "sales"]
    assert view["departments"][1]["budget"] == "10000.00"
    assert json.loads(json.dumps(view)) == view  # no float, no Decimal: plain JSON


def test_a_zero_budget_shows_null_percentages() -> None:
    view = budget_view(evaluate(budget(("sales", None, None, 0)), {("sales", "email", None): 5}, AFTER_NOVEMBER))
    assert view["totals"]["consumption_pct"] is None
    assert view["totals"]["remaining"] == "-0.05"


# ------------------------------------------------------------------------------------------------ thresholds

DEFAULT = [50, 80, 100, 110]


@pytest.mark.parametrize(
    ("previous", "new", "crossed"),
    [
        (0, 7_999, [50]),  # 79.99 %
        (7_999, 8_000, [80]),  # exactly 80 %: at or above counts
        (0, 12_000, [50, 80, 100, 110]),
        (8_500, 9_000, []),
        (8_500, 8_500, []),
        (12_000, 5_000, []),  # falling never crosses
        (10_999, 11_000, [110]),
    ],
)
def test_a_threshold_is_crossed_when_consumption_reaches_it_from_below(
    previous: int, new: int, crossed: list[int]
) -> None:
    assert crossed_thresholds(previous, new, 10_000, DEFAULT) == crossed


def test_falling_back_below_re_arms_a_threshold() -> None:
    # Given a 10.00 budget, spend that reaches 100 %, and a reversal that takes it back to 90 %
    assert crossed_thresholds(0, 1000, 1000, DEFAULT) == [50, 80, 100]
    assert crossed_thresholds(1000, 900, 1000, DEFAULT) == []
    assert rearmed_thresholds(1000, 900, 1000, DEFAULT) == [100]
    # When spend rises again past 100 %, Then 100 fires again (and 110 for the first time)
    assert crossed_thresholds(900, 1100, 1000, DEFAULT) == [100, 110]


def test_any_spend_against_a_zero_budget_reaches_every_threshold() -> None:
    assert crossed_thresholds(0, 1, 0, DEFAULT) == DEFAULT
    assert crossed_thresholds(0, 0, 0, DEFAULT) == []
    assert not reached(0, 0, 50)


def test_a_larger_budget_re_arms_what_it_takes_back_under() -> None:
    # Given 50, 80 and 100 fired on a 10.00 budget fully spent
    fired = threshold_transition(set(), 1000, 1000, DEFAULT).fired
    assert fired == {50, 80, 100}
    # When the budget doubles, Then consumption is 50 %: 80 and 100 re-arm, nothing fires
    change = threshold_transition(fired, 1000, 2000, DEFAULT)
    assert (change.crossed, change.rearmed, change.fired) == ((), (80, 100), frozenset({50}))
    # And when spend then reaches 80 % of the new budget, 80 fires again
    assert threshold_transition(change.fired, 1600, 2000, DEFAULT).crossed == (80,)


def test_a_forecast_overrun_fires_once_and_re_arms_when_the_forecast_comes_back() -> None:
    # Given a 3000.00 budget with 300.00 spent by November 3rd: forecast 3000.00, 100 % of budget
    plan = budget(("marketing", None, None, 300_000))
    early = evaluate(plan, {("marketing", "events", None): 30_000}, date(2026, 11, 3))
    overrun = [ENGINE.overrun_threshold]
    first = threshold_transition(frozenset(), early.totals.forecast, plan.total, overrun)
    assert first.crossed == (100,)
    # When the days pass without spend the run rate falls under the budget: the overrun re-arms
    later = evaluate(plan, {("marketing", "events", None): 30_000}, date(2026, 11, 6))
    second = threshold_transition(first.fired, later.totals.forecast, plan.total, overrun)
    assert (second.crossed, second.rearmed) == ((), (100,))
    # And it fires again when the forecast rises over the budget again
    again = evaluate(plan, {("marketing", "events", None): 90_000}, date(2026, 11, 6))
    assert threshold_transition(second.fired, again.totals.forecast, plan.total, overrun).crossed == (100,)


budgets = st.integers(0, 10_000)
threshold_sets = st.lists(st.integers(1, 300), min_size=1, max_size=6, unique=True)
deltas = st.lists(st.integers(-5_000, 5_000), max_size=40)


@SETTINGS
@given(budgets, threshold_sets, deltas)
def test_each_threshold_fires_exactly_once_per_upward_crossing(
    budget_amount: int, thresholds: list[int], steps: list[int]
) -> None:
    # Given any sequence of spend and reversals (each an atomic add: a writer sees the value before and after)
    actual = 0
    fires = dict.fromkeys(thresholds, 0)
    armed = dict.fromkeys(thresholds, True)
    state: frozenset[int] = frozenset()
    for step in steps:
        before, actual = actual, actual + step
        crossed = crossed_thresholds(before, actual, budget_amount, thresholds)
        rearmed = rearmed_thresholds(before, actual, budget_amount, thresholds)
        for t in crossed:
            # Then a threshold fires only when armed, and firing disarms it until consumption falls below
            assert armed[t]
            armed[t] = False
            fires[t] += 1
        for t in rearmed:
            assert not armed[t]
            armed[t] = True
        # And the stored-state version agrees with the before/after one
        change = threshold_transition(state, actual, budget_amount, thresholds)
        assert list(change.crossed) == crossed
        assert list(change.rearmed) == rearmed
        state = change.fired
    # And each fired exactly as often as consumption went from below it to at or above it
    values = [0]
    for step in steps:
        values.append(values[-1] + step)
    for t in thresholds:
        upward = sum(
            1
            for low, high in pairwise(values)
            if not reached(low, budget_amount, t) and reached(high, budget_amount, t)
        )
        assert fires[t] == upward


# ------------------------------------------------------------------------------------------------ properties

DEPARTMENTS = ["marketing", "sales", "product", "legal"]  # legal: not in the finance file
CHANNELS = ["events", "email", "display"]
CAMPAIGNS = ["c1", "c2", "c3"]


def intersect(one: BudgetLine, other: BudgetLine) -> bool:
    """Brute force: some spend key lies under both lines."""
    return (
        one.department == other.department
        and (one.channel is None or other.channel is None or one.channel == other.channel)
        and (one.campaign_id is None or other.campaign_id is None or one.campaign_id == other.campaign_id)
    )


candidate_lines = st.builds(
    BudgetLine,
    st.sampled_from(DEPARTMENTS),
    st.none() | st.sampled_from(CHANNELS),
    st.none() | st.sampled_from(CAMPAIGNS),
    st.integers(0, 10**9),
)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Budget, dict[SpendKey, int], dict[date, int], date, int]:
    period = draw(st.sampled_from([Period.month(2026, 2), NOVEMBER, DECEMBER, Q4]))
    lines: list[BudgetLine] = []
    for line in draw(st.lists(candidate_lines, max_size=8)):
        if not any(intersect(line, other) for other in lines):
            lines.append(line)
    plan = Budget(period, "USD", tuple(lines), tuple(draw(threshold_sets)))
    keys = st.tuples(st.sampled_from(DEPARTMENTS), st.sampled_from(CHANNELS), st.none() | st.sampled_from(CAMPAIGNS))
    actuals = draw(st.dictionaries(keys, st.integers(-(10**6), 10**9), max_size=12))
    daily = draw(
        st.dictionaries(
            st.dates(first_day(period), last_day(period)), st.integers(-(10**6), 10**8), max_size=days_in(period)
        )
    )
    as_of = draw(st.dates(first_day(period) - timedelta(days=3), last_day(period) + timedelta(days=3)))
    return plan, actuals, daily, as_of, draw(st.integers(2, 12))


@SETTINGS
@given(scenarios())
def test_the_breakdown_sums_exactly_to_the_total(
    scenario: tuple[Budget, dict[SpendKey, int], dict[date, int], date, int],
) -> None:
    plan, actuals, daily, as_of, trend_min_days = scenario
    figures = evaluate_budget(replace(ENGINE, trend_min_days=trend_min_days), plan, actuals, daily, as_of)
    totals = figures.totals
    by_departments = Figures.total(d.figures for d in figures.departments)
    by_lines = Figures.total(line.figures for line in figures.lines) + figures.unbudgeted
    # Then departments sum to the total, and so do lines plus unbudgeted spend, for every figure
    assert by_departments == totals
    assert by_lines == totals
    assert sum(d.figures.remaining for d in figures.departments) == totals.remaining
    assert sum(d.figures.forecast_variance for d in figures.departments) == totals.forecast_variance
    # And the total is all the period's spend against the whole budget
    assert totals.actual == sum(actuals.values())
    assert totals.budget == plan.total
    # And each line's actual is exactly the spend it covers
    for line, line_figures in zip(plan.lines, figures.lines, strict=True):
        assert line_figures.figures.actual == sum(a for key, a in actuals.items() if line.covers(key))
    # And a forecast never assumes future refunds
    if figures.forecast_method in (ForecastMethod.RUN_RATE, ForecastMethod.TREND):
        assert totals.forecast >= totals.actual
    # And the view holds the same figures as decimal strings
    view = budget_view(figures)
    assert Decimal(view["totals"]["forecast"]) * 100 == totals.forecast


@SETTINGS
@given(scenarios())
def test_under_the_run_rate_each_line_is_forecast_at_its_own_run_rate_within_a_minor_unit(
    scenario: tuple[Budget, dict[SpendKey, int], dict[date, int], date, int],
) -> None:
    plan, actuals, _, as_of, _ = scenario
    actuals = {key: abs(amount) for key, amount in actuals.items()}
    figures = evaluate_budget(replace(ENGINE, trend_min_days=92), plan, actuals, {}, as_of)
    if figures.forecast_method is not ForecastMethod.RUN_RATE:
        return
    elapsed, days = figures.days_elapsed, figures.days_in_period
    for line in figures.lines:
        own = round(Fraction(line.figures.actual * days, elapsed))
        assert abs(line.figures.forecast - own) <= 1


@SETTINGS
@given(scenarios(), st.data())
def test_under_the_trend_a_lines_forecast_depends_on_its_own_spend_only(
    scenario: tuple[Budget, dict[SpendKey, int], dict[date, int], date, int], data: st.DataObject
) -> None:
    # Given spend on days by key (the period's daily totals their sums), under the trend
    plan, actuals, _, as_of, trend_min_days = scenario
    period_days = st.dates(first_day(plan.period), last_day(plan.period))
    by_key = {
        key: data.draw(st.dictionaries(period_days, st.integers(-(10**6), 10**8), min_size=1, max_size=5))
        for key in actuals
    }
    actuals = {key: sum(days.values()) for key, days in by_key.items()}
    engine = replace(ENGINE, trend_min_days=trend_min_days)

    def figures_of(keys: dict[SpendKey, dict[date, int]]) -> BudgetFigures:
        daily: dict[date, int] = {}
        for days in keys.values():
            for day, amount in days.items():
                daily[day] = daily.get(day, 0) + amount
        totals = {key: sum(days.values()) for key, days in keys.items()}
        return evaluate_budget(engine, plan, totals, daily, as_of, daily_by_key=keys)

    figures = figures_of(by_key)
    if figures.forecast_method is not ForecastMethod.TREND:
        return
    # Then the total forecast is the lines' and the unbudgeted forecasts summed, exactly
    assert figures.totals.forecast == sum(lf.figures.forecast for lf in figures.lines) + figures.unbudgeted.forecast
    # And each line's forecast is the one it has when it is the only spend of the period
    for line, line_figures in zip(plan.lines, figures.lines, strict=True):
        alone = figures_of({key: days for key, days in by_key.items() if line.covers(key)})
        assert line_figures.figures.forecast == next(lf for lf in alone.lines if lf.key == line.key).figures.forecast


@SETTINGS
@given(scenarios(), st.data())
def test_spend_dated_after_as_of_is_counted_once_and_never_extrapolated(
    scenario: tuple[Budget, dict[SpendKey, int], dict[date, int], date, int], data: st.DataObject
) -> None:
    # Given spend on days by key, some of it dated after as_of (a service period's days, a line dated ahead)
    plan, actuals, _, as_of, trend_min_days = scenario
    first, last = first_day(plan.period), last_day(plan.period)
    period_days = st.dates(first, last)
    by_key = {
        key: data.draw(st.dictionaries(period_days, st.integers(-(10**6), 10**8), min_size=1, max_size=5))
        for key in actuals
    }
    engine = replace(ENGINE, trend_min_days=trend_min_days)
    figures = evaluate_by_key(plan, by_key, as_of, engine)
    if figures.forecast_method not in (ForecastMethod.RUN_RATE, ForecastMethod.TREND):
        return
    # Then the breakdown sums exactly: lines + unbudgeted = departments = total, for every figure
    totals = figures.totals
    assert Figures.total(d.figures for d in figures.departments) == totals
    assert Figures.total(lf.figures for lf in figures.lines) + figures.unbudgeted == totals
    # And nothing is forecast below its actual: a line, a department, its unbudgeted spend, the total
    every = [lf.figures for lf in figures.lines] + [d.figures for d in figures.departments]
    for figure in [*every, *(d.unbudgeted for d in figures.departments), totals]:
        assert figure.forecast >= figure.actual
    # And a line whose spend is all dated after as_of is forecast at what is booked
    for line, line_figures in zip(plan.lines, figures.lines, strict=True):
        covered = [days for key, days in by_key.items() if line.covers(key)]
        if covered and all(day > as_of for days in covered for day in days):
            assert line_figures.figures.forecast == line_figures.figures.actual
    # And booking more on a day after as_of raises the total forecast by that much at most (it is never
    # extrapolated), and lowers it by no more than the minor unit a rounding half to even may move
    if not by_key:
        return
    key = data.draw(st.sampled_from(sorted(by_key, key=repr)))
    day = data.draw(st.dates(max(first, as_of + timedelta(days=1)), last))
    more = data.draw(st.integers(1, 10**8))
    booked = {**by_key, key: {**by_key[key], day: by_key[key].get(day, 0) + more}}
    again = evaluate_by_key(plan, booked, as_of, engine)
    assert again.forecast_method is figures.forecast_method
    assert again.totals.actual == totals.actual + more
    assert -1 <= again.totals.forecast - totals.forecast <= more


@SETTINGS
@given(scenarios())
def test_the_figures_do_not_depend_on_the_order_of_the_actuals(
    scenario: tuple[Budget, dict[SpendKey, int], dict[date, int], date, int],
) -> None:
    plan, actuals, daily, as_of, _ = scenario
    reordered = dict(reversed(list(actuals.items())))
    assert evaluate(plan, reordered, as_of, daily) == evaluate(plan, actuals, as_of, daily)


@SETTINGS
@given(st.lists(candidate_lines, min_size=1, max_size=8))
def test_a_budget_is_refused_exactly_when_two_lines_cover_the_same_spend(lines: list[BudgetLine]) -> None:
    overlapping = any(intersect(a, b) for i, a in enumerate(lines) for b in lines[i + 1 :])
    problems: tuple[str, ...] = ()
    try:
        Budget(NOVEMBER, "USD", tuple(lines))
    except InvalidBudget as refused:
        problems = tuple(p.field for p in refused.problems)
    assert bool(problems) == overlapping
    assert set(problems) <= {"coverage"}


@SETTINGS
@given(st.integers(0, 10**12), st.lists(st.integers(0, 10**9), max_size=12))
def test_an_allocation_sums_exactly_and_each_share_is_its_exact_share_rounded(total: int, weights: list[int]) -> None:
    shares = allocate(total, weights)
    assert len(shares) == len(weights)
    if sum(weights) == 0:
        assert shares == [0] * len(weights)
        return
    assert sum(shares) == total
    for share, weight in zip(shares, weights, strict=True):
        exact = Fraction(total * weight, sum(weights))
        assert exact - 1 < share < exact + 1
