"""Listing spend lines over a range of days that may span months: the store pages one month at a time (its
by-period index is keyed by month), so a listing walks the months in order, filling each page from as many
months as it takes. The cursor says which month the next page starts in and where in it (the store's own
cursor for that month, or none to start the month from its first line).

A service-period line counts in every month it touches, and each of those months lists it (on its first day
in the month), so a month's listing holds every line its budget actual adds up. A range lists such a line once:
in the month where it first falls in the range (the month of the later of its first day and the range's), in
that month's place for it, and not again in the range's later months."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import date

from shared.errors import InvalidInput
from shared.finance.periods import MIN_YEAR, Period, first_day, last_day, parse_period, period_of
from shared.finance.ports import FinanceStore, StoredSpend

MAX_LISTING_DAYS = 366  # a year of lines at most per listing: a wider range is a report, not a page
FIRST_DAY = date(MIN_YEAR, 1, 1)  # the periods' first day: a range may run to 9999-12-31, the calendar's last
BAD_CURSOR = "cursor is not one this listing returned; start again without it"


@dataclass(frozen=True)
class SpendRange:
    """The days listed (both inclusive) and the filters; `from`/`to` default to the month of the other one,
    or to the current month."""

    start: date
    end: date
    campaign_id: str | None = None
    channel: str | None = None

    @classmethod
    def of(
        cls,
        today: date,
        month: str | None = None,
        start: date | None = None,
        end: date | None = None,
        campaign_id: str | None = None,
        channel: str | None = None,
    ) -> SpendRange:
        for name, day in (("from", start), ("to", end)):
            if day is not None and day.year < MIN_YEAR:
                raise InvalidInput(f"{name}: {day.isoformat()} is before {FIRST_DAY.isoformat()}, the first day listed")
        if month is not None:
            period = parse_period(month)
            start = start or first_day(period)
            end = end or last_day(period)
        start = start or first_day(period_of(end or today))
        end = end or last_day(period_of(start))
        if end < start:
            raise InvalidInput(f"to ({end.isoformat()}) is before from ({start.isoformat()})")
        if (end - start).days >= MAX_LISTING_DAYS:
            raise InvalidInput(
                f"from {start.isoformat()} to {end.isoformat()} spans more than {MAX_LISTING_DAYS} days: list a "
                "year at most per call"
            )
        return cls(start, end, campaign_id, channel)

    @property
    def months(self) -> list[Period]:
        """The months the range touches, in order (counted by year and month: the month after 9999-12 has no
        first day)."""
        months, year, month = [], self.start.year, self.start.month
        while (year, month) <= (self.end.year, self.end.month):
            months.append(Period.month(year, month))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return months


@dataclass(frozen=True)
class SpendListing:
    items: list[StoredSpend]
    next_cursor: str | None


def spend_page(store: FinanceStore, spend_range: SpendRange, limit: int, cursor: str | None) -> SpendListing:
    """Up to `limit` lines of the range, month by month, each month's in (day listed on, spend_id) order (the
    day listed on: `incurred_on`, or a service period's first day in that month). A page may hold fewer lines
    than `limit` (the days outside the range, and a service period listed in an earlier month of the range,
    are skipped after reading); `next_cursor` is None once nothing follows."""
    months = [str(month) for month in spend_range.months]
    index, store_cursor = _decode(cursor, months) if cursor is not None else (0, None)
    items: list[StoredSpend] = []
    while index < len(months) and len(items) < limit:
        wanted = limit - len(items)
        page = store.lines(months[index], spend_range.campaign_id, spend_range.channel, wanted, store_cursor)
        items += [e for e in page.items if _listed_here(e, spend_range, months[index])]
        if page.next_cursor is not None:
            store_cursor = page.next_cursor
            return SpendListing(items, _encode(months[index], store_cursor))
        index, store_cursor = index + 1, None
    return SpendListing(items, _encode(months[index], None) if index < len(months) else None)


def _listed_here(entry: StoredSpend, spend_range: SpendRange, month: str) -> bool:
    """Whether the range lists the line in `month`: it counts in the range, and `month` is where it first does."""
    line = entry.line
    if not line.overlaps(spend_range.start, spend_range.end):
        return False
    return str(period_of(max(line.first_day, spend_range.start))) == month


def _encode(month: str, store_cursor: str | None) -> str:
    document = json.dumps({"m": month, "s": store_cursor}, separators=(",", ":"))
    return base64.urlsafe_b64encode(document.encode()).decode()


def _decode(cursor: str, months: list[str]) -> tuple[int, str | None]:
    try:
        document = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        month, store_cursor = document["m"], document["s"]
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeError):
        raise InvalidInput(BAD_CURSOR) from None
    if month not in months or not (store_cursor is None or isinstance(store_cursor, str)):
        raise InvalidInput("cursor belongs to a listing of other days or filters; start again without it")
    return months.index(month), store_cursor
