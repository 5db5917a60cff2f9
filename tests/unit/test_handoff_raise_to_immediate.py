"""A handoff raised to `immediate` is routed as a new immediate request would be when its rep may not take an
immediate one: a rep outside their working hours is skipped for immediate leads, so the raise takes it from
them (released, their timers gone) to a rep who is working, or to the team's fallback queue, where the sweep
gives it to the first rep who starts. Not a reassignment: not counted towards escalation, the rep not excluded."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.events.handoff_events import HandoffEventType
from shared.handoffs.model import HandoffStatus, Priority
from tests.unit.test_handoff_service import AMER_SDRS, World, as_rep, new_world

NIGHT = datetime(2026, 3, 11, 3, 0, tzinfo=UTC)  # Tue 23:00 New York, 22:00 Chicago, 20:00 Los Angeles
EVENING = datetime(2026, 3, 10, 22, 0, tzinfo=UTC)  # 18:00 New York (done), 17:00 Chicago, 15:00 Los Angeles
MAYA = "sdr-maya-chen"  # New York


def _standard_with(world: World, lead_id: str, rep_id: str | None = None) -> str:
    """A standard lead handoff assigned (standard leads go to reps outside their hours too), to `rep_id`."""
    others = AMER_SDRS - {rep_id} if rep_id else set()
    for other in others:
        world.service.set_rep(other, available=False, capacity=None)
    handoff = world.service.request(world.lead(lead_id), Priority.STANDARD, "nurture_14_days", f"c-{lead_id}").handoff
    for other in others:
        world.service.set_rep(other, available=None, capacity=None)
    assert handoff is not None
    assert handoff.status is HandoffStatus.ASSIGNED
    assert rep_id in (None, handoff.rep_id)
    return handoff.handoff_id


def test_raised_to_immediate_at_night_it_waits_in_the_queue_as_a_new_immediate_request_would() -> None:
    # Given a standard handoff assigned at night, to a rep whose day is over
    world = new_world()
    world.clock.moment = NIGHT
    handoff_id = _standard_with(world, "raised")
    before = world.repository.handoff(handoff_id)
    assert before is not None
    rep = before.rep_id
    # When an immediate trigger raises it
    world.service.request("raised", Priority.IMMEDIATE, "score_500", "c-immediate")
    # Then it waits in the team's fallback queue (no AMER SDR is working), as a fresh immediate request does
    raised = world.repository.handoff(handoff_id)
    assert raised is not None
    published = world.published()
    fresh = world.service.request(world.lead("fresh"), Priority.IMMEDIATE, "score_500", "c-fresh").handoff
    assert fresh is not None
    assert (raised.status, raised.rep_id, raised.queue) == (HandoffStatus.QUEUED, None, fresh.queue)
    assert raised.sla_due_at is None
    # And the rep's load is released and their timers are gone: no 5-minute deadline runs at night
    assert world.repository.rep_loads()[rep or ""].open_handoffs == 0
    assert world.timers_of(handoff_id) == []
    # And the raise and the queueing are published; nothing counts as a reassignment, nobody is excluded
    assert published[-2:] == ["handoff.priority_raised", "handoff.queued"]
    assert (raised.reassignments, raised.excluded_reps) == (0, ())


def test_raised_to_immediate_after_its_reps_day_it_goes_to_a_rep_still_working() -> None:
    # Given a standard handoff with the New York SDR, whose day is over, while Chicago and Los Angeles still work
    world = new_world()
    world.clock.moment = EVENING
    handoff_id = _standard_with(world, "evening", MAYA)
    # When an immediate trigger raises it
    world.service.request("evening", Priority.IMMEDIATE, "score_500", "c-immediate")
    # Then it is assigned to a working AMER SDR, on the immediate deadline counted from now
    raised = world.repository.handoff(handoff_id)
    assert raised is not None
    assert raised.rep_id in AMER_SDRS - {MAYA}
    assert (raised.status, raised.priority, raised.assigned_at) == (HandoffStatus.ASSIGNED, Priority.IMMEDIATE, EVENING)
    assert raised.sla_due_at is not None
    assert (raised.sla_due_at - EVENING).total_seconds() == 5 * 60
    # And the assignment is published from the New York SDR, who no longer holds it
    assigned = [e for e in world.bus.published if e.event_type is HandoffEventType.ASSIGNED][-1]
    assert (assigned.rep_id, assigned.previous_rep_id) == (raised.rep_id, MAYA)
    assert world.repository.rep_loads()[MAYA].open_handoffs == 0
    assert (raised.reassignments, raised.excluded_reps) == (0, ())


def test_raised_to_immediate_an_accepted_handoff_stays_with_its_rep() -> None:
    # Given a standard handoff its rep accepted in the evening (their day over since)
    world = new_world()
    world.clock.moment = EVENING
    handoff_id = _standard_with(world, "accepted", MAYA)
    world.service.accept(handoff_id, as_rep(MAYA))
    # When an immediate trigger raises it
    world.service.request("accepted", Priority.IMMEDIATE, "score_500", "c-immediate")
    # Then it stays theirs, accepted, at the raised priority
    raised = world.repository.handoff(handoff_id)
    assert raised is not None
    assert (raised.status, raised.rep_id, raised.priority) == (HandoffStatus.ACCEPTED, MAYA, Priority.IMMEDIATE)
