"""EventBridge target: what the hub's domains change on synced records (lead stage and score, the handoff's
owner, account health) and what HubSpot and Salesforce report of theirs (canonical CRM events), decided field
by field on the synced record; the CRMs that must hear of it get a notice on the sync queue. An event that can
never be read goes to the dead-letter queue at once with the reason."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.adapters.dynamodb_privacy_ledger import erasure_guard
from shared.function_environment import environment_of
from shared.observability import logger, metrics, traced
from shared.permanent_failures import dead_letter_permanent_failures
from shared.privacy.guard import ERASED_NOTE
from shared.wiring import crm_sync_service

environment = environment_of(__name__)
service = crm_sync_service(environment, queue=True, scores=True)
guard = erasure_guard(environment)  # drops events about people erased after they happened


@logger.inject_lambda_context
@traced
@metrics.log_metrics
@dead_letter_permanent_failures(environment)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if guard.drops_event(event):
        return {"record": None, "decisions": [], "notices": [], "published": [], "note": ERASED_NOTE}
    decided = service.on_bus_event(str(event.get("source")), event.get("detail") or {})
    audited = [d for d in decided.decisions if d.outcome.value in ("applied", "kept", "conflict")]
    if audited:
        metrics.add_metric(name="SyncFieldDecisions", unit="Count", value=len(audited))
    logger.info("sync change decided", extra={"record": decided.record_key, "note": decided.note})
    return {
        "record": decided.record_key,
        "decisions": [f"{d.hub_field}:{d.outcome.value}:{d.rule}" for d in decided.decisions],
        "notices": [n.crm for n in decided.notices],
        "published": [e.event_type.value for e in decided.events],
        "note": decided.note,
    }
