"""The one-time timers an assignment sets: a reminder at each of the SLA's reminder times and the accept
deadline, named for the assignment they belong to (a timer of an earlier one is stale when it fires)."""

from __future__ import annotations

from shared.handoffs.model import Handoff, HandoffStatus
from shared.handoffs.ports import Timer, TimerKind
from shared.handoffs.routing import Router
from shared.handoffs.sla import reminder_times


def timers_of(handoff: Handoff, router: Router) -> list[Timer]:
    if handoff.status is not HandoffStatus.ASSIGNED or handoff.rep_id is None or handoff.assigned_at is None:
        return []
    rep = router.rep(handoff.rep_id)
    timers = [
        Timer(handoff.handoff_id, TimerKind.REMINDER, at, handoff.reassignments)
        for at in reminder_times(router.config, handoff.priority, rep, handoff.assigned_at)
    ]
    if handoff.sla_due_at is not None:
        timers.append(Timer(handoff.handoff_id, TimerKind.SLA_ACCEPT, handoff.sla_due_at, handoff.reassignments))
    return timers
