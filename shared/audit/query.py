"""Searching the trail: by actor, target, route or request id, within a time range, newest first, in pages.

A search is served by one key: the request id's records, else the target's, the actor's or the route's index,
else the months of the range (`Key`); the other filters are applied to what that key yields. A page's position is
the sort value of the last record it read (`position_of`), exclusive: the next page starts below it, whichever
key serves it, so a cursor stays valid while records are appended."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from shared.audit.privacy import kept
from shared.audit.record import AuditRecord
from shared.audit.targets import searched_ids
from shared.errors import InvalidInput

MAX_LIMIT = 200
_POSITION = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z(#[^#]{1,200}#[a-z]{1,20})?$")
BAD_CURSOR = "cursor: not one this API returned; start again without it"


class InvalidAuditQuery(InvalidInput):
    pass


class Key(StrEnum):
    """What serves a search, most selective first."""

    REQUEST = "request_id"
    TARGET = "target"
    ACTOR = "actor"
    ROUTE = "route"
    TIME = "time"


def sortable(at: datetime) -> str:
    """A UTC instant as fixed-width text: sorting the text sorts the instants."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def position_of(record: AuditRecord) -> str:
    """Where a record sorts: its instant, then its request and phase (unique: a request's phases differ)."""
    return f"{sortable(record.at)}#{record.request_id}#{record.phase.value}"


@dataclass(frozen=True)
class AuditQuery:
    """`start` inclusive, `end` exclusive; `before` a position from a previous page (exclusive). `target` is
    searched as the trail keeps ids (`target_ids`: as `target_id` makes it, and, for a value holding an `@`, its
    whole digest, current and legacy), and `actor` as the trail keeps actors (`kept`: an operator's
    ARN naming an email holds the email's digest): an email is searched by its digest."""

    start: datetime
    end: datetime
    actor: str | None = None
    target: str | None = None
    route: str | None = None
    request_id: str | None = None
    limit: int = 50
    before: str | None = None
    _target_ids: tuple[str, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.actor is not None:
            object.__setattr__(self, "actor", kept(self.actor))
        if self.target is not None:
            ids = searched_ids(self.target)
            if not ids:
                raise InvalidAuditQuery("target: give an id")
            object.__setattr__(self, "target", ids[0])
            object.__setattr__(self, "_target_ids", ids)
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise InvalidAuditQuery("from, to: give a time zone offset (2026-05-14T09:00:00Z)")
        if self.start >= self.end:
            raise InvalidAuditQuery("from: must be before to")
        if not 1 <= self.limit <= MAX_LIMIT:
            raise InvalidAuditQuery(f"limit: 1 to {MAX_LIMIT}")
        if self.before is not None and not _is_position(self.before):
            raise InvalidAuditQuery(BAD_CURSOR)

    @property
    def target_ids(self) -> tuple[str, ...]:
        """The ids the searched target may be stored as, the current form first (none: no target searched)."""
        return self._target_ids

    @property
    def key(self) -> Key:
        for key, value in (
            (Key.REQUEST, self.request_id),
            (Key.TARGET, self.target),
            (Key.ACTOR, self.actor),
            (Key.ROUTE, self.route),
        ):
            if value is not None:
                return key
        return Key.TIME

    @property
    def lowest(self) -> str:
        """The lowest position in range (inclusive)."""
        return sortable(self.start)

    @property
    def highest(self) -> str:
        """Positions in range sort below this (exclusive): the end, or the cursor when it is lower."""
        end = sortable(self.end)
        return min(end, self.before) if self.before else end

    @property
    def empty(self) -> bool:
        """Whether nothing can be in range: a cursor at or below `start` (a next cursor reused after the range
        was narrowed). A store answers an empty page without reading (DynamoDB refuses a BETWEEN whose upper
        bound is below its lower)."""
        return self.highest <= self.lowest

    def matches(self, record: AuditRecord, position: str, target: str | None) -> bool:
        """Whether a record read through any key belongs in the answer (`target`: the one it was read under)."""
        return (
            self.lowest <= position < self.highest
            and (self.actor is None or record.actor == self.actor)
            and (self.route is None or record.route == self.route)
            and (self.request_id is None or record.request_id == self.request_id)
            and (self.target is None or target in self.target_ids)
        )


def found_under(query: AuditQuery, record: AuditRecord) -> list[str | None]:
    """The target a record answers a search under: the searched one when the record names it (none when it does
    not), else the record's first."""
    if query.target is None:
        return [record.target]
    named = {t.id for t in record.targets}
    return [next(i for i in query.target_ids if i in named)] if any(i in named for i in query.target_ids) else []


def months_of(query: AuditQuery) -> list[str]:
    """The UTC months (`YYYY-MM`) a time search reads, newest first: from its highest position's down to its
    lowest's."""
    year, month = int(query.highest[:4]), int(query.highest[5:7])
    lowest = query.lowest[:7]
    months = []
    while (current := f"{year:04d}-{month:02d}") >= lowest:
        months.append(current)
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months


def encode_cursor(position: str | None) -> str | None:
    return base64.urlsafe_b64encode(position.encode()).decode() if position else None


def decode_cursor(cursor: str | None) -> str | None:
    if not cursor:
        return None
    try:
        position = base64.urlsafe_b64decode(cursor.encode("ascii")).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeError):
        raise InvalidAuditQuery(BAD_CURSOR) from None
    if not _is_position(position):
        raise InvalidAuditQuery(BAD_CURSOR)
    return position


def _is_position(text: str) -> bool:
    """Whether `text` is a position this API hands out: its shape, and a real instant (no month 13)."""
    if not _POSITION.match(text):
        return False
    try:
        datetime.strptime(text[:27], "%Y-%m-%dT%H:%M:%S.%fZ")
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class AuditPage:
    """`records` newest first, each with the target it was found under (the searched one, else its first);
    `next_position` None when nothing more is in range. A page may hold fewer than `limit` records (a filtered
    search reads a bounded amount per page)."""

    records: list[tuple[AuditRecord, str | None]]
    next_position: str | None


EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)  # nothing is older; keeps every bound four-digit-year text
LATEST_AHEAD = timedelta(days=1)  # a `to` further in the future reads no more


def search_window(
    start: datetime | None, end: datetime | None, now: datetime, retention: timedelta
) -> tuple[datetime, datetime]:
    """The range a search reads: `from` (default: the retention period before `to`) up to `to` (default: now),
    held within what the trail can hold. Refuses a bound without a time zone, or `from` not before `to`."""
    for name, bound in (("from", start), ("to", end)):
        if bound is not None and bound.utcoffset() is None:
            raise InvalidAuditQuery(f"{name}: give a time zone offset (2026-05-14T09:00:00Z)")
    if start is not None and end is not None and start >= end:
        raise InvalidAuditQuery("from: must be before to")
    latest = now + LATEST_AHEAD
    high = min(max(end, EARLIEST), latest) if end is not None else now
    if start is not None:
        low = min(max(start, EARLIEST), latest)
    else:
        low = max(high - retention, EARLIEST) if high - EARLIEST > retention else EARLIEST
    return low, max(high, low + timedelta(microseconds=1))
