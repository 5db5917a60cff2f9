"""The handoff events a handoff's stored transitions publish, with ids derived from the handoff and the
transition's place in its history: announcing the same transitions again publishes the same ids. Each event
reports the team, queue, rule, priority and deadlines its entry kept (as the transition left them), not the
handoff's as they are when it is announced."""

from __future__ import annotations

from shared.events.handoff_events import HandoffEvent, HandoffEventType
from shared.handoffs.first_touch import breached_sla, touched_within_sla
from shared.handoffs.model import Handoff, HandoffKind, HistoryEntry
from shared.handoffs.transitions import state_of


def events_of(handoff: Handoff, since: int = 0) -> list[HandoffEvent]:
    """The events of the transitions from `since` on: each its own, and the nurture pause on a lead's first
    assignment (seed 004: nurture pauses, the sales sequence starts)."""
    events = []
    for position in range(since, len(handoff.history)):
        entry = handoff.history[position]
        if entry.event is None:
            continue
        kind = HandoffEventType(entry.event)
        events.append(_event(handoff, kind, position, entry))
        first_assignment = kind is HandoffEventType.ASSIGNED and entry.previous_rep_id is None
        if first_assignment and handoff.kind is HandoffKind.LEAD:
            events.append(_event(handoff, HandoffEventType.NURTURE_PAUSED, position, entry))
        if first_assignment and handoff.kind is HandoffKind.CUSTOMER:
            for follower in (HandoffEventType.CUSTOMER_HANDOFF_COMPLETED, HandoffEventType.SUCCESS_PLAN_CREATED):
                events.append(_event(handoff, follower, position, entry))
    return events


def _event(handoff: Handoff, kind: HandoffEventType, position: int, entry: HistoryEntry) -> HandoffEvent:
    breached = breached_sla(entry) if kind is HandoffEventType.SLA_BREACHED else None
    # the fields as this transition left them (a breach: as they were when the deadline passed, before the
    # reassignment committed with it); an entry stored before entries kept them reports the handoff's own
    state = entry.state or state_of(handoff)
    # a lead is touched first once: the stored touch is this transition's
    touch = handoff.first_touch if kind is HandoffEventType.FIRST_TOUCHED else None
    return HandoffEvent(
        event_id=HandoffEvent.id_for(handoff.handoff_id, kind, str(position)),
        event_type=kind,
        occurred_at=entry.at,
        handoff_id=handoff.handoff_id,
        kind=handoff.kind.value,
        lead_id=handoff.lead_id,
        customer_id=handoff.customer_id,
        priority=state.priority.value,
        status=entry.status.value,
        rep_id=entry.rep_id,
        previous_rep_id=entry.previous_rep_id,
        team=state.team,
        queue=state.queue,
        rule_id=state.rule_id,
        sla_due_at=state.sla_due_at,
        first_touch_due_at=state.first_touch_due_at,
        sla=breached.value if breached else None,
        touched_at=touch.at if touch else None,
        channel=touch.channel.value if touch else None,
        within_sla=touched_within_sla(handoff) if touch else None,
        reassignments=handoff.reassignments,
        actor=entry.actor,
        reason=entry.cause,
        cause_event_id=entry.cause_event_id or handoff.cause_event_id,
    )
