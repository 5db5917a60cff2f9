"""What each handoff event type means, and an example of it: prose for the schema registry and
`docs/events.md`. `shared/handoffs/transition_events.py` is the authority on what is published when."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

from shared.events.handoff_events import HandoffEvent, HandoffEventType


@dataclass(frozen=True)
class HandoffEventTypeInfo:
    meaning: str
    described: bool = True


NOT_DESCRIBED = HandoffEventTypeInfo(
    meaning="Not described yet: add it to `HANDOFF_EVENT_TYPES` in `shared/events/handoff_taxonomy.py`.",
    described=False,
)

HANDOFF_EVENT_TYPES: Mapping[HandoffEventType, HandoffEventTypeInfo] = MappingProxyType(
    {
        HandoffEventType.ASSIGNED: HandoffEventTypeInfo(
            "A handoff went to a person: the rep the routing rules picked (`rule_id`, `team`), on a new request or "
            "on a reassignment (`previous_rep_id` set: the previous assignee rejected it or missed the SLA). "
            "`sla_due_at` is when they must accept by, and for a lead `first_touch_due_at` when they must first "
            "touch it by (the follow-up task's due time); the assignee is told in Slack and by email."
        ),
        HandoffEventType.QUEUED: HandoffEventTypeInfo(
            "No eligible rep (all at capacity, out of office, set unavailable at run time, inactive in the routing "
            "file, or outside working hours for an `immediate` handoff), or a buying signal from a lead below the "
            "ICP fit line: the handoff waits in `queue` (the team's fallback queue or the qualification queue). "
            "Never dropped."
        ),
        HandoffEventType.ACCEPTED: HandoffEventTypeInfo(
            "The assignee (or a manager) accepted the handoff, through the API or the Slack button; the reminders "
            "and the accept deadline are cancelled, a lead's first-touch deadline stays until it is touched. The "
            "lead becomes an SQL."
        ),
        HandoffEventType.REJECTED: HandoffEventTypeInfo(
            "The assignee (or a manager) turned the handoff down with a reason; a handoff.assigned to the next "
            "eligible rep follows (the rejecting rep is not offered it again)."
        ),
        HandoffEventType.REMINDED: HandoffEventTypeInfo(
            "The assignee has not accepted yet: a reminder at one of the routing file's offsets (seed 003 "
            "reminder_sequence)."
        ),
        HandoffEventType.FIRST_TOUCHED: HandoffEventTypeInfo(
            "The assignee (`rep_id`; or a manager or admin for them) first touched the lead of an assigned or "
            "accepted handoff: `touched_at`, by `channel`, and whether that met the first-touch SLA (`within_sla`). "
            "The follow-up task is done and the first-touch deadline cancelled; the status is unchanged. Once per "
            "handoff: the first touch wins."
        ),
        HandoffEventType.SLA_BREACHED: HandoffEventTypeInfo(
            "A deadline passed; `sla` says which. `accept`: the assignee (`rep_id`) did not accept by "
            "`sla_due_at`; the team's manager is told, and a handoff.assigned to the next eligible rep, or a "
            "handoff.escalated, follows. `first_touch`: the assignee (`rep_id`), who may have accepted, had not "
            "touched the lead by `first_touch_due_at`; the team's manager is told and the handoff stays with the "
            "rep (nothing follows)."
        ),
        HandoffEventType.ESCALATED: HandoffEventTypeInfo(
            "The handoff was reassigned as many times as the routing file allows (`reassignments`): it is now the "
            "team manager's (`rep_id`)."
        ),
        HandoffEventType.PRIORITY_RAISED: HandoffEventTypeInfo(
            "A more urgent trigger arrived for a lead that already has an open handoff: its `priority` (and SLA) "
            "rose instead of a second handoff being opened."
        ),
        HandoffEventType.COMPLETED: HandoffEventTypeInfo(
            "The handoff reached its end: the lead became an opportunity."
        ),
        HandoffEventType.RECYCLED: HandoffEventTypeInfo("The lead went back to marketing nurture."),
        HandoffEventType.NURTURE_PAUSED: HandoffEventTypeInfo(
            "A lead was assigned to sales for the first time: marketing nurture stops for it and the sales "
            "sequence starts (seed 004). Published beside the handoff.assigned, with the same fields."
        ),
        HandoffEventType.CUSTOMER_HANDOFF_COMPLETED: HandoffEventTypeInfo(
            "A won customer was handed from sales to customer success and assigned to a CSM."
        ),
        HandoffEventType.SUCCESS_PLAN_CREATED: HandoffEventTypeInfo(
            "A customer's success plan was started from the template (onboarding milestones with due dates)."
        ),
    }
)

_AT = datetime(2025, 1, 15, 9, 30, 4, tzinfo=UTC)
_HANDOFF = "8c1e4f2a9b7d4c6e8f0a1b2c3d4e5f60"


def describe(event_type: HandoffEventType) -> HandoffEventTypeInfo:
    return HANDOFF_EVENT_TYPES.get(event_type, NOT_DESCRIBED)


def example_event(event_type: HandoffEventType) -> HandoffEvent:
    fields: dict[str, Any] = {
        "handoff_id": _HANDOFF,
        "kind": "lead",
        "lead_id": "5b1f0c9e2d8a4e7b9c3f6a1d0e4b7c28",
        "priority": "priority",
        "status": "assigned",
        "rep_id": "amer-sdr-1",
        "team": "amer-sdr",
        "rule_id": "amer-inbound",
        "sla_due_at": _AT + timedelta(minutes=30),
        "first_touch_due_at": _AT + timedelta(minutes=120),
        "actor": "hub",
        "reason": "demo_request at 2025-01-15T09:30:00+00:00; rule amer-inbound: round_robin in amer-sdr",
        "cause_event_id": "0f6c3a52-7b1d-5e8f-9a2b-3c4d5e6f7a8b",
    }
    if event_type in (HandoffEventType.REJECTED, HandoffEventType.ESCALATED):
        fields |= {"previous_rep_id": "amer-sdr-1", "rep_id": "amer-sdr-2", "reassignments": 1}
    if event_type is HandoffEventType.SLA_BREACHED:  # the rep who missed it; the reassignment is its own event
        fields |= {"sla": "accept", "reassignments": 1, "reason": "SLA breached: not accepted by 2025-01-15 10:00:04"}
    if event_type is HandoffEventType.FIRST_TOUCHED:
        fields |= {
            "status": "accepted",
            "sla_due_at": None,
            "actor": "amer-sdr-1",
            "reason": "first touch by call: left a voicemail, meeting proposed for Thursday",
            "touched_at": _AT - timedelta(minutes=2),  # recorded after the call
            "channel": "call",
            "within_sla": True,
        }
    if event_type is HandoffEventType.ACCEPTED:
        fields |= {"status": "accepted", "sla_due_at": None, "actor": "amer-sdr-1", "reason": "accepted"}
    if event_type is HandoffEventType.QUEUED:
        fields |= {
            "status": "queued",
            "rep_id": None,
            "queue": "amer-sdr-overflow",
            "sla_due_at": None,
            "first_touch_due_at": None,
        }
    return HandoffEvent(
        event_id=HandoffEvent.id_for(_HANDOFF, event_type, "1"), event_type=event_type, occurred_at=_AT, **fields
    )
