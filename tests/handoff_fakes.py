"""The handoff repository contract in memory (`shared.handoffs.ports.HandoffRepository`), as the DynamoDB
adapter keeps it: a change commits all or nothing under the handoff's version, the lead's lock and each rep's
load version and capacity; a conflict names what failed and writes nothing. Safe to share between threads.

What the adapter does and the port leaves open, this does too: a `RELEASE` of a lead held by another handoff
(or by none) leaves the lock alone; listings are newest first by (requested_at, handoff id), or oldest first
when asked; datetimes come back in UTC and details as DynamoDB keeps them (tuples as lists, numbers as int
when whole, else Decimal).
It does not measure DynamoDB's 400 KB item limit.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from shared.errors import InvalidInput
from shared.handoffs.model import Handoff, HandoffStatus, Priority, RepLoad
from shared.handoffs.ports import HandoffChange, HandoffConflict, HandoffPage, LeadLock, Timer

BAD_CURSOR = "cursor is not one this API returned for this query; start again without it"


class InMemoryHandoffRepository:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.stored: dict[str, Handoff] = {}
        self.locks: dict[str, str] = {}  # lead id -> the open handoff holding it
        self.onboardings: dict[str, str] = {}  # subject -> the handoff that last onboarded it
        self.loads: dict[str, RepLoad] = {}
        self.commits = 0  # committed changes, for tests that count

    # ---------------------------------------------------------------------------------------------- reads

    def handoff(self, handoff_id: str) -> Handoff | None:
        with self._lock:
            found = self.stored.get(handoff_id)
            return copy.deepcopy(found)

    def open_handoff_of(self, lead_id: str) -> str | None:
        with self._lock:
            return self.locks.get(lead_id)

    def onboarded_by(self, subject: str) -> str | None:
        with self._lock:
            return self.onboardings.get(subject)

    def rep_loads(self) -> dict[str, RepLoad]:
        with self._lock:
            return dict(self.loads)

    # --------------------------------------------------------------------------------------------- writes

    def commit(self, change: HandoffChange) -> None:
        handoff = change.handoff
        if handoff.version < 1:
            raise ValueError(f"handoff {handoff.handoff_id}: a stored handoff's version is 1 or more")
        rep_ids = [delta.rep_id for delta in change.reps]
        if len(set(rep_ids)) != len(rep_ids):
            raise ValueError("a change holds at most one delta per rep")
        _aware(handoff.requested_at, handoff.assigned_at, handoff.accepted_at, handoff.sla_due_at)
        _aware(handoff.first_touch_due_at, handoff.first_touch.at if handoff.first_touch else None)
        _aware(*(entry.at for entry in handoff.history))
        kept = _in_utc(replace(copy.deepcopy(handoff), details=_as_stored(handoff.details, "details")))
        with self._lock:
            problems = self._refusals(change)
            if problems:
                raise HandoffConflict("; ".join(problems))
            self.stored[handoff.handoff_id] = kept
            if change.lead_lock is LeadLock.CLAIM:
                self.locks[handoff.lead_id] = handoff.handoff_id
            elif change.lead_lock is LeadLock.RELEASE and self.locks.get(handoff.lead_id) == handoff.handoff_id:
                del self.locks[handoff.lead_id]
            if change.onboarded:
                self.onboardings[handoff.lead_id] = handoff.handoff_id
            for delta in change.reps:
                load = self.loads.get(delta.rep_id, RepLoad(delta.rep_id))
                self.loads[delta.rep_id] = replace(
                    load,
                    open_handoffs=load.open_handoffs + delta.open_delta,
                    assignments=load.assignments + delta.assignment_delta,
                    rotation=load.rotation if delta.rotation is None else delta.rotation,
                    version=load.version + 1,
                )
            self.commits += 1

    def _refusals(self, change: HandoffChange) -> list[str]:
        handoff, problems = change.handoff, []
        held = self.stored.get(handoff.handoff_id)
        expected = handoff.version - 1
        if (held.version if held else 0) != expected:
            what = f"handoff {handoff.handoff_id}"
            if held is None:
                problems.append(f"{what} does not exist (it was read at version {expected})")
            elif expected == 0:
                problems.append(f"{what} exists already (version {held.version})")
            else:
                problems.append(f"{what} is at version {held.version}, not {expected} as read")
        holder = self.locks.get(handoff.lead_id)
        if change.lead_lock is LeadLock.CLAIM and holder not in (None, handoff.handoff_id):
            problems.append(f"lead {handoff.lead_id} is held by open handoff {holder}")
        for delta in change.reps:
            load = self.loads.get(delta.rep_id, RepLoad(delta.rep_id))
            if load.version != delta.expected_version:
                problems.append(
                    f"rep {delta.rep_id}'s load is at version {load.version}, not {delta.expected_version} as read"
                )
            elif delta.capacity is not None and load.open_handoffs + delta.open_delta > delta.capacity:
                problems.append(
                    f"rep {delta.rep_id} is at capacity: {load.open_handoffs} open handoffs "
                    f"{delta.open_delta:+d} would pass {delta.capacity}"
                )
        return problems

    def set_rep_overrides(
        self, rep_id: str, available: bool | None, capacity: int | None, overrides_version: str
    ) -> RepLoad:
        if capacity is not None and capacity < 0:
            raise InvalidInput("capacity must be 0 or more")
        with self._lock:
            load = self.loads.get(rep_id, RepLoad(rep_id))
            self.loads[rep_id] = load = replace(
                load,
                available=available,
                capacity=capacity,
                overrides_version=overrides_version,
                version=load.version + 1,
            )
            return load

    # ------------------------------------------------------------------------------------------- listings

    def handoffs(
        self,
        status: HandoffStatus | None = None,
        rep_id: str | None = None,
        priority: Priority | None = None,
        limit: int = 50,
        cursor: str | None = None,
        oldest_first: bool = False,
    ) -> HandoffPage:
        if limit < 1:
            raise InvalidInput("limit must be at least 1")
        query = {
            "status": None if status is None else HandoffStatus(status).value,
            "rep": rep_id,
            "p": None if priority is None else Priority(priority).value,
            **({"o": True} if oldest_first else {}),
        }
        before = None if cursor is None else _after(cursor, query)
        with self._lock:
            matching = sorted(
                (
                    h
                    for h in self.stored.values()
                    if (status is None or h.status == status)
                    and (rep_id is None or h.rep_id == rep_id)
                    and (priority is None or h.priority == priority)
                    and (before is None or (_sort_key(h) > before if oldest_first else _sort_key(h) < before))
                ),
                key=_sort_key,
                reverse=not oldest_first,
            )
            page = [copy.deepcopy(h) for h in matching[:limit]]
        more = len(matching) > limit
        next_cursor = _cursor({"after": _sort_key(page[-1]), **query}) if more else None
        return HandoffPage(page, next_cursor)

    def unannounced(self, limit: int = 100) -> list[Handoff]:
        if limit < 1:
            raise InvalidInput("limit must be at least 1")
        with self._lock:
            found = [h for h in self.stored.values() if h.announced < len(h.history)]
            return [copy.deepcopy(h) for h in sorted(found, key=_sort_key)[:limit]]

    def requested_between(self, start: datetime, end: datetime) -> Iterator[Handoff]:
        _aware(start, end)
        with self._lock:
            found = sorted((h for h in self.stored.values() if start <= h.requested_at < end), key=_sort_key)
            return iter([copy.deepcopy(h) for h in found])


def _aware(*moments: datetime | None) -> None:
    for moment in moments:
        if moment is not None and moment.tzinfo is None:
            raise ValueError(f"naive datetime {moment!r}: the handoff repository stores aware datetimes only")


def _in_utc(handoff: Handoff) -> Handoff:
    """As the adapter gives datetimes back: the same instants, in UTC."""

    def utc(moment: datetime | None) -> datetime | None:
        return None if moment is None else moment.astimezone(UTC)

    touch = handoff.first_touch
    return replace(
        handoff,
        requested_at=handoff.requested_at.astimezone(UTC),
        assigned_at=utc(handoff.assigned_at),
        accepted_at=utc(handoff.accepted_at),
        sla_due_at=utc(handoff.sla_due_at),
        first_touch_due_at=utc(handoff.first_touch_due_at),
        first_touch=None if touch is None else replace(touch, at=touch.at.astimezone(UTC)),
        history=tuple(replace(entry, at=entry.at.astimezone(UTC)) for entry in handoff.history),
    )


def _sort_key(handoff: Handoff) -> str:
    return f"{handoff.requested_at.astimezone(UTC).isoformat(timespec='microseconds')}#{handoff.handoff_id}"


def _cursor(document: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(document, separators=(",", ":")).encode()).decode()


def _after(cursor: str, query: dict[str, Any]) -> str:
    try:
        document = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        after = document.pop("after")
        moment, _, _ = after.partition("#")
        datetime.fromisoformat(moment).astimezone(UTC)
    except (binascii.Error, ValueError, KeyError, TypeError, AttributeError, UnicodeError):
        raise InvalidInput(BAD_CURSOR) from None
    if not isinstance(after, str) or "#" not in after:
        raise InvalidInput(BAD_CURSOR)
    if document.get("o", False) != query.get("o", False):
        raise InvalidInput("cursor belongs to a listing in the other order; start again without it")
    if document != query:
        raise InvalidInput("cursor belongs to a listing with other filters; start again without it")
    return after


def _as_stored(value: Any, path: str) -> Any:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, float | int | Decimal):
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        if not number.is_finite():
            raise ValueError(f"{path}: {value!r} cannot be stored as a DynamoDB number")
        return int(number) if number == number.to_integral_value() else number
    if isinstance(value, list | tuple):
        return [_as_stored(element, f"{path}[{n}]") for n, element in enumerate(value)]
    if isinstance(value, dict) and all(isinstance(name, str) for name in value):
        return {name: _as_stored(element, f"{path}.{name}") for name, element in value.items()}
    raise ValueError(f"{path}: {type(value).__name__} is not a JSON value (strings, numbers, lists, maps, null)")


@dataclass
class RecordingTimers:
    """The timers the service sets (live by name) and cancels, in memory."""

    live: dict[str, Timer] = field(default_factory=dict)
    cancelled: list[str] = field(default_factory=list)
    refuse_next_cancel: int = 0  # the next cancels fail, as Scheduler's throttling or an outage would

    def set(self, timers: Sequence[Timer]) -> None:
        self.live.update({timer.name: timer for timer in timers})

    def cancel(self, timers: Sequence[Timer]) -> None:
        if self.refuse_next_cancel and timers:
            self.refuse_next_cancel -= 1
            raise RuntimeError("scheduler: injected failure deleting a schedule")
        for timer in timers:
            self.cancelled.append(timer.name)
            self.live.pop(timer.name, None)
