"""Scheduled (`success-nightly`): recomputes every account's health, so the measures time alone moves (days
since the last CSM touch, days past due, the windows signals fall out of) decay without a new signal; then
evaluates the interventions whose time has come (the health after, the outcome)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.function_environment import environment_of
from shared.observability import logger, metrics, traced
from shared.wiring import success_service

service = success_service(environment_of(__name__))


@logger.inject_lambda_context
@traced
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    night = service.now().date().isoformat()
    recomputed = service.recompute_all(cause=f"nightly:{night}")
    evaluated = service.evaluate_interventions()
    metrics.add_metric(name="HealthRecomputed", unit="Count", value=recomputed)
    metrics.add_metric(name="InterventionsEvaluated", unit="Count", value=len(evaluated))
    logger.info("health recomputed", extra={"accounts": recomputed, "interventions": len(evaluated)})
    return {"accounts": recomputed, "interventions_evaluated": len(evaluated), "night": night}
