"""The forecast at period end of a budget's lines and unbudgeted spend.

Forecast. `days_elapsed` counts `as_of` itself (see `periods.days_elapsed`); D is the period's days, E those
elapsed, A the period's actual so far:
- run rate (E < `trend_min_days`): A / E a day for the D - E days left: forecast = A + A x (D - E) / E.
- trend (E >= `trend_min_days`): the least-squares slope of the cumulative daily actuals over days 1..E (a
  day without spend counts 0; days after `as_of` are not points of the fit) is the daily rate for the days
  left: forecast = A + slope x (D - E). Unlike the run rate, a one-off payment early in the period (a
  sponsorship paid on the 1st) lifts the fitted line's intercept, not its slope, so it is not extrapolated.
  A falling cumulative (reversals) forecasts no further spend: the slope counts as 0, never below. The daily
  actuals are the trend's only input: a caller that passes none gets a slope of 0 (forecast = actual).
- final (the period is over, E = D): the forecast is the actual.
- budget (the period has not begun, E = 0): each line is forecast at its budget, or its actual if that is
  more already (spend booked in advance); unbudgeted spend at its actual.
The extrapolated part (forecast - A) is computed exactly for the whole period and rounded half to even once
to minor units; it is then shared among the lines and each department's unbudgeted spend in proportion to
their actual so far (largest remainder: each share rounded down, the units left go to the largest fractions,
ties to the earlier line), so the breakdown sums exactly: lines + unbudgeted = departments = total, for every
figure. Under the run rate a line's forecast is then its own run rate (to within a minor unit).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from enum import StrEnum
from fractions import Fraction
from typing import NamedTuple

from shared.allocation import allocate
from shared.finance.budgets import BudgetLine
from shared.finance.periods import Period, first_day


class ForecastMethod(StrEnum):
    RUN_RATE = "run_rate"
    TREND = "trend"
    FINAL = "final"  # the period is over: forecast = actual
    BUDGET = "budget"  # the period has not begun: forecast = budget (or the actual when more)
    ROLLUP = "rollup"  # a quarter view: the sum of its months' forecasts


class PeriodEndForecast(NamedTuple):
    method: ForecastMethod
    forecasts: list[int]  # one a bucket, in order: the lines, then each department's unbudgeted spend
    daily_rate: int | None  # minor units a day extrapolated (run rate or trend), else None


def forecast_at_period_end(
    period: Period,
    lines: Sequence[BudgetLine],
    line_actual: Sequence[int],
    buckets: list[int],
    daily: Mapping[date, int],
    *,
    days: int,
    elapsed: int,
    trend_min_days: int,
) -> PeriodEndForecast:
    """The forecast of each bucket of actuals (`line_actual` of the `lines`, then each department's unbudgeted
    spend) with `elapsed` of the period's `days` gone (see the module's doc). Linear in buckets + days."""
    total_actual = sum(buckets)
    daily_rate: int | None = None
    if elapsed == 0:
        method = ForecastMethod.BUDGET
        forecasts = [max(a, line.amount) for a, line in zip(line_actual, lines, strict=True)] + buckets[len(lines) :]
    elif elapsed >= days:
        method = ForecastMethod.FINAL
        forecasts = list(buckets)
    else:
        if elapsed >= trend_min_days:
            method = ForecastMethod.TREND
            rate = max(_trend_slope(period, daily, elapsed), Fraction(0))
        else:
            method = ForecastMethod.RUN_RATE
            rate = max(Fraction(total_actual, elapsed), Fraction(0))
        daily_rate = round(rate)
        extra = round(rate * (days - elapsed))  # half to even, once, for the whole period
        shares = allocate(extra, [max(a, 0) for a in buckets])
        forecasts = [a + s for a, s in zip(buckets, shares, strict=True)]
    return PeriodEndForecast(method, forecasts, daily_rate)


def _trend_slope(period: Period, daily: Mapping[date, int], elapsed: int) -> Fraction:
    """Least-squares slope of the cumulative daily actuals over days 1..elapsed (exact)."""
    start = first_day(period)
    per_day = [0] * elapsed
    for day, amount in daily.items():
        offset = (day - start).days
        if offset < elapsed:
            per_day[offset] += amount
    n = elapsed
    sum_x = n * (n + 1) // 2
    sum_xx = n * (n + 1) * (2 * n + 1) // 6
    sum_y = 0
    sum_xy = 0
    cumulative = 0
    for x, amount in enumerate(per_day, start=1):
        cumulative += amount
        sum_y += cumulative
        sum_xy += x * cumulative
    return Fraction(n * sum_xy - sum_x * sum_y, n * sum_xx - sum_x * sum_x)
