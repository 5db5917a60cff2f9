"""Speed to lead and SLA attainment, from the handoffs' stored histories (pure)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from shared.events.handoff_events import HandoffEventType
from shared.handoffs.model import Handoff, HandoffKind, HandoffStatus

_BREACHED = HandoffEventType.SLA_BREACHED.value


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

    @property
    def rate(self) -> float | None:
        decided = self.accepted_within_sla + self.breached
        return round(self.accepted_within_sla / decided, 4) if decided else None


@dataclass
class SpeedToLead:
    handoffs: int = 0
    requested_to_assigned: list[float] = field(default_factory=list)
    requested_to_accepted: list[float] = field(default_factory=list)
    assigned_to_accepted: list[float] = field(default_factory=list)
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
        key = (handoff.priority.value, handoff.team or "-")
        row = figures.attainment.setdefault(key, Attainment(*key))
        row.handoffs += 1
        breached = any(entry.event == _BREACHED for entry in handoff.history)
        if breached:
            row.breached += 1
        elif handoff.accepted_at is not None:
            row.accepted_within_sla += 1
        elif handoff.status is HandoffStatus.ASSIGNED and (handoff.sla_due_at is None or handoff.sla_due_at > as_of):
            row.open_within_sla += 1
    return figures


def _first(handoff: Handoff, status: HandoffStatus) -> datetime | None:
    return next((entry.at for entry in handoff.history if entry.status is status), None)


def _seconds(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds())
