"""EventBridge target: a budget threshold crossed or a forecast overrun is posted to the department's Slack channel
(Block Kit) and emailed (SES) to its budget owner, as `config/finance.json` names them. A failure is retried, then
lands in the function's failure queue with the event (redrivable).

Slack goes first, the email after it: a Slack failure (rate limited, 5xx, a channel the bot cannot post to) raises
before anything was emailed, so Lambda's retry sends each once and the owner is never emailed twice for one alert.
Only an SES failure after Slack took the message repeats the Slack post on the retry (at least once, as the bus
delivers). A replayed event tells no one (`told_once_not_on_replay`)."""

from typing import Any

from aws_lambda_powertools.utilities.parser import envelopes, event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.events.finance_events import FinanceEvent
from shared.finance.alert_notices import budget_alert_email
from shared.finance.alert_slack import budget_alert_slack
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
    # Who is told, from the file alone: nothing to tell reads no secret
    if budget_alert_email(event, config) is None and budget_alert_slack(event, config) is None:
        return {"slack": None, "email": None, "note": f"no owner nor channel to tell for {event.department}"}
    sent = channels()
    slack = budget_alert_slack(event, config, sent.hub_url)
    email = budget_alert_email(event, config, sent.hub_url)
    posted = sent.chat.post(slack) if slack is not None else None  # first: a failure here has emailed no one
    if posted is not None:
        metrics.add_metric(name="BudgetAlertSlackMessages", unit="Count", value=1)
    mailed = sent.email.send(email) if email is not None else None
    if mailed is not None:
        metrics.add_metric(name="BudgetAlertEmails", unit="Count", value=1)
    logger.info("budget alert told", extra={"line": event.line, "event_id": event.event_id})
    return {
        "slack": posted,
        "channel": slack.channel if slack is not None else None,
        "email": mailed,
        "to": list(email.to) if email is not None else [],
    }
