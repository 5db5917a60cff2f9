"""Scheduled: compare what changed in each CRM since the last run with the hub's records; the rules repair,
critical conflicts are flagged, counts are published (`sync.reconciled`)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.function_environment import environment_of
from shared.observability import logger, metrics, traced
from shared.wiring import crm_clients, crm_sync_service

environment = environment_of(__name__)
service = crm_sync_service(environment, queue=True)


@logger.inject_lambda_context
@traced
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    run_id = f"reconcile-{event.get('id') or service.now().isoformat()}"
    run = service.reconcile(crm_clients(environment), run_id)
    for name, counts in run.counts.items():
        metrics.add_metric(name="SyncReconcileRepaired", unit="Count", value=counts.get("repaired", 0))
        logger.info("reconciled", extra={"scope": name, **counts})
    return {"run_id": run.run_id, "counts": run.counts}
