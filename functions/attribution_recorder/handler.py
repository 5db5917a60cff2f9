"""EventBridge target: deal events are folded into their deals (an open one with an amount counts as pipeline),
a won deal with an amount or a new customer's first payment is credited to its journey under every model, once,
and lead events count the funnel (visitors, and entries into each stage with the campaign that brought them).
An event that can never be used (malformed, an amount in a currency without an FX rate) goes to the
dead-letter queue at once with the reason; `make redrive` hands it back once the cause is fixed."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.adapters.dynamodb_privacy_ledger import erasure_guard
from shared.events.canonical import WEBHOOK_EVENT_SOURCE, CanonicalEvent
from shared.events.lead_events import LeadEvent
from shared.function_environment import environment_of
from shared.observability import logger, metrics, traced
from shared.permanent_failures import dead_letter_permanent_failures
from shared.privacy.guard import ERASED_NOTE
from shared.wiring import attribution_service

environment = environment_of(__name__)
service = attribution_service(environment)
guard = erasure_guard(environment)  # drops events about people erased after they happened


@logger.inject_lambda_context
@traced
@metrics.log_metrics
@dead_letter_permanent_failures(environment)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if guard.drops_event(event):
        return {"conversion_id": None, "touches": None, "deal_id": None, "published": [], "note": ERASED_NOTE}
    if event.get("source") == WEBHOOK_EVENT_SOURCE:
        outcome = service.handle(CanonicalEvent.model_validate(event.get("detail")))
    else:
        outcome = service.handle_lead_event(LeadEvent.model_validate(event.get("detail")))
    conversion = outcome.conversion
    if outcome.events:
        metrics.add_metric(name="ConversionsAttributed", unit="Count", value=len(outcome.events))
    logger.info("attribution event handled", extra={"note": outcome.note})
    return {
        "conversion_id": conversion.conversion_id if conversion else None,
        "touches": len(conversion.touches) if conversion else None,
        "deal_id": outcome.deal.deal_id if outcome.deal else None,
        "published": [e.event_type.value for e in outcome.events],
        "note": outcome.note,
    }
