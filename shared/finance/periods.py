"""Budget and FX periods: a month `YYYY-MM` or a quarter `YYYY-Qn` (calendar quarters: Q1 is January to March).

    period = parse_period("2026-Q4")
    months_of(period)                 # (2026-10, 2026-11, 2026-12)
    period_of(date(2026, 11, 3))      # 2026-11
    quarter_of(parse_period("2026-11"))   # 2026-Q4
    days_elapsed(parse_period("2026-11"), date(2026, 11, 3))   # 3

Days are calendar dates (the ledger's `incurred_on`); a period covers its first to its last day, both inclusive.
`days_elapsed` counts the day `as_of` itself: on the first day of a month one day has elapsed, so a run rate
extrapolates from the day in progress rather than dividing by zero. Before the period it is 0, after it the
period's length.

Parsing is strict: four-digit years 1900 to 9999, two-digit months 01-12, quarters Q1-Q4 (upper or lower case
q); anything else is an `InvalidPeriod` naming the field and the text.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from shared.errors import InvalidInput

__all__ = [
    "InvalidPeriod",
    "Period",
    "PeriodKind",
    "contains",
    "days_elapsed",
    "days_in",
    "first_day",
    "last_day",
    "months_of",
    "parse_period",
    "period_of",
    "quarter_of",
]

MIN_YEAR = 1900
MAX_YEAR = 9999

_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
_QUARTER = re.compile(r"([0-9]{4})-[Qq]([0-9])")


class InvalidPeriod(InvalidInput):
    """Not a period: the message names the field and the text, and shows the two accepted forms."""


class PeriodKind(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"


@dataclass(frozen=True, slots=True, order=True)
class Period:
    """A calendar month (`index` 1-12) or quarter (`index` 1-4) of `year`; `str()` gives `2026-11` / `2026-Q4`.
    Ordered by (kind, year, index): months sort among months, quarters among quarters."""

    kind: PeriodKind
    year: int
    index: int

    def __post_init__(self) -> None:
        limit = 12 if self.kind is PeriodKind.MONTH else 4
        if not MIN_YEAR <= self.year <= MAX_YEAR or not 1 <= self.index <= limit:
            raise InvalidPeriod(f"period: {self.kind.value} {self.year}/{self.index} does not exist")

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        return cls(PeriodKind.MONTH, year, month)

    @classmethod
    def quarter(cls, year: int, quarter: int) -> Period:
        return cls(PeriodKind.QUARTER, year, quarter)

    @property
    def is_month(self) -> bool:
        return self.kind is PeriodKind.MONTH

    @property
    def is_quarter(self) -> bool:
        return self.kind is PeriodKind.QUARTER

    @property
    def first_day(self) -> date:
        return first_day(self)

    @property
    def last_day(self) -> date:
        return last_day(self)

    @property
    def days(self) -> int:
        return days_in(self)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.index:02d}" if self.is_month else f"{self.year:04d}-Q{self.index}"


def parse_period(text: object, *, field: str = "period") -> Period:
    """A period from `YYYY-MM` or `YYYY-Qn`; `InvalidPeriod` naming `field` and the text otherwise."""
    if not isinstance(text, str):
        raise InvalidPeriod(f'{field}: must be text, a month "2026-11" or a quarter "2026-Q4"')
    cleaned = text.strip()
    shown = cleaned if len(cleaned) <= 40 else cleaned[:40] + "..."
    month = _MONTH.fullmatch(cleaned)
    quarter = _QUARTER.fullmatch(cleaned)
    found = month or quarter
    if found is None:
        raise InvalidPeriod(f'{field}: "{shown}" is not a period: a month "2026-11" or a quarter "2026-Q4"')
    year = int(found.group(1))
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise InvalidPeriod(f'{field}: "{shown}": the year must be {MIN_YEAR} to {MAX_YEAR}')
    if month is not None:
        number = int(month.group(2))
        if not 1 <= number <= 12:
            raise InvalidPeriod(f'{field}: "{shown}": the month must be 01 to 12')
        return Period.month(year, number)
    assert quarter is not None
    number = int(quarter.group(2))
    if not 1 <= number <= 4:
        raise InvalidPeriod(f'{field}: "{shown}": the quarter must be Q1 to Q4')
    return Period.quarter(year, number)


def period_of(day: date) -> Period:
    """The month `day` falls in."""
    return Period.month(day.year, day.month)


def quarter_of(period: Period | date) -> Period:
    """The quarter a month (or a day) falls in; a quarter is its own quarter."""
    if isinstance(period, date):
        return Period.quarter(period.year, (period.month - 1) // 3 + 1)
    if period.is_quarter:
        return period
    return Period.quarter(period.year, (period.index - 1) // 3 + 1)


def months_of(period: Period) -> tuple[Period, ...]:
    """The months of a period in order: a month is its only month, a quarter has three."""
    if period.is_month:
        return (period,)
    first = (period.index - 1) * 3 + 1
    return tuple(Period.month(period.year, month) for month in range(first, first + 3))


def first_day(period: Period) -> date:
    return date(period.year, months_of(period)[0].index, 1)


def last_day(period: Period) -> date:
    last_month = months_of(period)[-1].index
    return date(period.year, last_month, calendar.monthrange(period.year, last_month)[1])


def days_in(period: Period) -> int:
    """How many days the period has: 28 to 31 for a month, 90 to 92 for a quarter."""
    return (last_day(period) - first_day(period)).days + 1


def contains(period: Period, day: date) -> bool:
    """Whether `day` falls in the period (both ends inclusive)."""
    return first_day(period) <= day <= last_day(period)


def days_elapsed(period: Period, as_of: date) -> int:
    """Days of the period up to and including `as_of`: 0 before it starts, `days_in(period)` once it is over."""
    if as_of < first_day(period):
        return 0
    if as_of > last_day(period):
        return days_in(period)
    return (as_of - first_day(period)).days + 1
