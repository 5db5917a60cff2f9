"""Scheduled (`success-nightly`): recomputes every account's health, so the measures time alone moves (days
since the last CSM touch, days past due, the windows signals fall out of) decay without a new signal; then
evaluates the interventions whose time has come (the health after, the outcome)."""

from collections import Counter
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import business_metrics
from shared.function_environment import environment_of
from shared.observability import logger, metrics, traced
from shared.wiring import success_service

service = success_service(environment_of(__name__))


@logger.inject_lambda_context
@traced
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    night = service.now().date().isoformat()
    bands: Counter[str] = Counter()
    failures: list[str] = []

    def failed(tenant_id: str, error: Exception) -> None:
        failures.append(tenant_id)
        logger.exception("health recomputation failed", extra={"tenant_id": tenant_id, "error": repr(error)[:1000]})

    recomputed = service.recompute_all(
        cause=f"nightly:{night}", progress=lambda tenant: bands.update(_band(tenant)), failed=failed
    )
    business_metrics.record_health_bands(bands)
    evaluated = service.evaluate_interventions()
    metrics.add_metric(name="HealthRecomputed", unit="Count", value=recomputed)
    metrics.add_metric(name="HealthRecomputeFailed", unit="Count", value=len(failures))
    metrics.add_metric(name="InterventionsEvaluated", unit="Count", value=len(evaluated))
    logger.info(
        "health recomputed",
        extra={"accounts": recomputed, "failed": len(failures), "interventions": len(evaluated)},
    )
    return {"accounts": recomputed, "failed": len(failures), "interventions_evaluated": len(evaluated), "night": night}


def _band(tenant_id: str) -> list[str]:
    """The band the account's snapshot holds now (just saved by the recompute): the dashboard's accounts per band."""
    stored = service.store.health(tenant_id)
    return [stored.band] if stored is not None and stored.band else []
