"""A transition's event reports the handoff as that transition left it (its history entry keeps the team, queue,
rule, priority and deadlines), not as it stands when the event is built: an accept breach is committed with the
reassignment that follows it, and the breach's event (the manager's "SLA missed" notice) must still say the
deadline that was missed and the team whose manager is told."""

from __future__ import annotations

from dataclasses import replace

from shared.events.handoff_events import HandoffEventType
from shared.handoffs.model import Priority
from shared.handoffs.notices import brief_of, notices_for
from shared.handoffs.notifications import NoticePurpose
from shared.handoffs.ports import Timer, TimerKind
from shared.handoffs.transition_events import events_of
from tests.unit.test_handoff_service import ROUTER, World, new_world


def _at_its_deadline(world: World, lead_id: str) -> tuple[str, Timer]:
    """A priority lead handoff with an AMER SDR, the clock at its accept deadline: its id and the deadline."""
    handoff = world.service.request(world.lead(lead_id), Priority.PRIORITY, "demo_request", f"c-{lead_id}").handoff
    assert handoff is not None
    assert handoff.team == "sdr-amer"
    [deadline] = world.timers_of(handoff.handoff_id, TimerKind.SLA_ACCEPT)
    world.clock.moment = deadline.due_at
    return handoff.handoff_id, deadline


def test_an_accept_breach_reports_the_deadline_missed_and_the_reassignment_the_new_one() -> None:
    # Given a handoff whose rep lets the accept deadline pass
    world = new_world()
    handoff_id, deadline = _at_its_deadline(world, "lead-1")
    # When the deadline fires (the breach and the reassignment are one commit)
    world.fire(deadline)
    # Then the breach's event says the deadline that was missed, of the rep who missed it
    [breach] = [e for e in world.bus.published if e.event_type is HandoffEventType.SLA_BREACHED]
    assert breach.sla_due_at == deadline.due_at
    # And the assignment that follows says the next rep's deadline, as the handoff has it
    moved = world.repository.handoff(handoff_id)
    assert moved is not None
    reassigned = [e for e in world.bus.published if e.event_type is HandoffEventType.ASSIGNED][-1]
    assert (reassigned.rep_id, reassigned.sla_due_at) == (moved.rep_id, moved.sla_due_at)
    assert moved.sla_due_at != deadline.due_at


def test_the_manager_of_the_team_the_breach_happened_in_is_told_and_shown_the_deadline_missed() -> None:
    # Given an AMER SDR's handoff whose lead is found to be German before the deadline passes (CRM sync, a form)
    world = new_world()
    handoff_id, deadline = _at_its_deadline(world, "lead-2")
    breaching = world.repository.handoff(handoff_id)
    assert breaching is not None
    world.leads.known["lead-2"] = replace(world.leads.known["lead-2"], country="DE", language="de")
    # When the deadline fires, and the reassignment routes it to another team
    world.fire(deadline)
    moved = world.repository.handoff(handoff_id)
    assert moved is not None
    assert moved.team != "sdr-amer"
    [breach] = [e for e in world.bus.published if e.event_type is HandoffEventType.SLA_BREACHED]
    # Then the "SLA missed" notice goes to the AMER manager, about the AMER rep and the deadline they missed
    [notice] = notices_for(breach, moved, ROUTER, brief_of(None, moved.lead_id, [], []), "https://hub.example")
    assert (notice.purpose, notice.recipient.rep_id, notice.previous_rep, notice.due_at) == (
        NoticePurpose.SLA_BREACHED,
        ROUTER.team("sdr-amer").manager,
        breaching.rep_id,
        deadline.due_at,
    )
    assert (breach.team, breach.rule_id) == ("sdr-amer", breaching.rule_id)


def test_a_transition_stored_before_entries_kept_their_fields_reports_the_handoffs_own() -> None:
    # Given a handoff whose history was stored before entries kept the handoff's fields
    world = new_world()
    handoff = world.service.request(world.lead("lead-3"), Priority.PRIORITY, "demo_request", "c-3").handoff
    assert handoff is not None
    assert all(entry.state is not None for entry in handoff.history[1:])
    old = replace(handoff, history=tuple(replace(entry, state=None) for entry in handoff.history))
    # When its events are built again
    [assigned, paused] = events_of(old)
    # Then they report the handoff's fields, as they always did
    for event in (assigned, paused):
        assert (event.team, event.rule_id, event.priority, event.sla_due_at, event.first_touch_due_at) == (
            handoff.team,
            handoff.rule_id,
            handoff.priority.value,
            handoff.sla_due_at,
            handoff.first_touch_due_at,
        )
    # And alike the events built from the entries that kept them
    assert events_of(handoff) == [assigned, paused]
