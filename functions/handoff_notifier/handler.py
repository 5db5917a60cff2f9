"""EventBridge target: a handoff transition someone must hear about becomes a Slack message (with Accept /
Reject buttons for the assignee) and an email, each delivered on its own: Slack failing does not keep the
email from going out, nor the other way round. A failure is retried, then lands in the function's failure
queue with the event (redrivable); a retry sends only the channels that did not go out. The assignment never
waits on it."""

from typing import Any

from aws_lambda_powertools.utilities.parser import envelopes, event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.events.handoff_events import HandoffEvent
from shared.function_environment import environment_of
from shared.observability import logger, metrics, traced
from shared.permanent_failures import dead_letter_permanent_failures
from shared.replayed_events import told_once_not_on_replay
from shared.wiring import handoff_notifier

environment = environment_of(__name__)
notifier = handoff_notifier(environment)


@logger.inject_lambda_context
@traced
@metrics.log_metrics
@dead_letter_permanent_failures(environment)
@told_once_not_on_replay
@event_parser(model=HandoffEvent, envelope=envelopes.EventBridgeEnvelope)
def handler(event: HandoffEvent, context: LambdaContext) -> dict[str, Any]:
    sent = notifier.notify(event)
    metrics.add_metric(name="HandoffSlackMessages", unit="Count", value=len(sent.slack))
    metrics.add_metric(name="HandoffEmails", unit="Count", value=len(sent.email))
    logger.info("handoff notifications", extra={"handoff_id": event.handoff_id, "note": sent.note})
    return {"slack": sent.slack, "email": sent.email, "already_sent": sent.already_sent, "note": sent.note}
