"""Service periods: spend consumed over days rather than on one (an annual tool subscription, a quarter's agency
retainer paid once), and how an amount is spread over them so budgets see it where it was consumed.

    span = ServicePeriod(date(2026, 3, 1), date(2027, 2, 28))
    span.months                                  # (2026-03, ..., 2027-02): the months it touches, in order
    month_shares(120_000_00, span)               # {2026-03: 1_019_178, 2026-04: 986_302, ...}: sums to the amount
    spread(120_000_00, span)                     # per month, per day of it: what the month aggregates' days get

Spreading. An amount of integer minor units (of either sign) is shared among the months the period touches in
proportion to the number of its days each holds, by largest remainder (`shared.allocation.allocate`: each
month's share is its exact share rounded down or up, the units left over going to the largest remainders, the
earlier month on a tie), so the month shares sum to the amount exactly. Each month's share is then shared
among its days of the period the same way (equal weights: the units left over go to its earliest days), so
the day shares sum to the month's share. Deterministic: the same amount and period always give the same
shares. A negative amount (a reversal) is spread as its magnitude, negated, so a reversal's shares are its
original's negated, day by day. A one-day period puts the whole amount on its day: a line `incurred_on` a day
is spread as the period of that one day.

Length. A period runs from `from` to `to`, both inclusive, `to` not before `from`, and lasts at most
`MAX_SERVICE_MONTHS` (36) months: `to` is before the same date 36 months after `from` (1 March for a period
starting on 29 February; any day of the calendar, to 9999-12-31, for a period starting in 9997 or later, whose
limit is past it). So a period touches at most 37 months (36 when it starts on a month's first day),
which bounds the items one line writes (see `shared/finance/ports.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from shared.allocation import allocate
from shared.finance.periods import Period, first_day, last_day, period_of

__all__ = [
    "MAX_SERVICE_MONTHS",
    "ServicePeriod",
    "latest_end",
    "month_shares",
    "spread",
    "too_long",
]

MAX_SERVICE_MONTHS = 36


@dataclass(frozen=True, slots=True, order=True)
class ServicePeriod:
    """The days `start` to `end`, both inclusive (`from` and `to` in the contract)."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"service period: to ({self.end.isoformat()}) is before from ({self.start.isoformat()})")

    @classmethod
    def day(cls, day: date) -> ServicePeriod:
        """The period of one day: how a line `incurred_on` that day is spread."""
        return cls(day, day)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def months(self) -> tuple[Period, ...]:
        """The months the period touches, in order."""
        months, year, month = [], self.start.year, self.start.month
        while (year, month) <= (self.end.year, self.end.month):  # no day after the last: 9999-12 is a month too
            months.append(Period.month(year, month))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return tuple(months)

    def days_in(self, month: Period) -> tuple[date, date]:
        """The period's first and last day within `month` (a month it touches)."""
        return max(self.start, first_day(month)), min(self.end, last_day(month))

    def record(self) -> dict[str, str]:
        """The contract's form: `{"from": "2026-03-01", "to": "2027-02-28"}`."""
        return {"from": self.start.isoformat(), "to": self.end.isoformat()}

    def __str__(self) -> str:
        return f"{self.start.isoformat()} to {self.end.isoformat()}"


def latest_end(start: date) -> date:
    """The last day a period from `start` may run to: the day before the same date `MAX_SERVICE_MONTHS` on, or
    `date.max` (9999-12-31) when that date is past the calendar (a period starting in 9997 or later)."""
    months = start.month - 1 + MAX_SERVICE_MONTHS
    year, month = start.year + months // 12, months % 12 + 1
    if year > date.max.year:  # the limit is 10000-01-01 or later: every day of the calendar is within it
        return date.max
    try:
        limit = date(year, month, start.day)
    except ValueError:  # 29 February, in a year that has none: the limit is 1 March
        limit = last_day(Period.month(year, month)) + timedelta(days=1)
    return limit - timedelta(days=1)


def too_long(span: ServicePeriod) -> str | None:
    """Why the period is too long (a message naming the last day it may run to), or None."""
    latest = latest_end(span.start)
    if span.end <= latest:
        return None
    return (
        f"from {span.start.isoformat()} to {span.end.isoformat()} is longer than {MAX_SERVICE_MONTHS} months: "
        f"it may run to {latest.isoformat()} at the latest (record a longer commitment as several lines)"
    )


def month_shares(minor: int, span: ServicePeriod) -> dict[Period, int]:
    """`minor` shared among the months of `span` by their days in it (see the module's doc); sums to `minor`."""
    months = span.months
    if len(months) == 1:
        return {months[0]: minor}
    weights = [(end - start).days + 1 for start, end in (span.days_in(month) for month in months)]
    shares = allocate(abs(minor), weights)
    sign = -1 if minor < 0 else 1
    return {month: sign * share for month, share in zip(months, shares, strict=True)}


def spread(minor: int, span: ServicePeriod) -> dict[Period, dict[date, int]]:
    """`minor` per month of `span` (`month_shares`), and each month's share per day of the period in it, in day
    order: every day of the period has an entry (0 when its share is), the days sum to their month's share."""
    if span.start == span.end:
        return {period_of(span.start): {span.start: minor}}
    sign = -1 if minor < 0 else 1
    spread_out: dict[Period, dict[date, int]] = {}
    for month, share in month_shares(minor, span).items():
        start, end = span.days_in(month)
        days = [start + timedelta(days=offset) for offset in range((end - start).days + 1)]
        day_shares = allocate(abs(share), [1] * len(days))
        spread_out[month] = {day: sign * amount for day, amount in zip(days, day_shares, strict=True)}
    return spread_out
