"""EventBridge target: a budget threshold crossed or a forecast overrun is emailed (SES) to the department's
budget owner. A failure is retried, then lands in the function's failure queue with the event (redrivable)."""

from typing import Any

from aws_lambda_powertools.utilities.parser import envelopes, event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.events.finance_events import FinanceEvent
from shared.finance.alert_notices import budget_alert_email
from shared.function_environment import environment_of
from shared.observability import logger, metrics, traced
from shared.permanent_failures import dead_letter_permanent_failures
from shared.replayed_events import told_once_not_on_replay
from shared.wiring import budget_alert_channels

environment = environment_of(__name__)
config, channels = budget_alert_channels(environment)


@logger.inject_lambda_context
@traced
@metrics.log_metrics
@dead_letter_permanent_failures(environment)
@told_once_not_on_replay
@event_parser(model=FinanceEvent, envelope=envelopes.EventBridgeEnvelope)
def handler(event: FinanceEvent, context: LambdaContext) -> dict[str, Any]:
    message = budget_alert_email(event, config)
    if message is None:
        return {"email": None, "note": f"no owner to tell for {event.department}"}
    message_id = channels().email.send(message)
    metrics.add_metric(name="BudgetAlertEmails", unit="Count", value=1)
    return {"email": message_id, "to": list(message.to)}
