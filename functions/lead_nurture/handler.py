"""Hourly schedule: rescore the MQLs and Leads (and the SQLs sales recycled) as of now, so time-based handoff
triggers (14 days of nurturing) fire without waiting for the lead's next engagement; leads whose consent withholds
nurture are not enrolled (passed by). A run that runs out of time leaves the rest to the next runs, which resume
where it stopped (`shared.leads.nurture`)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.function_environment import environment_of
from shared.leads.nurture import rescore_nurtured
from shared.observability import logger, metrics, traced
from shared.wiring import lead_service, nurture_cursors

environment = environment_of(__name__)
service = lead_service(environment)
cursors = nurture_cursors(environment)


@logger.inject_lambda_context
@traced
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    summary = rescore_nurtured(
        service, stop_when=lambda: context.get_remaining_time_in_millis() < 20_000, cursors=cursors
    )
    metrics.add_metric(name="NurtureHandoffs", unit="Count", value=summary["handoffs"])
    # leads whose withdrawn consent keeps them out of nurture
    metrics.add_metric(name="NurtureNotEnrolled", unit="Count", value=summary["not_enrolled"])
    # leads this run had no time for (the next runs reach them): how far behind the clock is
    metrics.add_metric(name="NurtureRemaining", unit="Count", value=summary["remaining"])
    return summary
