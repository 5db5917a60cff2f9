"""SLA policy: when an assignment must be accepted and first touched, when to remind, when to escalate.

Per priority, the routing file's `sla` gives minutes after assignment. With `business_hours` the minutes
count only inside the assignee's working time (their time zone, weekly hours, out-of-office days; see
`working_hours.py`): a standard handoff assigned on Friday at 16:30 with 510 business minutes is due the
following Monday at 16:30, and one assigned on Saturday starts counting on Monday morning. Without it they are
wall-clock minutes. Every instant returned is an aware UTC datetime.

Escalation happens once: a handoff escalated to the team's manager stays theirs when they too let the accept
deadline pass. The breach is recorded (published, counted), the deadline is gone, and the manager is reminded
at most `len(ESCALATED_REMINDER_MINUTES)` times, each counted in their own working time from the breach (an hour
into it, then once on each of the next two working days); after that no timer is left.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.handoffs.model import Priority
from shared.handoffs.routing_config import Rep, RoutingConfig, SlaPolicy
from shared.handoffs.working_hours import add_business_minutes


def _after(policy: SlaPolicy, rep: Rep, assigned_at: datetime, minutes: int) -> datetime:
    if assigned_at.tzinfo is None or assigned_at.utcoffset() is None:
        raise ValueError(f"assigned_at must be timezone-aware (UTC), got naive {assigned_at.isoformat()}")
    if policy.business_hours:
        return add_business_minutes(rep.schedule, assigned_at, minutes)
    return assigned_at.astimezone(UTC) + timedelta(minutes=minutes)


def accept_due(config: RoutingConfig, priority: Priority, rep: Rep, assigned_at: datetime) -> datetime:
    """By when `rep` must accept a handoff of `priority` assigned at `assigned_at`; past it, the SLA is breached."""
    policy = config.sla.policy(priority)
    return _after(policy, rep, assigned_at, policy.accept_minutes)


def first_touch_due(config: RoutingConfig, priority: Priority, rep: Rep, assigned_at: datetime) -> datetime:
    """By when `rep` must first touch (call, email) the lead of a handoff assigned at `assigned_at`."""
    policy = config.sla.policy(priority)
    return _after(policy, rep, assigned_at, policy.first_touch_minutes)


def reminder_times(config: RoutingConfig, priority: Priority, rep: Rep, assigned_at: datetime) -> list[datetime]:
    """When to remind `rep` of an assignment not yet accepted: each offset of `reminders_minutes`, in order,
    counted like the accept deadline, so every reminder falls before it."""
    policy = config.sla.policy(priority)
    return [_after(policy, rep, assigned_at, minutes) for minutes in sorted(policy.reminders_minutes)]


# Business minutes of the manager's working time after their own breach of an escalated handoff: the reminders
ESCALATED_REMINDER_MINUTES = (60, 570, 1080)


def escalated_reminder_times(rep: Rep, breached_at: datetime) -> list[datetime]:
    """When to remind the manager holding an escalated handoff whose accept deadline they let pass: a bounded
    few times, always inside their working hours (whatever the priority's `business_hours`)."""
    if breached_at.tzinfo is None or breached_at.utcoffset() is None:
        raise ValueError(f"breached_at must be timezone-aware (UTC), got naive {breached_at.isoformat()}")
    return [add_business_minutes(rep.schedule, breached_at, minutes) for minutes in ESCALATED_REMINDER_MINUTES]


def should_escalate(config: RoutingConfig, reassignments: int) -> bool:
    """A handoff reassigned this many times (breaches and rejections) goes to the team's manager (once: see
    `assignment.escalated_before`)."""
    return reassignments >= config.sla.escalate_after_reassignments
