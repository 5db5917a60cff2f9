"""A deadline timer never acts before its due time. EventBridge Scheduler invokes an `at(...)` schedule anywhere
in the minute of its time (60-second precision), so a delivery can come up to 59 s early: the timer then does
nothing yet and is set again for the minute after its due time, under a name of its own (the schedule that
fired deletes itself), carrying the same due time, so it is never lost. The `at(...)` time itself is the due
time rounded up to the second, never down."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from shared.adapters.scheduler_timers import SchedulerTimers, timer_input
from shared.function_environment import TimerTarget
from shared.handoffs.model import HandoffStatus, Priority
from shared.handoffs.ports import Timer, TimerKind
from shared.handoffs.timer_inputs import early_of, timer_from
from tests.unit.test_handoff_service import new_world


class RecordingScheduler:
    """What `create_schedule` was asked, as boto3's Scheduler client would be."""

    def __init__(self) -> None:
        self.meta = SimpleNamespace(region_name="us-east-1")
        self.created: list[dict[str, Any]] = []

    def create_schedule(self, **request: Any) -> None:
        self.created.append(request)


def _expression_of(timer: Timer) -> str:
    client = RecordingScheduler()
    SchedulerTimers(client, TimerTarget("timers-fn", "timers-group", "timers-role"), lambda: "123456789012").set(
        [timer]
    )
    [created] = client.created
    return str(created["ScheduleExpression"])


def test_an_accept_deadline_delivered_early_waits_and_is_set_again_for_after_its_due_time() -> None:
    # Given an immediate handoff (a 5-minute accept SLA) and its accept deadline
    world = new_world()
    handoff = world.service.request(world.lead("lead-1"), Priority.IMMEDIATE, "score_500", "c-1").handoff
    assert handoff is not None
    [deadline] = world.timers_of(handoff.handoff_id, TimerKind.SLA_ACCEPT)
    published = list(world.bus.published)
    # When Scheduler delivers it 45 s before its due time (the minute's precision)
    world.clock.moment = deadline.due_at - timedelta(seconds=45)
    outcome = world.service.timer_fired(handoff.handoff_id, deadline.kind, deadline.assignment, deadline.due_at)
    # Then nothing happens to the handoff: still the rep's, nothing published
    assert world.repository.handoff(handoff.handoff_id) == handoff
    assert world.bus.published == published
    assert outcome.note.startswith("early")
    # And the deadline is set again, named apart, with the same due time and assignment
    again = [t for t in world.timers_of(handoff.handoff_id, TimerKind.SLA_ACCEPT) if t.name != deadline.name]
    assert [(t.due_at, t.assignment, t.early) for t in again] == [(deadline.due_at, deadline.assignment, 1)]
    # When that one fires after the due time
    world.clock.moment = deadline.due_at + timedelta(seconds=30)
    world.fire(again[0])
    # Then the breach is acted on: the handoff goes to the next rep
    moved = world.repository.handoff(handoff.handoff_id)
    assert moved is not None
    assert (moved.status, moved.reassignments) == (HandoffStatus.ASSIGNED, 1)
    assert moved.rep_id != handoff.rep_id


def test_an_early_reminder_waits_too() -> None:
    # Given a priority handoff and its first reminder
    world = new_world()
    handoff = world.service.request(world.lead("lead-2"), Priority.PRIORITY, "demo_request", "c-2").handoff
    assert handoff is not None
    reminder = world.timers_of(handoff.handoff_id, TimerKind.REMINDER)[0]
    # When it is delivered a second early
    world.clock.moment = reminder.due_at - timedelta(seconds=1)
    world.service.timer_fired(handoff.handoff_id, reminder.kind, reminder.assignment, reminder.due_at)
    # Then nobody is reminded yet
    assert world.published() == ["handoff.assigned", "lead.nurture_paused"]
    assert world.repository.handoff(handoff.handoff_id) == handoff


def test_the_at_time_is_the_due_time_rounded_up_to_the_second_and_a_timer_set_again_the_next_minute() -> None:
    due = datetime(2026, 3, 10, 15, 5, 0, 250000, tzinfo=UTC)
    # Given a deadline with a fraction of a second, Then its schedule is at the next whole second, never before
    assert _expression_of(Timer("h1", TimerKind.SLA_ACCEPT, due, 0)) == "at(2026-03-10T15:05:01)"
    # And a whole second is kept as it is, in UTC whatever the due time's offset
    whole = datetime(2026, 3, 10, 16, 5, 7, tzinfo=UTC).astimezone(ZoneInfo("Europe/Berlin"))
    assert _expression_of(Timer("h1", TimerKind.SLA_ACCEPT, whole, 0)) == "at(2026-03-10T16:05:07)"
    # And one set again after an early delivery is at the minute after its due time: Scheduler fires it within
    # that minute, so never before it
    assert _expression_of(Timer("h1", TimerKind.SLA_ACCEPT, due, 0, early=1)) == "at(2026-03-10T15:06:00)"
    on_the_minute = datetime(2026, 3, 10, 15, 6, tzinfo=UTC)
    assert _expression_of(Timer("h1", TimerKind.SLA_ACCEPT, on_the_minute, 0, early=1)) == "at(2026-03-10T15:06:00)"


def test_a_timer_set_again_says_so_to_the_timer_function() -> None:
    due = datetime(2026, 3, 10, 15, 5, 0, 250000, tzinfo=UTC)
    # Given a first timer and the same timer set again after an early delivery
    first, again = Timer("h1", TimerKind.REMINDER, due, 2), Timer("h1", TimerKind.REMINDER, due, 2, early=1)
    # Then they are named apart, and the input of each reads back as the same timer (with how often it was early)
    assert first.name != again.name
    assert len(again.name.replace("h1", "0" * 32)) <= 64
    for timer in (first, again):
        event = timer_input(timer)
        assert timer_from(event) == ("h1", TimerKind.REMINDER, 2, due)
        assert early_of(event) == timer.early
