"""Dates and numbers as HubSpot writes and reads them."""

from __future__ import annotations

import math
from datetime import UTC, datetime


def iso(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_time(value: str) -> datetime | None:
    """An ISO 8601 time (a date alone is midnight UTC) or epoch milliseconds, as HubSpot takes dates."""
    text = value.strip()
    try:
        if text.isdigit():
            return datetime.fromtimestamp(int(text) / 1000, UTC)
        return as_utc(datetime.fromisoformat(text))
    except (ValueError, OverflowError, OSError):
        return None


def is_number(value: str) -> bool:
    try:
        return math.isfinite(float(value))
    except ValueError:
        return False
