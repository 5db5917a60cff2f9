"""Scheduled (`attribution-data-driven`): fits the data-driven Markov model on the window's journeys, converting
and not, re-credits the window's conversions with it, and publishes `attribution.model_fitted`."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.function_environment import environment_of
from shared.observability import logger, metrics, traced
from shared.wiring import attribution_service

service = attribution_service(environment_of(__name__))


@logger.inject_lambda_context
@traced
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    refit = service.fit_data_driven()
    fit = refit.fit
    metrics.add_metric(name="DataDrivenJourneys", unit="Count", value=fit.fit.journeys)
    logger.info("data-driven model fitted", extra={"fit_id": fit.fit_id, "recredited": refit.recredited})
    return {
        "fit_id": fit.fit_id,
        "journeys": fit.fit.journeys,
        "conversions": fit.fit.conversions,
        "recredited": refit.recredited,
        "skipped": refit.skipped,
    }
