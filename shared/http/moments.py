"""Moments and calendar days in API requests (bodies and query parameters): ISO 8601 text only, within a range of
years. Pydantic's lax parsing would read a JSON number as Unix seconds or milliseconds (1700000000000 and
"20261129" both became times in 1970 or 2023), a bool as a time, and year 1 as a day; each is now a 422 naming
the field and the limit.

- `Moment`: a date-time with its offset or Z (`2026-11-29T09:00:00Z`); without one it is refused.
- `UtcMoment`: the same, where a date-time without an offset is read as UTC (the handoff API's documented rule).
- `Day`: a calendar day `YYYY-MM-DD`.

Each accepts the years FIRST_YEAR..LAST_YEAR (the wall time's own year, as written); a domain with other bounds
says so in its annotation: `Annotated[date, IsoDay(first_year=1900, last_year=9999)]`. Bounds a model checks
beyond these (not ahead of now, not older than a window) stay its own."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import PydanticCustomError, core_schema

FIRST_YEAR = 1970
LAST_YEAR = 2199  # working-time and metrics arithmetic step past a moment: keep each well inside datetime's

MOMENT_EXAMPLE = "2026-11-29T09:00:00Z"
DAY_EXAMPLE = "2026-11-29"
NOT_A_MOMENT = f"must be an ISO 8601 date-time string, e.g. {MOMENT_EXAMPLE}"
NOT_A_DAY = f"must be an ISO 8601 date string YYYY-MM-DD, e.g. {DAY_EXAMPLE}"
NO_OFFSET = f"must give its UTC offset or Z, e.g. {MOMENT_EXAMPLE}"

_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?([Zz]|[+-]\d{2}:?\d{2})?", re.ASCII)
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def _out_of_range(first_year: int, last_year: int) -> PydanticCustomError:
    return PydanticCustomError(
        "year_out_of_range",
        "must fall between {first}-01-01 and {last}-12-31",
        {"first": f"{first_year:04d}", "last": f"{last_year:04d}"},
    )


@dataclass(frozen=True)
class IsoMoment:
    """Pydantic metadata for a `datetime`: ISO 8601 date-time text within `first_year`..`last_year`.
    `naive_is_utc`: a date-time without an offset is read as UTC (otherwise it is refused)."""

    first_year: int = FIRST_YEAR
    last_year: int = LAST_YEAR
    naive_is_utc: bool = False

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        # the datetime schema after it keeps the OpenAPI document's `string`, `date-time`
        return core_schema.no_info_before_validator_function(self.parse, handler(source))

    def parse(self, value: object) -> datetime:
        if isinstance(value, datetime):  # built in Python, never from JSON or a query string
            moment = value
        elif isinstance(value, str) and _MOMENT.fullmatch(value):
            try:
                moment = datetime.fromisoformat(value.upper())
            except ValueError:
                raise PydanticCustomError("iso_datetime", NOT_A_MOMENT) from None
        else:  # a JSON number (Unix seconds or milliseconds?), a bool, a date alone, any other text
            raise PydanticCustomError("iso_datetime", NOT_A_MOMENT)
        if moment.utcoffset() is None:
            if not self.naive_is_utc:
                raise PydanticCustomError("iso_datetime_offset", NO_OFFSET)
            moment = moment.replace(tzinfo=UTC)
        if not self.first_year <= moment.year <= self.last_year:
            raise _out_of_range(self.first_year, self.last_year)
        return moment


@dataclass(frozen=True)
class IsoDay:
    """Pydantic metadata for a `date`: an ISO 8601 calendar day `YYYY-MM-DD` within `first_year`..`last_year`."""

    first_year: int = FIRST_YEAR
    last_year: int = LAST_YEAR

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_before_validator_function(self.parse, handler(source))

    def parse(self, value: object) -> date:
        if isinstance(value, date) and not isinstance(value, datetime):  # built in Python
            day = value
        elif isinstance(value, str) and _DAY.fullmatch(value):
            try:
                day = date.fromisoformat(value)
            except ValueError:
                raise PydanticCustomError("iso_date", NOT_A_DAY) from None
        else:
            raise PydanticCustomError("iso_date", NOT_A_DAY)
        if not self.first_year <= day.year <= self.last_year:
            raise _out_of_range(self.first_year, self.last_year)
        return day


Moment = Annotated[datetime, IsoMoment()]
UtcMoment = Annotated[datetime, IsoMoment(naive_is_utc=True)]
Day = Annotated[date, IsoDay()]
