"""The one-time timers an assignment sets: a reminder at each of the SLA's reminder times and the accept
deadline, and for a lead the first-touch deadline, named for the assignment they belong to and their due time
(a timer that is not among the handoff's current ones is stale when it fires).

The SLA's clock starts at the assignment, and again at each priority raise while assigned: a raise replaces
the timers of the old priority with the new priority's, counted from the raise. Accepting ends the reminders
and the accept deadline but not the first-touch deadline, which lasts until the lead is touched (or its
breach is recorded, or the handoff moves on).

A handoff escalated to the team's manager whose accept deadline they too let pass keeps no deadline: its
timers are a bounded few reminders in the manager's working hours from the breach (`sla.escalated_reminder_times`),
each gone once sent, so nothing fires after the last."""

from __future__ import annotations

from datetime import datetime

from shared.events.handoff_events import HandoffEventType
from shared.handoffs.assignment import held_since_escalation
from shared.handoffs.first_touch import awaiting_first_touch, breached_sla
from shared.handoffs.model import Handoff, HandoffKind, HandoffStatus, Priority, SlaKind
from shared.handoffs.ports import Timer, TimerKind
from shared.handoffs.routing import Router
from shared.handoffs.routing_config import Rep
from shared.handoffs.sla import accept_due, escalated_reminder_times, first_touch_due, reminder_times


def timers_of(handoff: Handoff, router: Router) -> list[Timer]:
    """The timers the handoff's state sets: the reminders and the accept deadline while assigned, and the
    first-touch deadline while its lead awaits a first touch (assigned or accepted)."""
    timers = _accept_timers(handoff, router)
    if awaiting_first_touch(handoff) and handoff.first_touch_due_at is not None:
        timers.append(
            Timer(handoff.handoff_id, TimerKind.FIRST_TOUCH, handoff.first_touch_due_at, handoff.reassignments)
        )
    return timers


def _accept_timers(handoff: Handoff, router: Router) -> list[Timer]:
    """The reminders not sent yet and the accept deadline. A reminder sent is no longer one of them: announcing
    the reminder would set its schedule again (it deleted itself when it ran), and it would fire and remind again,
    as would a delivery of it repeated."""
    starts = clock_starts(handoff)
    if not starts or handoff.rep_id is None:
        return []
    # The deadline is the stored one; the reminders are the routing file's. A rep a newer file no longer has
    # is reminded of nothing, but their deadline still holds (the breach moves the handoff to a rep it has).
    plan = router.rep_plans.get(handoff.rep_id)
    reminded = HandoffEventType.REMINDED.value
    breached_at = manager_breach(handoff)
    if breached_at is not None and breached_at >= starts[-1]:
        # the manager let the deadline of a handoff escalated to them pass: a bounded few reminders, no deadline
        sent = sum(1 for entry in handoff.history if entry.event == reminded and entry.at >= breached_at)
        times = escalated_reminder_times(plan.rep, breached_at)[sent:] if plan else []
        return [Timer(handoff.handoff_id, TimerKind.REMINDER, at, handoff.reassignments) for at in times]
    sent = sum(1 for entry in handoff.history if entry.event == reminded and entry.at >= starts[-1])
    timers = [
        Timer(handoff.handoff_id, TimerKind.REMINDER, at, handoff.reassignments)
        for at in (reminder_times(router.config, handoff.priority, plan.rep, starts[-1]) if plan else [])[sent:]
    ]
    if handoff.sla_due_at is not None:
        timers.append(Timer(handoff.handoff_id, TimerKind.SLA_ACCEPT, handoff.sla_due_at, handoff.reassignments))
    return timers


def manager_breach(handoff: Handoff) -> datetime | None:
    """When the team's manager let the accept deadline of the handoff escalated to them pass (recorded, with no
    deadline left); None unless they hold it so."""
    if not held_since_escalation(handoff) or handoff.sla_due_at is not None:
        return None
    breaches = [entry.at for entry in handoff.history if breached_sla(entry) is SlaKind.ACCEPT]
    return breaches[-1] if breaches else None


def live_timers(handoff: Handoff, router: Router) -> list[Timer]:
    """Every timer the handoff's current assignment may have live: its state's, and after a priority raise
    those each earlier, less urgent priority set (their deletion at the raise may have failed). Deleting a
    timer that was never set is no error, so each less urgent priority is named at each earlier start."""
    timers = timers_of(handoff, router)
    starts = clock_starts(handoff)
    plan = None if handoff.rep_id is None else router.rep_plans.get(handoff.rep_id)
    if len(starts) < 2 or plan is None:
        return timers
    rep = plan.rep
    earlier = [priority for priority in Priority if priority.rank > handoff.priority.rank]
    for start in starts[:-1]:
        for priority in earlier:
            timers.extend(_set_at(handoff, router, rep, priority, start))
    return list({timer.name: timer for timer in timers}.values())


def clock_starts(handoff: Handoff) -> list[datetime]:
    """When the current assignment's SLA clock started, in order: the assignment, then each priority raise
    since. Empty unless the handoff is assigned."""
    if handoff.status is not HandoffStatus.ASSIGNED or handoff.assigned_at is None:
        return []
    raised = HandoffEventType.PRIORITY_RAISED.value
    raises = [entry.at for entry in handoff.history if entry.event == raised and entry.at >= handoff.assigned_at]
    return [handoff.assigned_at, *raises]


def is_live(handoff: Handoff, router: Router, kind: TimerKind, assignment: int, due_at: datetime) -> bool:
    """Whether a timer that fired is one the handoff's state sets now (the same kind, assignment and due time):
    a timer of an earlier assignment, of a priority since raised, of a handoff no longer assigned (a first-touch
    deadline: no longer assigned nor accepted), of a lead touched since, or of a breach recorded already is not."""
    fired = Timer(handoff.handoff_id, kind, due_at, assignment).name
    return any(timer.name == fired for timer in timers_of(handoff, router))


def _set_at(handoff: Handoff, router: Router, rep: Rep, priority: Priority, start: datetime) -> list[Timer]:
    """The timers an assignment of `priority` whose clock started at `start` set."""
    timers = [
        Timer(handoff.handoff_id, TimerKind.REMINDER, at, handoff.reassignments)
        for at in reminder_times(router.config, priority, rep, start)
    ]
    due = accept_due(router.config, priority, rep, start)
    timers.append(Timer(handoff.handoff_id, TimerKind.SLA_ACCEPT, due, handoff.reassignments))
    if handoff.kind is HandoffKind.LEAD:
        touch_due = first_touch_due(router.config, priority, rep, start)
        timers.append(Timer(handoff.handoff_id, TimerKind.FIRST_TOUCH, touch_due, handoff.reassignments))
    return timers
