"""What a step of a handoff's life does to its record: the status it takes and the history entry saying when, by
whom and why (the entry's event is what the step publishes). Pure: the service decides which step to take, and
stores it at the next version."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from shared.events.handoff_events import HandoffEventType
from shared.handoffs.model import (
    HUB,
    EntryState,
    FirstTouch,
    Handoff,
    HandoffKind,
    HandoffStatus,
    HistoryEntry,
    Priority,
    RoutingDecision,
    SlaKind,
)


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


def state_of(handoff: Handoff) -> EntryState:
    """The fields a transition's event reports, as the handoff has them now."""
    return EntryState(
        team=handoff.team,
        priority=handoff.priority,
        queue=handoff.queue,
        rule_id=handoff.rule_id,
        sla_due_at=handoff.sla_due_at,
        first_touch_due_at=handoff.first_touch_due_at,
    )


def stamped(handoff: Handoff, since: int) -> Handoff:
    """The handoff with each history entry from `since` on (those its commit adds) that does not say yet what
    the transition left the handoff at saying it as `handoff` has it. A transition that a move follows in the
    same commit (a breach, a rejection) said it when it was made."""
    history = handoff.history
    if all(entry.state is not None for entry in history[since:]):
        return handoff
    state = state_of(handoff)
    entries = tuple(
        entry if position < since or entry.state is not None else replace(entry, state=state)
        for position, entry in enumerate(history)
    )
    return replace(handoff, history=entries)


def restamped(handoff: Handoff) -> Handoff:
    """The handoff with its last entry saying what it is at now (a transition a move follows in the same commit)."""
    if not handoff.history:
        return handoff
    last = replace(handoff.history[-1], state=state_of(handoff))
    return replace(handoff, history=(*handoff.history[:-1], last))


def transitioned(
    current: Handoff,
    status: HandoffStatus,
    actor: str,
    cause: str,
    now: datetime,
    event: HandoffEventType | None = None,
    sla: SlaKind | None = None,
    cause_event_id: str | None = None,
) -> Handoff:
    """The handoff in `status`, its entry saying the fields as they are at the transition (a reassignment that
    follows it in the same commit changes the handoff's, not the entry's: a breach's event says the deadline
    missed and the team whose manager is told)."""
    kind = event or HandoffEventType(f"handoff.{status.value}")
    entry = HistoryEntry(
        now,
        status,
        actor,
        cause,
        current.rep_id,
        kind.value,
        sla=sla,
        state=state_of(current),
        cause_event_id=cause_event_id,
    )
    return replace(current, status=status, history=(*current.history, entry))


def accepted(current: Handoff, actor: str, now: datetime, cause_event_id: str | None = None) -> Handoff:
    entry = HistoryEntry(
        now,
        HandoffStatus.ACCEPTED,
        actor,
        "accepted",
        current.rep_id,
        HandoffEventType.ACCEPTED.value,
        cause_event_id=cause_event_id,
    )
    return replace(
        current,
        status=HandoffStatus.ACCEPTED,
        accepted_at=now,
        sla_due_at=None,
        history=(*current.history, entry),
    )


def first_touched(current: Handoff, touch: FirstTouch, now: datetime) -> Handoff:
    """The lead's first touch recorded (`now`, whenever the rep says it happened) and the follow-up task that
    asked for it done; the status stays: touching is not accepting."""
    cause = f"first touch by {touch.channel.value}" + (f": {touch.note}" if touch.note else "")
    entry = HistoryEntry(now, current.status, touch.actor, cause, current.rep_id, HandoffEventType.FIRST_TOUCHED.value)
    details = current.details
    if isinstance(task := details.get("follow_up_task"), dict):
        details = {**details, "follow_up_task": {**task, "done_at": touch.at.isoformat()}}
    return replace(current, first_touch=touch, details=details, history=(*current.history, entry))


def first_touch_missed(current: Handoff, now: datetime) -> Handoff:
    """The first-touch deadline passed with the lead untouched: recorded (the manager is told), the handoff left
    with its assignee, who may have accepted it and be about to call."""
    due = current.first_touch_due_at.isoformat() if current.first_touch_due_at else "its deadline"
    entry = HistoryEntry(
        now,
        current.status,
        HUB,
        f"SLA breached: {current.rep_id} had not touched the lead by {due}",
        current.rep_id,
        HandoffEventType.SLA_BREACHED.value,
        sla=SlaKind.FIRST_TOUCH,
    )
    return replace(current, history=(*current.history, entry))


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
        # a lead touched keeps the deadline it was touched against; one untouched owes no first touch in a queue
        first_touch_due_at=handoff.first_touch_due_at if handoff.first_touch else None,
        skips=decision.skips if decision else (),
        history=(*handoff.history, entry),
    )
