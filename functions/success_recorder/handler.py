"""EventBridge target: usage, tickets, NPS and CSAT answers, payments, subscriptions, CSM touches and the
executive sponsor's engagements are kept as their account's health signals, and the account's health is
recomputed; a change (and a new churn risk) is published. A customer handoff's `success_plan.created` keeps
its success plan (milestones, executive sponsor), read from the handoff store, as the customer's signal.
A signal whose account the hub does not know yet is parked under its subject and adopted by the account's
`account.upserted` once the lead processor has linked it (that one event is retried while the lead store is
behind it) or by the next signal about the same subject; a signal is never retried for it (a retry would hold
the rule's other events back). A signal that can
never be read (a negative seat count) goes to the dead-letter queue at once with the reason."""

from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.adapters.dynamodb_handoffs import DynamoDbHandoffRepository
from shared.adapters.dynamodb_privacy_ledger import erasure_guard
from shared.catalog.handoffs import EVENT_SOURCE as HANDOFF_EVENT_SOURCE
from shared.catalog.handoffs import HANDOFFS
from shared.catalog.success import ACCOUNT_UPSERTED
from shared.events.canonical import CanonicalEvent
from shared.function_environment import environment_of
from shared.observability import logger, metrics, traced
from shared.permanent_failures import dead_letter_permanent_failures
from shared.privacy.guard import ERASED_NOTE
from shared.scoring.results import points_or_none
from shared.success.onboarding import plan_announced
from shared.wiring import success_service

environment = environment_of(__name__)
service = success_service(environment)
guard = erasure_guard(environment)  # drops events about people erased after they happened
handoffs = DynamoDbHandoffRepository(boto3.client("dynamodb"), environment.table(HANDOFFS.name))  # read only


@logger.inject_lambda_context
@traced
@metrics.log_metrics
@dead_letter_permanent_failures(environment)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if guard.drops_event(event):
        return {"tenant_id": None, "score": None, "band": None, "published": [], "note": ERASED_NOTE}
    if event.get("source") == HANDOFF_EVENT_SOURCE:
        outcome = service.record_plan(plan_announced(event), handoffs)
    elif event.get("detail-type") == ACCOUNT_UPSERTED:
        outcome = service.adopt_parked(CanonicalEvent.model_validate(event.get("detail")))
    else:
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
