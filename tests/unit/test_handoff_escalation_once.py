"""Escalation happens once: a handoff escalated to the team's manager stays theirs when they, too, let the
accept deadline pass. The breach is recorded, a bounded few reminders reach the manager in their working hours,
and then no timer is left: no breach, reassignment or escalation notice every SLA period, forever."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

from shared.adapters.dynamodb_handoff_items import handoff_item
from shared.events.handoff_events import HandoffEventType
from shared.handoffs.model import HandoffStatus, Priority
from shared.handoffs.notices import notices_for
from shared.handoffs.notifications import LeadBrief
from shared.handoffs.ports import TimerKind
from shared.handoffs.sla import ESCALATED_REMINDER_MINUTES
from shared.handoffs.working_hours import is_working
from tests.unit.test_handoff_service import ROUTER, World, as_rep, new_world

MANAGER = "mgr-priya-nair"  # sdr-amer's, New York working hours


def _fire_everything(world: World, handoff_id: str, most: int = 200) -> int:
    """Fires the handoff's accept deadlines and reminders as they come due, until none is left (or `most`)."""
    fired = 0
    while fired < most:
        due = [t for t in world.timers_of(handoff_id) if t.kind is not TimerKind.FIRST_TOUCH]
        if not due:
            return fired
        timer = due[0]
        world.clock.advance(max(timer.due_at - world.clock.now(), timedelta(0)) + timedelta(seconds=1))
        world.timers.live.pop(timer.name)  # a one-time schedule deletes itself when it runs
        world.fire(timer)
        fired += 1
    return fired


def test_an_immediate_handoff_nobody_accepts_is_escalated_once_and_then_left_with_the_manager() -> None:
    # Given an immediate lead (a 5-minute accept SLA, around the clock) that nobody ever accepts
    world = new_world()
    handoff = world.service.request(world.lead("lead-hot"), Priority.IMMEDIATE, "score 500", "cause-hot").handoff
    assert handoff is not None
    # When every deadline and reminder fires as it comes due
    fired = _fire_everything(world, handoff.handoff_id)
    # Then the timers ran out (no endless cycle) ...
    assert fired < 200
    assert [t for t in world.timers_of(handoff.handoff_id) if t.kind is not TimerKind.FIRST_TOUCH] == []
    # ... the handoff was escalated exactly once, and the manager holds it with no deadline
    assert world.published(HandoffEventType.ESCALATED) == ["handoff.escalated"]
    stored = world.repository.handoff(handoff.handoff_id)
    assert stored is not None
    assert (stored.status, stored.rep_id, stored.sla_due_at) == (HandoffStatus.ASSIGNED, MANAGER, None)
    # And the manager's own breach is recorded once, after the breaches that led to the escalation
    breaches = [e for e in world.bus.published if e.event_type is HandoffEventType.SLA_BREACHED]
    assert [e.rep_id for e in breaches][-1] == MANAGER
    assert len(breaches) == stored.reassignments + 1
    # And after it, at most the bounded reminders, each inside the manager's working hours
    breached_at = breaches[-1].occurred_at
    reminders = [e for e in world.bus.published if e.event_type is HandoffEventType.REMINDED]
    late = [e for e in reminders if e.occurred_at > breached_at]
    assert len(late) == len(ESCALATED_REMINDER_MINUTES)
    schedule = ROUTER.rep(MANAGER).schedule
    assert all(is_working(schedule, e.occurred_at - timedelta(seconds=1)) for e in late)
    # And the record stays small: it grew by a handful of entries, not one cycle per SLA period
    assert len(stored.history) <= 20
    assert len(json.dumps(handoff_item(stored), default=str)) < 8_000


def test_the_managers_own_breach_sends_no_breach_notice_only_the_reminders_do() -> None:
    # Given an immediate handoff escalated to the manager, who let their deadline pass too
    world = new_world()
    handoff = world.service.request(world.lead("lead-hot2"), Priority.IMMEDIATE, "score 500", "cause-hot2").handoff
    assert handoff is not None
    while (stored := world.repository.handoff(handoff.handoff_id)) is not None and stored.rep_id != MANAGER:
        [deadline] = world.timers_of(handoff.handoff_id, TimerKind.SLA_ACCEPT)
        world.clock.advance(deadline.due_at - world.clock.now() + timedelta(seconds=1))
        world.fire(deadline)
    [deadline] = world.timers_of(handoff.handoff_id, TimerKind.SLA_ACCEPT)
    world.clock.advance(deadline.due_at - world.clock.now() + timedelta(seconds=1))
    # When the manager's deadline fires
    outcome = world.fire(deadline)
    # Then the breach is published, nothing moves, and nobody is sent an "SLA missed" notice for it
    assert [e.event_type for e in outcome.events] == [HandoffEventType.SLA_BREACHED]
    assert outcome.handoff is not None
    assert outcome.handoff.rep_id == MANAGER
    [breach] = outcome.events
    lead = LeadBrief(breach.lead_id, None, None, None, None, None, Decimal(0), "MQL")
    assert notices_for(breach, outcome.handoff, ROUTER, lead, "https://hub.example") == []
    # And the manager is reminded instead, of a handoff with no deadline left (only the bounded reminders)
    assert {t.kind for t in world.timers_of(handoff.handoff_id)} <= {TimerKind.REMINDER, TimerKind.FIRST_TOUCH}
    assert len(world.timers_of(handoff.handoff_id, TimerKind.REMINDER)) == len(ESCALATED_REMINDER_MINUTES)


def test_a_handoff_the_manager_turned_down_after_its_escalation_is_not_escalated_to_them_again() -> None:
    # Given a handoff escalated to the AMER manager after two missed deadlines
    world = new_world()
    handoff = world.service.request(world.lead("lead-esc"), Priority.PRIORITY, "demo_request", "cause-esc").handoff
    assert handoff is not None
    for _ in range(2):
        world.clock.advance(timedelta(minutes=31))
        [deadline] = world.timers_of(handoff.handoff_id, TimerKind.SLA_ACCEPT)
        world.fire(deadline)
    assert world.repository.handoff(handoff.handoff_id).rep_id == MANAGER  # type: ignore[union-attr]
    # When the manager rejects it, and the SDR it goes to misses the deadline too
    moved = world.service.reject(handoff.handoff_id, as_rep(MANAGER), "Sam should take it").handoff
    assert moved is not None
    assert moved.rep_id not in (None, MANAGER)
    world.clock.advance(timedelta(minutes=31))
    [deadline] = world.timers_of(handoff.handoff_id, TimerKind.SLA_ACCEPT)
    world.fire(deadline)
    # Then it is not escalated (to the manager who turned it down) again: it waits in the team's queue
    stored = world.repository.handoff(handoff.handoff_id)
    assert stored is not None
    assert (stored.status, stored.queue) == (HandoffStatus.QUEUED, "sdr-amer-queue")
    assert world.published(HandoffEventType.ESCALATED) == ["handoff.escalated"]
