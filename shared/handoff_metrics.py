"""Speed-to-lead figures as CloudWatch metrics (EMF through Powertools), from what a handoff use case just
published, in total, per priority and per team, as `GET /api/v1/handoffs/metrics` reports them.

The figures are emitted under `service=handoffs` whatever function produced them (a handoff is assigned by the
router, the timers' queue sweep or a manager through the API; accepted through the API or a Slack click), so
each figure is one metric, as the business figures are (`shared/business_metrics.py`). CloudWatch computes a
percentile only within one metric and never across dimension values, so every breakdown the dashboard shows
is a metric of its own, written by the same EMF line through its dimension sets (`DURATION_DIMENSIONS`,
`SLA_DIMENSIONS`): `{service}` for the totals, `{service, priority}`, `{service, team}` and, for the SLA
figures, `{service, priority, team}` (the rows of the API's `sla`). The priorities are the three of
`Priority`; the team is the handoff's (a team of `config/routing.json`), `none` for a lead no rule matched
(the API's `-`: CloudWatch refuses an empty dimension value).

The dashboard's "Speed to lead" widgets graph the durations' p50 and p95 and the SLA breaches; its "SLA
attainment" widgets average `HandoffSlaAttainment`, 100 for an acceptance within the SLA and 0 for a breach:
the acceptances within the SLA divided by those plus the breaches, as the API computes it (a handoff accepted
after a breach counts as the breach only), and an average, unlike a ratio of two counts, holds per team for
teams the dashboard finds by SEARCH. The first-touch SLA has its own three (`SpeedToLeadFirstTouchSeconds`
from the assignment to the touch, `HandoffFirstTouchBreaches`, `HandoffFirstTouchAttainment`): a missed
first touch is not a missed acceptance. `POWERTOOLS_METRICS_DISABLED` (the local hub) silences it all."""

from __future__ import annotations

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from shared.events.handoff_events import HandoffEventType
from shared.handoffs.first_touch import breached_sla
from shared.handoffs.model import Handoff, HandoffKind, SlaKind
from shared.handoffs.service import Outcome

SERVICE = "handoffs"
NO_TEAM = "none"  # a lead handoff no rule matched (it waits in the qualification queue): the API's team "-"

ASSIGN_SECONDS = "SpeedToLeadAssignSeconds"  # requested -> first assigned
ACCEPT_SECONDS = "SpeedToLeadAcceptSeconds"  # requested -> accepted
SLA_BREACHES = "HandoffSlaBreaches"  # the accept SLA's
ACCEPTED_WITHIN_SLA = "HandoffsAcceptedWithinSla"
SLA_ATTAINMENT = "HandoffSlaAttainment"  # percent: 100 an acceptance within the SLA, 0 a breach
FIRST_TOUCH_SECONDS = "SpeedToLeadFirstTouchSeconds"  # assigned -> first touch, the first-touch SLA's clock
FIRST_TOUCH_BREACHES = "HandoffFirstTouchBreaches"
FIRST_TOUCH_ATTAINMENT = "HandoffFirstTouchAttainment"  # percent: 100 a touch within the SLA, 0 a breach
METRIC_NAMES = (
    ASSIGN_SECONDS,
    ACCEPT_SECONDS,
    SLA_BREACHES,
    ACCEPTED_WITHIN_SLA,
    SLA_ATTAINMENT,
    FIRST_TOUCH_SECONDS,
    FIRST_TOUCH_BREACHES,
    FIRST_TOUCH_ATTAINMENT,
)

# The dimension sets each figure is written under (the first is the total).
DURATION_DIMENSIONS: tuple[tuple[str, ...], ...] = (("service",), ("service", "priority"), ("service", "team"))
SLA_DIMENSIONS: tuple[tuple[str, ...], ...] = (*DURATION_DIMENSIONS, ("service", "priority", "team"))


def team_of(handoff: Handoff) -> str:
    return handoff.team.strip() or NO_TEAM


def record(outcome: Outcome) -> None:
    handoff = outcome.handoff
    if handoff is None or handoff.kind is not HandoffKind.LEAD:  # as GET /api/v1/handoffs/metrics: leads only
        return
    durations, decisions = EphemeralMetrics(service=SERVICE), EphemeralMetrics(service=SERVICE)
    for event in outcome.events:
        elapsed = max(0.0, (event.occurred_at - handoff.requested_at).total_seconds())
        if event.event_type is HandoffEventType.ASSIGNED and event.previous_rep_id is None:
            durations.add_metric(name=ASSIGN_SECONDS, unit=MetricUnit.Seconds, value=elapsed)
        elif event.event_type is HandoffEventType.ACCEPTED:
            durations.add_metric(name=ACCEPT_SECONDS, unit=MetricUnit.Seconds, value=elapsed)
            if not any(breached_sla(entry) is SlaKind.ACCEPT for entry in handoff.history):
                decisions.add_metric(name=ACCEPTED_WITHIN_SLA, unit=MetricUnit.Count, value=1)
                decisions.add_metric(name=SLA_ATTAINMENT, unit=MetricUnit.Percent, value=100)
        elif event.event_type is HandoffEventType.SLA_BREACHED and event.sla == SlaKind.FIRST_TOUCH.value:
            decisions.add_metric(name=FIRST_TOUCH_BREACHES, unit=MetricUnit.Count, value=1)
            decisions.add_metric(name=FIRST_TOUCH_ATTAINMENT, unit=MetricUnit.Percent, value=0)
        elif event.event_type is HandoffEventType.SLA_BREACHED:
            decisions.add_metric(name=SLA_BREACHES, unit=MetricUnit.Count, value=1)
            decisions.add_metric(name=SLA_ATTAINMENT, unit=MetricUnit.Percent, value=0)
        elif event.event_type is HandoffEventType.FIRST_TOUCHED and event.touched_at is not None:
            # a lead is touched under its current assignment: the one the event's handoff carries
            since = max(0.0, (event.touched_at - (handoff.assigned_at or handoff.requested_at)).total_seconds())
            durations.add_metric(name=FIRST_TOUCH_SECONDS, unit=MetricUnit.Seconds, value=since)
            if event.within_sla:  # a touch after its breach counts as the breach only, as a late acceptance does
                decisions.add_metric(name=FIRST_TOUCH_ATTAINMENT, unit=MetricUnit.Percent, value=100)
    labels = {"service": SERVICE, "priority": handoff.priority.value, "team": team_of(handoff)}
    for figures, dimension_sets in ((durations, DURATION_DIMENSIONS), (decisions, SLA_DIMENSIONS)):
        if not figures.metric_set:
            continue
        # The first set is the `service` Powertools writes by itself; each further one is a series of its own.
        for names in dimension_sets[1:]:
            figures.add_dimensions(**{name: labels[name] for name in names})
        figures.flush_metrics()
