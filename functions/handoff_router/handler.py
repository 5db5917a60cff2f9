"""EventBridge target: a lead.handoff_requested is assigned to the rep the routing rules pick (or queued), a
Slack Accept / Reject click on a handoff message is applied to its handoff, a won deal hands its customer
to success, and an account ready to expand goes to sales. An event that can never be
applied (malformed) is dead-lettered at once with its reason; a stale click (the handoff moved on) is logged
and dropped, as Slack shows the clicker the handoff's state anyway."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import handoff_metrics
from shared.events.canonical import WEBHOOK_EVENT_SOURCE, EventType
from shared.events.lead_events import LeadEventType
from shared.events.success_events import SuccessEventType
from shared.function_environment import environment_of
from shared.handoffs.clicks import apply_click
from shared.handoffs.expansion_handoffs import signal_from
from shared.handoffs.requests import progress_from, request_from
from shared.handoffs.won_deals import CustomerDirectory, apply_won_deal
from shared.observability import logger, metrics, traced
from shared.permanent_failures import dead_letter_permanent_failures
from shared.wiring import handoff_service

environment = environment_of(__name__)
service = handoff_service(environment)
directory: CustomerDirectory = service.leads  # type: ignore[assignment]  # the lead store answers both


@logger.inject_lambda_context
@traced
@metrics.log_metrics
@dead_letter_permanent_failures(environment)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from_webhooks = event.get("source") == WEBHOOK_EVENT_SOURCE
    if from_webhooks and event.get("detail-type") == EventType.DEAL_WON.value:
        outcome = apply_won_deal(service, directory, event)
    elif from_webhooks:
        outcome = apply_click(service, event)
    elif event.get("detail-type") == SuccessEventType.EXPANSION_SIGNAL.value:
        outcome = service.expansion_handoff(signal_from(event))
    elif event.get("detail-type") == LeadEventType.STAGE_CHANGED.value:
        outcome = service.lead_progressed(*progress_from(event))
    else:
        outcome = service.request(*request_from(event))
    handoff_metrics.record(outcome)
    handoff = outcome.handoff
    logger.info("handoff event handled", extra={"handoff_id": handoff and handoff.handoff_id, "note": outcome.note})
    metrics.add_metric(name="HandoffEventsPublished", unit="Count", value=len(outcome.events))
    return {
        "handoff_id": handoff.handoff_id if handoff else None,
        "status": handoff.status.value if handoff else None,
        "rep_id": handoff.rep_id if handoff else None,
        "published": [e.event_type.value for e in outcome.events],
        "note": outcome.note,
    }
