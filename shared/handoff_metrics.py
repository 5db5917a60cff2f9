"""Speed-to-lead figures as CloudWatch metrics (EMF through Powertools), from what a handoff use case just
published: the dashboard's "Speed to lead" widget graphs their p50 and p95, and SLA breaches per hour; its
"SLA attainment" widget divides the acceptances within the SLA by those plus the breaches, as
`GET /api/v1/handoffs/metrics` does (a handoff accepted after a breach counts as the breach only)."""

from __future__ import annotations

from shared.events.handoff_events import HandoffEventType
from shared.handoffs.model import HandoffKind
from shared.handoffs.service import Outcome
from shared.observability import metrics

ASSIGN_SECONDS = "SpeedToLeadAssignSeconds"  # requested -> first assigned
ACCEPT_SECONDS = "SpeedToLeadAcceptSeconds"  # requested -> accepted
SLA_BREACHES = "HandoffSlaBreaches"
ACCEPTED_WITHIN_SLA = "HandoffsAcceptedWithinSla"
METRIC_NAMES = (ASSIGN_SECONDS, ACCEPT_SECONDS, SLA_BREACHES, ACCEPTED_WITHIN_SLA)


def record(outcome: Outcome) -> None:
    handoff = outcome.handoff
    if handoff is None or handoff.kind is not HandoffKind.LEAD:  # as GET /api/v1/handoffs/metrics: leads only
        return
    for event in outcome.events:
        elapsed = (event.occurred_at - handoff.requested_at).total_seconds()
        if event.event_type is HandoffEventType.ASSIGNED and event.previous_rep_id is None:
            metrics.add_metric(name=ASSIGN_SECONDS, unit="Seconds", value=max(0.0, elapsed))
        elif event.event_type is HandoffEventType.ACCEPTED:
            metrics.add_metric(name=ACCEPT_SECONDS, unit="Seconds", value=max(0.0, elapsed))
            if not any(entry.event == HandoffEventType.SLA_BREACHED.value for entry in handoff.history):
                metrics.add_metric(name=ACCEPTED_WITHIN_SLA, unit="Count", value=1)
        elif event.event_type is HandoffEventType.SLA_BREACHED:
            metrics.add_metric(name=SLA_BREACHES, unit="Count", value=1)
