"""When a rep works: weekly hours on the wall clock of the rep's own time zone, minus out-of-office days.

A `Schedule` is built once per rep from the routing file (`Rep.schedule`); the functions here are pure.

- `is_working(schedule, at)`: `at` falls on a working weekday, on a day the rep is not out of office, inside
  that day's working window, all on the rep's local wall clock. The window runs from the first instant the
  wall clock reads `start` to the first instant it reads `end` (`wall_clock_instant`); it differs from
  "the clock reads between start and end" only on the nights clocks change: a window inside the skipped hour
  is empty, one starting in it opens when the clocks jump, and a time read twice counts at its first reading.
- `is_out_of_office(schedule, at)`: the rep's *local* date at `at` lies in an out-of-office range (inclusive).
- `add_business_minutes(schedule, start, minutes)`: the instant at which `minutes` of the rep's working time
  (the instants `is_working` holds for) have passed since `start`. Nights, non-working weekdays and
  out-of-office days do not count. Minutes are real elapsed minutes, counted on UTC instants: a window that
  spans a clock change is as long as it really is (a 00:00-24:00 window lasts 23 hours on the spring night).

Every instant returned is an aware UTC datetime; every instant taken must be aware (naive times are refused:
the hub keeps time in UTC and a naive time is a bug upstream).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index = datetime.weekday()
MINUTES_PER_DAY = 24 * 60
_CLOCK = re.compile(r"^(?:([01]\d|2[0-3]):([0-5]\d)|24:00)$")
_ONE_DAY = timedelta(days=1)
_ONE_SECOND = timedelta(seconds=1)


def clock_minutes(text: str) -> int:
    """`"09:30"` -> 570: minutes after local midnight. `"24:00"` (the end of the day) -> 1440."""
    found = _CLOCK.match(text)
    if found is None:
        raise ValueError(f"{text!r} is not a time of day as HH:MM (00:00 to 24:00)")
    if found.group(1) is None:
        return MINUTES_PER_DAY
    return int(found.group(1)) * 60 + int(found.group(2))


@dataclass(frozen=True, slots=True)
class Schedule:
    """A rep's working time. `start_minute` / `end_minute`: minutes after local midnight, the end exclusive
    (`end_minute` may be 1440: until midnight). `out_of_office`: inclusive (first, last) local dates, sorted."""

    zone: ZoneInfo
    weekdays: frozenset[int]  # 0 = Monday, as datetime.weekday()
    start_minute: int
    end_minute: int
    out_of_office: tuple[tuple[date, date], ...] = ()

    def __post_init__(self) -> None:
        # the business-time walk below terminates only if some day has some working time
        if not self.weekdays or not self.weekdays <= frozenset(range(7)):
            raise ValueError("a schedule needs at least one working weekday (0 = Monday .. 6 = Sunday)")
        if not 0 <= self.start_minute < self.end_minute <= MINUTES_PER_DAY:
            raise ValueError("a schedule's start must be before its end, both within the day")
        for first, last in self.out_of_office:
            if first > last:
                raise ValueError(f"out of office from {first} to {last}: the first day is after the last")

    def out_of_office_until(self, day: date) -> date | None:
        """The last day of the out-of-office range that holds `day`, or None when the rep is in that day."""
        for first, last in self.out_of_office:
            if first <= day <= last:
                # ranges may overlap or touch: follow them to the end of the whole absence
                return self._absence_end(last)
        return None

    def _absence_end(self, last: date) -> date:
        extended = True
        while extended:
            extended = False
            for first, other_last in self.out_of_office:
                if first <= last + _ONE_DAY and other_last > last:
                    last, extended = other_last, True
        return last

    def window(self, day: date) -> tuple[datetime, datetime]:
        """The working window of local date `day` as UTC instants (whether or not `day` is a working day)."""
        return wall_clock_instant(self.zone, day, self.start_minute), wall_clock_instant(
            self.zone, day, self.end_minute
        )


@lru_cache(maxsize=8192)  # a few reps' time zones x days around now: routing asks for the same ones all day
def wall_clock_instant(zone: ZoneInfo, day: date, minute: int) -> datetime:
    """The first UTC instant at which the wall clock of `zone` reads `minute` past midnight of `day`, or later.

    Usually the instant it reads exactly that. A time the clocks skip (02:30 on the night they spring forward)
    never reads: the first instant reading later is the one the clocks jump at. A time read twice (02:30 on
    the night they fall back) counts at its first reading."""
    wall = datetime.combine(day, time(0)) + timedelta(minutes=minute)
    instant = wall.replace(tzinfo=zone).astimezone(UTC)  # fold=0: the first reading of a time read twice
    if instant.astimezone(zone).replace(tzinfo=None) == wall:
        return instant
    # a skipped time: fold=0 reads it with the offset before the jump, which lands after the jump; fold=1
    # reads it with the offset after, which lands before. Between them, find the jump to the second.
    before = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    after = instant
    while after - before > _ONE_SECOND:
        middle = before + (after - before) // 2
        middle -= timedelta(microseconds=middle.microsecond)
        if middle.astimezone(zone).replace(tzinfo=None) >= wall:
            after = middle
        else:
            before = middle
    return after


def _aware(at: datetime, what: str) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware (UTC), got naive {at.isoformat()}")
    return at


def local_date(schedule: Schedule, at: datetime) -> date:
    """The rep's calendar date at instant `at`."""
    return _aware(at, "at").astimezone(schedule.zone).date()


def is_out_of_office(schedule: Schedule, at: datetime) -> bool:
    if not schedule.out_of_office:
        return False
    return schedule.out_of_office_until(local_date(schedule, at)) is not None


def is_working(schedule: Schedule, at: datetime) -> bool:
    local = _aware(at, "at").astimezone(schedule.zone)
    day = local.date()
    if day.weekday() not in schedule.weekdays:
        return False
    if schedule.out_of_office and schedule.out_of_office_until(day) is not None:
        return False
    # the window, not the wall-clock reading of `at`: they differ only on the nights clocks change, and the
    # window is what business time is counted in
    opens, closes = schedule.window(day)
    return opens <= at < closes


def add_business_minutes(schedule: Schedule, start: datetime, minutes: int) -> datetime:
    """The UTC instant at which `minutes` of the rep's working time have passed since `start`.

    Started outside working time, the count begins when the rep next starts work; `minutes == 0` gives that
    instant (or `start` itself during working time). A count that ends exactly at the close of a working day
    gives that close (09:00 + 510 minutes of a 09:00-17:30 day is 17:30 the same day)."""
    if minutes < 0:
        raise ValueError(f"minutes must be >= 0, got {minutes}")
    cursor = _aware(start, "start").astimezone(UTC)
    remaining = timedelta(minutes=minutes)
    # a window ends at or before the next local midnight, so none before the start's local date can hold it
    day = cursor.astimezone(schedule.zone).date()
    while True:
        if day.weekday() in schedule.weekdays:
            absent_until = schedule.out_of_office_until(day) if schedule.out_of_office else None
            if absent_until is not None:
                day = absent_until + _ONE_DAY
                continue
            opens, closes = schedule.window(day)
            begin = max(opens, cursor)
            if begin < closes:
                available = closes - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
        day += _ONE_DAY


def next_working_instant(schedule: Schedule, at: datetime) -> datetime:
    """`at` itself when the rep is working then, else the start of the rep's next working window (UTC)."""
    return add_business_minutes(schedule, at, 0)
