"""What a step of a handoff's life does to its record: the status it takes and the history entry saying when, by
whom and why (the entry's event is what the step publishes). Pure: the service decides which step to take, and
stores it at the next version."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from shared.events.handoff_events import HandoffEventType
from shared.handoffs.model import HUB, Handoff, HandoffKind, HandoffStatus, HistoryEntry, Priority, RoutingDecision


def requested(
    handoff_id: str,
    subject: str,
    kind: HandoffKind,
    priority: Priority,
    *,
    at: datetime,
    by: str,
    why: str,
    cause_event_id: str | None,
    customer_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> Handoff:
    """A new handoff of `subject` (a lead id, or a customer's or an account's subject), requested `at` `by`."""
    return Handoff(
        handoff_id=handoff_id,
        lead_id=subject,
        kind=kind,
        priority=priority,
        status=HandoffStatus.REQUESTED,
        team="",
        requested_at=at,
        cause_event_id=cause_event_id,
        customer_id=customer_id,
        details={} if details is None else details,
        history=(HistoryEntry(at, HandoffStatus.REQUESTED, by, why),),
    )


def transitioned(
    current: Handoff,
    status: HandoffStatus,
    actor: str,
    cause: str,
    now: datetime,
    event: HandoffEventType | None = None,
) -> Handoff:
    kind = event or HandoffEventType(f"handoff.{status.value}")
    entry = HistoryEntry(now, status, actor, cause, current.rep_id, kind.value)
    return replace(current, status=status, history=(*current.history, entry))


def accepted(current: Handoff, actor: str, now: datetime) -> Handoff:
    entry = HistoryEntry(
        now, HandoffStatus.ACCEPTED, actor, "accepted", current.rep_id, HandoffEventType.ACCEPTED.value
    )
    return replace(
        current,
        status=HandoffStatus.ACCEPTED,
        accepted_at=now,
        sla_due_at=None,
        history=(*current.history, entry),
    )


def reminded(current: Handoff, now: datetime) -> Handoff:
    entry = HistoryEntry(
        now,
        current.status,
        HUB,
        "reminder: not accepted yet",
        current.rep_id,
        HandoffEventType.REMINDED.value,
    )
    return replace(current, history=(*current.history, entry))


def priority_raised(current: Handoff, priority: Priority, reason: str, now: datetime) -> Handoff:
    entry = HistoryEntry(
        now,
        current.status,
        HUB,
        f"priority raised to {priority.value}: {reason}",
        current.rep_id,
        HandoffEventType.PRIORITY_RAISED.value,
    )
    return replace(current, priority=priority, history=(*current.history, entry))


def queued(
    handoff: Handoff, now: datetime, queue: str, team: str, decision: RoutingDecision | None, reason: str
) -> Handoff:
    entry = HistoryEntry(now, HandoffStatus.QUEUED, HUB, reason, None, HandoffEventType.QUEUED.value, handoff.rep_id)
    return replace(
        handoff,
        status=HandoffStatus.QUEUED,
        rep_id=None,
        queue=queue,
        team=team or handoff.team,
        rule_id=decision.rule_id if decision else None,
        strategy=decision.strategy if decision else None,
        sla_due_at=None,
        skips=decision.skips if decision else (),
        history=(*handoff.history, entry),
    )
