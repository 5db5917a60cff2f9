"""EventBridge target: an intervention that starts tells its playbook's Slack channel and emails (SES), and the
account's CSM (a Slack direct message and the email: the rep holding its customer handoff), with the account,
why, the health before and the CSM task; without a CSM, the alert says none is assigned. A failure is retried,
then lands in the function's failure queue with the event (redrivable); a retry may repeat a message that did go
out (at least once)."""

from typing import Any

from aws_lambda_powertools.utilities.parser import envelopes, event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.events.success_events import SuccessEvent
from shared.function_environment import environment_of
from shared.observability import logger, metrics, traced
from shared.permanent_failures import dead_letter_permanent_failures
from shared.replayed_events import told_once_not_on_replay
from shared.success.alerts import intervention_alerts
from shared.wiring import success_alert_channels

environment = environment_of(__name__)
model, accounts, csm_of, channels = success_alert_channels(environment)


@logger.inject_lambda_context
@traced
@metrics.log_metrics
@dead_letter_permanent_failures(environment)
@told_once_not_on_replay
@event_parser(model=SuccessEvent, envelope=envelopes.EventBridgeEnvelope)
def handler(event: SuccessEvent, context: LambdaContext) -> dict[str, Any]:
    if event.tenant_id is None:
        return {"slack": [], "email": None, "note": "an intervention names its account"}
    playbook = model.playbook(event.playbook) if event.playbook else None
    if playbook is None or playbook.alert is None:  # nothing to send: no read of the account, its CSM or secrets
        return {"slack": [], "email": None, "playbook": event.playbook, "note": "its playbook sends no alert"}
    sent = channels()
    csm = csm_of(event.tenant_id)
    alerts = intervention_alerts(event, model, accounts.name_of(event.tenant_id), sent.hub_url, csm)
    posted = [sent.chat.post(message) for message in alerts.slack]
    mailed = sent.email.send(alerts.email) if alerts.email else None
    metrics.add_metric(name="InterventionAlerts", unit="Count", value=len(posted) + int(bool(mailed)))
    return {"slack": posted, "email": mailed, "playbook": event.playbook, "csm": csm.rep_id if csm else None}
