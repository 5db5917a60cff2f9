"""Speed to lead and SLA attainment, from the handoffs' stored histories (pure): how fast leads are assigned,
accepted and first touched, and how many met the accept SLA and the first-touch SLA, per priority and team."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from shared.events.handoff_events import HandoffEventType
from shared.handoffs.first_touch import TOUCHABLE, breached_sla, first_touch_breached, touched_within_sla
from shared.handoffs.model import Handoff, HandoffKind, HandoffStatus, SlaKind

# The transitions that give a handoff to a rep: its first-touch clock starts at the one it was touched under
_ASSIGNMENTS = frozenset({HandoffEventType.ASSIGNED.value, HandoffEventType.ESCALATED.value})
_FIRST_TOUCHED = HandoffEventType.FIRST_TOUCHED.value


@dataclass(frozen=True)
class Durations:
    seconds: tuple[float, ...]

    @property
    def count(self) -> int:
        return len(self.seconds)

    def percentile(self, fraction: float) -> float | None:
        """Nearest-rank percentile: an observed value, never an interpolation."""
        if not self.seconds:
            return None
        ordered = sorted(self.seconds)
        return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


@dataclass
class Attainment:
    priority: str
    team: str
    handoffs: int = 0
    accepted_within_sla: int = 0
    breached: int = 0
    open_within_sla: int = 0
    # the first-touch SLA, counted as the accept SLA is: a breach told counts as the breach only
    touched_within_sla: int = 0
    first_touch_breached: int = 0
    awaiting_touch_within_sla: int = 0

    @property
    def rate(self) -> float | None:
        return _rate(self.accepted_within_sla, self.breached)

    @property
    def first_touch_rate(self) -> float | None:
        return _rate(self.touched_within_sla, self.first_touch_breached)


@dataclass
class SpeedToLead:
    handoffs: int = 0
    requested_to_assigned: list[float] = field(default_factory=list)
    requested_to_accepted: list[float] = field(default_factory=list)
    assigned_to_accepted: list[float] = field(default_factory=list)
    requested_to_first_touch: list[float] = field(default_factory=list)
    assigned_to_first_touch: list[float] = field(default_factory=list)
    attainment: dict[tuple[str, str], Attainment] = field(default_factory=dict)


def speed_to_lead(handoffs: Iterable[Handoff], as_of: datetime) -> SpeedToLead:
    """Of lead handoffs only: a won customer or an account ready to expand is no lead to answer fast, and its
    standard-priority SLA would blur the sales teams' attainment."""
    figures = SpeedToLead()
    for handoff in handoffs:
        if handoff.kind is not HandoffKind.LEAD:
            continue
        figures.handoffs += 1
        first_assigned = _first(handoff, HandoffStatus.ASSIGNED)
        if first_assigned is not None:
            figures.requested_to_assigned.append(_seconds(handoff.requested_at, first_assigned))
        if handoff.accepted_at is not None:
            figures.requested_to_accepted.append(_seconds(handoff.requested_at, handoff.accepted_at))
            if handoff.assigned_at is not None:  # the last assignment, the one accepted
                figures.assigned_to_accepted.append(_seconds(handoff.assigned_at, handoff.accepted_at))
        touch = handoff.first_touch
        if touch is not None:
            figures.requested_to_first_touch.append(_seconds(handoff.requested_at, touch.at))
            touched_under = _assignment_touched_under(handoff)
            if touched_under is not None:
                figures.assigned_to_first_touch.append(_seconds(touched_under, touch.at))
        key = (handoff.priority.value, handoff.team or "-")
        row = figures.attainment.setdefault(key, Attainment(*key))
        row.handoffs += 1
        breached = any(breached_sla(entry) is SlaKind.ACCEPT for entry in handoff.history)
        if breached:
            row.breached += 1
        elif handoff.accepted_at is not None:
            row.accepted_within_sla += 1
        elif handoff.status is HandoffStatus.ASSIGNED and (handoff.sla_due_at is None or handoff.sla_due_at > as_of):
            row.open_within_sla += 1
        _count_first_touch(row, handoff, as_of)
    return figures


def _count_first_touch(row: Attainment, handoff: Handoff, as_of: datetime) -> None:
    """A lead touched within its SLA, or its first-touch SLA breached (told, or touched late); or still awaiting
    its touch with time left. A handoff that ended untouched with no breach (or was assigned before first touches
    were timed) counts in none of them."""
    within = touched_within_sla(handoff)
    if within is True:
        row.touched_within_sla += 1
    elif within is False or first_touch_breached(handoff):
        row.first_touch_breached += 1
    elif handoff.status in TOUCHABLE and handoff.first_touch_due_at is not None and handoff.first_touch_due_at > as_of:
        row.awaiting_touch_within_sla += 1


def _assignment_touched_under(handoff: Handoff) -> datetime | None:
    """When the assignment the lead was first touched under began: the last assignment before the touch was
    recorded (a reassignment since does not restart what was measured)."""
    started = None
    for entry in handoff.history:
        if entry.event == _FIRST_TOUCHED:
            return started
        if entry.event in _ASSIGNMENTS:
            started = entry.at
    return started


def _rate(within: int, breached: int) -> float | None:
    decided = within + breached
    return round(within / decided, 4) if decided else None


def _first(handoff: Handoff, status: HandoffStatus) -> datetime | None:
    return next((entry.at for entry in handoff.history if entry.status is status), None)


def _seconds(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds())
