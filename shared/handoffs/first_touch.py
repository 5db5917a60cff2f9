"""First touch: the assignee's first contact with a lead handed to sales (a call, an email, a meeting), and its
SLA, the routing file's `first_touch_minutes` per priority, counted from the assignment like the accept deadline.
Accepting a handoff is not touching its lead: the first-touch deadline outlives the accept deadline, and a
breach of it tells the team's manager without moving the handoff. Pure: what a handoff's record says of it."""

from __future__ import annotations

from datetime import datetime

from shared.events.handoff_events import HandoffEventType
from shared.handoffs.model import Handoff, HandoffKind, HandoffStatus, HistoryEntry, SlaKind

# The statuses in which the assignee owes the lead a first touch: given to them, whether accepted yet or not.
TOUCHABLE = frozenset({HandoffStatus.ASSIGNED, HandoffStatus.ACCEPTED})


def breached_sla(entry: HistoryEntry) -> SlaKind | None:
    """The SLA a history entry says was breached; None for any other transition. A breach stored before the
    first touch was timed is the accept SLA's."""
    if entry.event != HandoffEventType.SLA_BREACHED.value:
        return None
    return entry.sla or SlaKind.ACCEPT


def first_touch_breached(handoff: Handoff, since: datetime | None = None) -> bool:
    """Whether a first-touch breach is recorded (at `since` or later)."""
    return any(
        breached_sla(entry) is SlaKind.FIRST_TOUCH and (since is None or entry.at >= since) for entry in handoff.history
    )


def first_touch_clock_start(handoff: Handoff) -> datetime | None:
    """When the current first-touch deadline started counting: the assignment, or the last priority raise since
    while the handoff was still assigned (a raise counts the new priority's first touch from the raise, as it
    does its accept deadline). None before any assignment."""
    if handoff.assigned_at is None:
        return None
    raised = HandoffEventType.PRIORITY_RAISED.value
    raises = [
        entry.at
        for entry in handoff.history
        if entry.event == raised and entry.status is HandoffStatus.ASSIGNED and entry.at >= handoff.assigned_at
    ]
    return max([handoff.assigned_at, *raises])


def awaiting_first_touch(handoff: Handoff) -> bool:
    """Whether the lead still waits for its first touch under a live deadline: a lead handoff assigned or
    accepted, untouched, whose current first-touch deadline has not been breached (a breach is told once)."""
    start = first_touch_clock_start(handoff)
    return (
        handoff.kind is HandoffKind.LEAD
        and handoff.status in TOUCHABLE
        and handoff.first_touch is None
        and handoff.first_touch_due_at is not None
        and start is not None
        and not first_touch_breached(handoff, since=start)
    )


def touched_within_sla(handoff: Handoff) -> bool | None:
    """Whether the lead was first touched by its deadline with no first-touch breach recorded: once the manager
    was told of a breach, a touch reported later counts as the breach, as an accept after an accept breach
    does. None until the lead is touched."""
    touch = handoff.first_touch
    if touch is None:
        return None
    if first_touch_breached(handoff):
        return False
    return handoff.first_touch_due_at is None or touch.at <= handoff.first_touch_due_at
