"""The forecast at period end of a budget's lines and unbudgeted spend.

Forecast. `days_elapsed` counts `as_of` itself (see `periods.days_elapsed`); D is the period's days, E those
elapsed, A the actual so far:
- run rate (E < `trend_min_days`): A / E a day for the D - E days left: forecast = A + A x (D - E) / E. The
  period's extrapolated part is computed exactly, rounded half to even once to minor units, and shared among
  the lines and each department's unbudgeted spend in proportion to their actual so far (largest remainder:
  each share rounded down, the units left go to the largest fractions, ties to the earlier line), so a
  line's forecast is its own run rate (to within a minor unit).
- trend (E >= `trend_min_days`): each line (and each department's unbudgeted spend) is forecast from its own
  daily actuals: the least-squares slope of its cumulative daily actuals over days 1..E (a day without spend
  counts 0; days after `as_of` are not points of the fit) is its daily rate for the days left: forecast =
  A + slope x (D - E), the extrapolated part rounded half to even to minor units per line. Unlike the run
  rate, a one-off payment early in the period (a sponsorship paid on the 1st) lifts the fitted line's
  intercept, not its slope, so it is not extrapolated, and it does not lift the forecast of another line. A
  falling cumulative (reversals) forecasts no further spend: a line's slope counts as 0, never below. The
  daily actuals are the trend's only input: a line without any gets a slope of 0 (forecast = actual). Spend
  whose day is known but not its key (`unattributed`: a ledger's days written before they were kept per key,
  or a caller that passes only the period's daily totals) adds the slope of its own series to the lines in
  proportion to their spend of no known day (their actual less their daily actuals).
- final (the period is over, E = D): the forecast is the actual.
- budget (the period has not begun, E = 0): each line is forecast at its budget, or its actual if that is
  more already (spend booked in advance); unbudgeted spend at its actual.
The total forecast is the sum of the lines' and the unbudgeted forecasts, so the breakdown sums exactly:
lines + unbudgeted = departments = total, for every figure; the daily rate reported is the lines' rates
summed, rounded half to even.
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
    daily: Sequence[Mapping[date, int]],
    unattributed: Mapping[date, int],
    *,
    days: int,
    elapsed: int,
    trend_min_days: int,
) -> PeriodEndForecast:
    """The forecast of each bucket of actuals (`line_actual` of the `lines`, then each department's unbudgeted
    spend) with `elapsed` of the period's `days` gone, from each bucket's `daily` actuals and the daily actuals
    of no known bucket (see the module's doc). Linear in buckets + days with spend."""
    total_actual = sum(buckets)
    daily_rate: int | None = None
    if elapsed == 0:
        method = ForecastMethod.BUDGET
        forecasts = [max(a, line.amount) for a, line in zip(line_actual, lines, strict=True)] + buckets[len(lines) :]
    elif elapsed >= days:
        method = ForecastMethod.FINAL
        forecasts = list(buckets)
    elif elapsed >= trend_min_days:
        method = ForecastMethod.TREND
        rates = _trend_rates(period, buckets, daily, unattributed, elapsed)
        daily_rate = round(sum(rates, Fraction(0)))
        forecasts = [a + round(rate * (days - elapsed)) for a, rate in zip(buckets, rates, strict=True)]
    else:
        method = ForecastMethod.RUN_RATE
        rate = max(Fraction(total_actual, elapsed), Fraction(0))
        daily_rate = round(rate)
        extra = round(rate * (days - elapsed))  # half to even, once, for the whole period
        shares = allocate(extra, [max(a, 0) for a in buckets])
        forecasts = [a + s for a, s in zip(buckets, shares, strict=True)]
    return PeriodEndForecast(method, forecasts, daily_rate)


def _trend_rates(
    period: Period,
    buckets: Sequence[int],
    daily: Sequence[Mapping[date, int]],
    unattributed: Mapping[date, int],
    elapsed: int,
) -> list[Fraction]:
    """Each bucket's daily rate: the slope of its own daily actuals, plus its share of the slope of the
    unattributed ones by its spend of no known day; never below 0 (exact)."""
    own = [_trend_slope(period, series, elapsed) for series in daily]
    unknown_day = [max(actual - sum(series.values()), 0) for actual, series in zip(buckets, daily, strict=True)]
    whole = sum(unknown_day)
    shared = _trend_slope(period, unattributed, elapsed) if whole else Fraction(0)
    return [
        max(slope + shared * Fraction(part, whole or 1), Fraction(0))
        for slope, part in zip(own, unknown_day, strict=True)
    ]


def _trend_slope(period: Period, daily: Mapping[date, int], elapsed: int) -> Fraction:
    """Least-squares slope of the cumulative daily actuals over days 1..elapsed (exact). A day's amount counts
    in the cumulative of every day from its own to the last: linear in the days with spend."""
    if not daily:
        return Fraction(0)
    start = first_day(period)
    n = elapsed
    sum_x = n * (n + 1) // 2
    sum_xx = n * (n + 1) * (2 * n + 1) // 6
    sum_y = 0
    sum_xy = 0
    for day, amount in daily.items():
        x = (day - start).days + 1
        if x > n:
            continue
        sum_y += amount * (n - x + 1)  # in the cumulative of days x..n
        sum_xy += amount * (sum_x - (x - 1) * x // 2)  # x + (x + 1) + ... + n
    return Fraction(n * sum_xy - sum_x * sum_y, n * sum_xx - sum_x * sum_x)
