"""Service periods: an amount spread over the days of a period, each month counting the share of its days,
exactly (integer minor units, largest remainder), deterministic, a reversal's shares its original's negated, a
one-day period the same as a line incurred on that day; and how long a period may be."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.finance.periods import Period
from shared.finance.service_periods import (
    MAX_SERVICE_MONTHS,
    ServicePeriod,
    latest_end,
    month_shares,
    spread,
    too_long,
)

SETTINGS = settings(max_examples=300, deadline=None, database=None)


@st.composite
def spans(draw: st.DrawFn) -> ServicePeriod:
    start = draw(st.dates(date(1999, 1, 1), date(2100, 12, 31)))
    end = draw(st.dates(start, latest_end(start)))
    return ServicePeriod(start, end)


amounts = st.integers(-(10**17), 10**17)


def _month(text: str) -> Period:
    year, month = text.split("-")
    return Period.month(int(year), int(month))


# ---------------------------------------------------------------------------------------------- properties


@SETTINGS
@given(spans(), amounts)
def test_the_month_shares_sum_exactly_to_the_amount_each_its_exact_share_rounded(
    span: ServicePeriod, minor: int
) -> None:
    # Given any period of at most 36 months and any amount, When it is shared among the months
    shares = month_shares(minor, span)
    # Then the months are those the period touches, in order, and the shares sum to the amount exactly
    assert list(shares) == list(span.months)
    assert sum(shares.values()) == minor
    # And each month's share is its exact share of the days, rounded down or up
    for month, share in shares.items():
        first, last = span.days_in(month)
        exact = Fraction(minor * ((last - first).days + 1), span.days)
        assert abs(share - exact) < 1


@SETTINGS
@given(spans(), amounts)
def test_the_day_shares_sum_to_their_months_share_and_cover_every_day(span: ServicePeriod, minor: int) -> None:
    by_month = spread(minor, span)
    shares = month_shares(minor, span)
    days = [day for month_days in by_month.values() for day in month_days]
    # every day of the period once, in order, each in its month
    assert days == [span.start + timedelta(days=n) for n in range(span.days)]
    for month, month_days in by_month.items():
        assert all(Period.month(day.year, day.month) == month for day in month_days)
        assert sum(month_days.values()) == shares[month]
        # each day within one minor unit of the month's share per day
        per_day = Fraction(shares[month], len(month_days))
        assert all(abs(amount - per_day) < 1 for amount in month_days.values())
    assert sum(sum(month_days.values()) for month_days in by_month.values()) == minor


@SETTINGS
@given(spans(), amounts)
def test_a_reversal_is_spread_as_its_original_negated_and_the_spread_is_deterministic(
    span: ServicePeriod, minor: int
) -> None:
    original, reversal = spread(minor, span), spread(-minor, span)
    assert reversal == {month: {day: -amount for day, amount in days.items()} for month, days in original.items()}
    assert spread(minor, span) == original


@SETTINGS
@given(st.dates(date(1999, 1, 1), date(2100, 12, 31)), amounts)
def test_a_one_day_period_puts_the_whole_amount_on_its_day(day: date, minor: int) -> None:
    assert spread(minor, ServicePeriod.day(day)) == {Period.month(day.year, day.month): {day: minor}}
    assert spread(minor, ServicePeriod(day, day)) == spread(minor, ServicePeriod.day(day))


# ------------------------------------------------------------------------------------------------ examples


def test_an_annual_subscription_is_shared_by_the_days_of_each_month() -> None:
    # Given 12,000.00 for 1 March 2026 to 28 February 2027 (365 days)
    shares = month_shares(1_200_000, ServicePeriod(date(2026, 3, 1), date(2027, 2, 28)))
    # Then a month of 31 days counts 31/365 of it (1,019.178...), one of 30 days 30/365 (986.301...), February
    # 28/365 (920.547...): rounded down, the 7 cents left over go to the largest remainders, the 31-day months'
    assert shares[_month("2026-03")] == 101_918
    assert shares[_month("2026-04")] == 98_630
    assert shares[_month("2027-02")] == 92_054
    assert sum(shares.values()) == 1_200_000


def test_a_period_across_a_month_boundary_shares_by_days_and_the_leftover_goes_to_the_earliest_day() -> None:
    # Given 1.00 over 30 October to 2 November: 2 days in October, 2 in November
    by_month = spread(100, ServicePeriod(date(2026, 10, 30), date(2026, 11, 2)))
    assert by_month == {
        _month("2026-10"): {date(2026, 10, 30): 25, date(2026, 10, 31): 25},
        _month("2026-11"): {date(2026, 11, 1): 25, date(2026, 11, 2): 25},
    }
    # And 0.03 over three days of one month: a cent each; 0.05: the two units left go to the first two days
    assert spread(3, ServicePeriod(date(2026, 11, 1), date(2026, 11, 3)))[_month("2026-11")] == {
        date(2026, 11, 1): 1,
        date(2026, 11, 2): 1,
        date(2026, 11, 3): 1,
    }
    assert list(spread(5, ServicePeriod(date(2026, 11, 1), date(2026, 11, 3)))[_month("2026-11")].values()) == [2, 2, 1]


def test_a_tie_between_months_goes_to_the_earlier_month() -> None:
    # 0.01 over two days in two months: the earlier month takes it
    assert month_shares(1, ServicePeriod(date(2026, 10, 31), date(2026, 11, 1))) == {
        _month("2026-10"): 1,
        _month("2026-11"): 0,
    }
    assert month_shares(-1, ServicePeriod(date(2026, 10, 31), date(2026, 11, 1))) == {
        _month("2026-10"): -1,
        _month("2026-11"): 0,
    }


@pytest.mark.parametrize(
    ("start", "end", "february_days"),
    [
        (date(2028, 2, 1), date(2028, 3, 31), 29),  # a leap year's February
        (date(2027, 2, 1), date(2027, 3, 31), 28),
        (date(2100, 2, 1), date(2100, 3, 31), 28),  # a century that is no leap year
        (date(2000, 2, 1), date(2000, 3, 31), 29),
    ],
)
def test_february_counts_its_days_in_leap_years_and_others(start: date, end: date, february_days: int) -> None:
    total = (february_days + 31) * 100
    shares = month_shares(total, ServicePeriod(start, end))
    assert list(shares.values()) == [february_days * 100, 31 * 100]
    assert len(spread(total, ServicePeriod(start, end))[Period.month(start.year, 2)]) == february_days


# -------------------------------------------------------------------------------------------------- length


@pytest.mark.parametrize(
    ("start", "latest"),
    [
        (date(2026, 1, 1), date(2028, 12, 31)),  # 36 months from a first day: 36 months touched
        (date(2026, 1, 15), date(2029, 1, 14)),  # from the 15th: 37 months touched
        (date(2028, 2, 29), date(2031, 2, 28)),  # 29 February three years on does not exist: the day before 1 March
        (date(2026, 12, 31), date(2029, 12, 30)),
    ],
)
def test_a_period_lasts_at_most_36_months(start: date, latest: date) -> None:
    assert latest_end(start) == latest
    assert too_long(ServicePeriod(start, latest)) is None
    said = too_long(ServicePeriod(start, latest + timedelta(days=1)))
    assert said is not None
    assert f"longer than {MAX_SERVICE_MONTHS} months: it may run to {latest.isoformat()} at the latest" in said
    assert len(ServicePeriod(start, latest).months) <= MAX_SERVICE_MONTHS + 1


@pytest.mark.parametrize(
    ("start", "latest"),
    [
        (date(9996, 12, 31), date(9999, 12, 30)),  # the last start whose limit is still in the calendar
        (date(9997, 1, 1), date.max),  # its limit would be 10000-01-01: every day of the calendar is within it
        (date(9998, 6, 15), date.max),
        (date(9999, 12, 31), date.max),
    ],
)
def test_a_period_starting_near_the_end_of_the_calendar_may_run_to_its_last_day(start: date, latest: date) -> None:
    # Then its limit is the calendar's last day at the latest, not a month of the year 10000
    assert latest_end(start) == latest
    assert too_long(ServicePeriod(start, latest)) is None
    # And the months it touches, December 9999 the last, share its amount exactly
    span = ServicePeriod(start, latest)
    assert span.months[-1] == Period.month(latest.year, latest.month)
    assert len(span.months) == (latest.year - start.year) * 12 + latest.month - start.month + 1
    assert sum(month_shares(123_456_789, span).values()) == 123_456_789
    assert sum(sum(days.values()) for days in spread(-5_000, span).values()) == -5_000


@SETTINGS
@given(st.dates(date(9990, 1, 1), date.max))
def test_the_limit_of_any_start_is_a_day_of_the_calendar(start: date) -> None:
    latest = latest_end(start)
    assert start <= latest <= date.max
    assert too_long(ServicePeriod(start, latest)) is None
    assert len(ServicePeriod(start, latest).months) <= MAX_SERVICE_MONTHS + 1


def test_a_period_ends_no_earlier_than_it_starts() -> None:
    with pytest.raises(ValueError, match=r"to \(2026-11-01\) is before from \(2026-11-02\)"):
        ServicePeriod(date(2026, 11, 2), date(2026, 11, 1))
    assert ServicePeriod(date(2026, 11, 2), date(2026, 11, 2)).days == 1
