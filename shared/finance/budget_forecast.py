"""The forecast at period end of a budget's lines and unbudgeted spend.

Forecast. `days_elapsed` counts `as_of` itself (see `periods.days_elapsed`); D is the period's days, E those
elapsed (days 1..E, `as_of` the E-th), A a bucket's actual so far (a line's, or a department's unbudgeted
spend). A splits by the day its spend is dated: P, the past (dated up to `as_of`; spend of no known day counts
here, as of `as_of`), and b_d, what is already booked for a day d after `as_of` (a service period's share of
each of its days, a line `incurred_on` a later day): A = P + the b_d summed. Spend booked ahead is actual, never
a sign of what is to come: the daily rate r is measured on the past only (P, or the past days' points), and
each of the D - E days left is counted once, at what is booked on it or at r when r is more:

    forecast = A + the sum over the days left of max(0, r - max(b_d, 0))      (A + r x (D - E) if none is booked)

A day left with nothing booked adds r; one with less than r booked is topped up to r; one with r or more booked
adds nothing (a refund booked ahead counts as nothing booked: r beside it). So a service period adds nothing to
the months it has booked beyond its share: 3,600.00 over a year books 295.89 on April's 30 days, and April is
forecast at 295.89 whatever the day, within the minor unit its day shares differ by (the units left over go to
a month's earliest days, so a rate measured on those may top each later day up by one unit: 296.10 at most,
from the 1st to the 9th; a share spread evenly, 10.00 every day, is forecast at exactly itself); and other spend
of the same line (its paid search) is still extrapolated over those days at its own pace. Not A + r x (D - E),
which counts twice the days already booked (295.89 x 30 on 1 April); nor the greater of A and P + r x (D - E),
which lets one payment booked ahead (an event on the 20th) absorb the extrapolation of every other day; nor a
booked day at its booking alone, exact for a service period but blind to the other spend of its line.
- run rate (E < `trend_min_days`): r = the past summed over the buckets / E (never below 0), each bucket's rate
  its share by its past spend (those above 0). The period's extrapolated part (the buckets' top-ups summed) is
  computed exactly, rounded half to even once to minor units, and shared among the lines and each department's
  unbudgeted spend in proportion to their exact top-ups (largest remainder: each share rounded down, the units
  left go to the largest fractions, ties to the earlier line), so a line's forecast is its own run rate (to
  within a minor unit); with nothing booked ahead the shares are in proportion to their actual so far.
- trend (E >= `trend_min_days`): each line (and each department's unbudgeted spend) is forecast from its own
  daily actuals: the least-squares slope of its cumulative daily actuals over days 1..E (a day without spend
  counts 0; days after `as_of` are not points of the fit) is its daily rate r for the days left, its top-up
  rounded half to even to minor units per line. Unlike the run rate, a one-off payment early in the period (a
  sponsorship paid on the 1st) lifts the fitted line's intercept, not its slope, so it is not extrapolated, and
  it does not lift the forecast of another line. A falling cumulative (reversals) forecasts no further spend: a
  line's slope counts as 0, never below. The daily actuals are the trend's only input: a line without any gets
  a slope of 0 (forecast = actual).
- final (the period is over, E = D): the forecast is the actual.
- budget (the period has not begun, E = 0): each line is forecast at its budget, or its actual if that is
  more already (spend booked in advance); unbudgeted spend at its actual.
Spend whose day is known but not its key (`unattributed`: a ledger's days written before they were kept per
key, or a caller that passes only the period's daily totals) belongs to the lines in proportion to their spend
of no known day (their actual less their daily actuals): the trend adds the slope of its own series to theirs in
that proportion, and its days after `as_of` are booked ahead for them in that proportion too.
The total forecast is the sum of the lines' and the unbudgeted forecasts, so the breakdown sums exactly:
lines + unbudgeted = departments = total, for every figure; the daily rate reported is the lines' rates
summed, rounded half to even.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
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
    of no known bucket (see the module's doc). Linear in buckets + days with spend (and, for spend of no known
    key dated after the last day elapsed, its days times the buckets it belongs to)."""
    daily_rate: int | None = None
    if elapsed == 0:
        method = ForecastMethod.BUDGET
        forecasts = [max(a, line.amount) for a, line in zip(line_actual, lines, strict=True)] + buckets[len(lines) :]
        return PeriodEndForecast(method, forecasts, daily_rate)
    if elapsed >= days:
        return PeriodEndForecast(ForecastMethod.FINAL, list(buckets), daily_rate)
    left = days - elapsed
    ahead = _booked_ahead(period, buckets, daily, unattributed, elapsed)
    if elapsed >= trend_min_days:
        method = ForecastMethod.TREND
        rates = _trend_rates(period, buckets, daily, unattributed, elapsed)
        daily_rate = round(sum(rates, Fraction(0)))
        forecasts = [
            a + round(_top_up(rate, booked, left)) for a, rate, booked in zip(buckets, rates, ahead, strict=True)
        ]
    else:
        method = ForecastMethod.RUN_RATE
        past = [a - sum(booked.values(), Fraction(0)) for a, booked in zip(buckets, ahead, strict=True)]
        rate = max(sum(past, Fraction(0)) / elapsed, Fraction(0))
        daily_rate = round(rate)
        weights = [max(p, Fraction(0)) for p in past]
        whole = sum(weights, Fraction(0))
        top_ups = [
            _top_up(rate * weight / whole, booked, left) if whole else Fraction(0)
            for weight, booked in zip(weights, ahead, strict=True)
        ]
        extra = round(sum(top_ups, Fraction(0)))  # half to even, once, for the whole period
        shares = allocate(extra, top_ups)
        forecasts = [a + s for a, s in zip(buckets, shares, strict=True)]
    return PeriodEndForecast(method, forecasts, daily_rate)


def _top_up(rate: Fraction, booked: Mapping[date, Fraction], left: int) -> Fraction:
    """What the `left` days after `as_of` add to the actual at `rate` a day, each counted once: a day's top-up
    is what `rate` is more than its spend `booked` (a day not in it: nothing booked; a refund: nothing), exact."""
    if rate <= 0:
        return Fraction(0)
    topped = sum((max(rate - max(amount, Fraction(0)), Fraction(0)) for amount in booked.values()), Fraction(0))
    return rate * (left - len(booked)) + topped


def _booked_ahead(
    period: Period,
    buckets: Sequence[int],
    daily: Sequence[Mapping[date, int]],
    unattributed: Mapping[date, int],
    elapsed: int,
) -> list[dict[date, Fraction]]:
    """Each bucket's spend dated after the last day elapsed, by day (those of some spend): its own daily actuals
    of those days, and its share of those of no known key, by its spend of no known day (exact)."""
    last = first_day(period) + timedelta(days=elapsed - 1)
    ahead = [{day: Fraction(amount) for day, amount in series.items() if day > last and amount} for series in daily]
    unknown_key = {day: amount for day, amount in unattributed.items() if day > last and amount}
    if not unknown_key:
        return ahead
    unknown_day = _unknown_day(buckets, daily)
    whole = sum(unknown_day)
    for booked, part in zip(ahead, unknown_day, strict=True):
        if part:
            for day, amount in unknown_key.items():
                share = booked.get(day, Fraction(0)) + Fraction(amount * part, whole)
                if share:
                    booked[day] = share
                else:
                    booked.pop(day, None)
    return ahead


def _unknown_day(buckets: Sequence[int], daily: Sequence[Mapping[date, int]]) -> list[int]:
    """Each bucket's spend of no known day: its actual less its daily actuals (0 when that is not above 0)."""
    return [max(actual - sum(series.values()), 0) for actual, series in zip(buckets, daily, strict=True)]


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
    unknown_day = _unknown_day(buckets, daily)
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
