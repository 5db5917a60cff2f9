"""EventBridge target: usage, tickets, NPS answers, payments, subscriptions and CSM touches are kept as their
account's health signals, and the account's health is recomputed; a change (and a new churn risk) is
published. A signal whose account the hub does not know yet is parked under its subject and adopted by the
next signal about the same subject (never retried: a retry would hold the rule's other events back). A
signal that can never be read (a negative seat count) goes to the dead-letter queue at once with the reason."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.adapters.dynamodb_privacy_ledger import erasure_guard
from shared.events.canonical import CanonicalEvent
from shared.function_environment import environment_of
from shared.observability import logger, metrics, traced
from shared.permanent_failures import dead_letter_permanent_failures
from shared.privacy.guard import ERASED_NOTE
from shared.scoring.results import points_or_none
from shared.wiring import success_service

environment = environment_of(__name__)
service = success_service(environment)
guard = erasure_guard(environment)  # drops events about people erased after they happened


@logger.inject_lambda_context
@traced
@metrics.log_metrics
@dead_letter_permanent_failures(environment)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if guard.drops_event(event):
        return {"tenant_id": None, "score": None, "band": None, "published": [], "note": ERASED_NOTE}
    outcome = service.handle(CanonicalEvent.model_validate(event.get("detail")))
    if outcome.events:
        metrics.add_metric(name="HealthEventsPublished", unit="Count", value=len(outcome.events))
    logger.info("health signal handled", extra={"tenant_id": outcome.tenant_id, "note": outcome.note})
    health = outcome.health
    return {
        "tenant_id": outcome.tenant_id,
        "score": points_or_none(health.score_hundredths) if health else None,
        "band": health.band if health else None,
        "published": [e.event_type.value for e in outcome.events],
        "note": outcome.note,
    }
