"""The attribution API: a deal's journey with every credit, a campaign's or the channels' attributed revenue
per model, and a campaign's ROI against the spend ledger."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.attribution.journeys import Model
from shared.attribution.reports import MonthRange, campaign_view, channels_view, deal_view, models_of
from shared.function_environment import environment_of
from shared.http.api import register_routes, resolve, rest_resolver
from shared.http.errors import NotFound
from shared.observability import logger, metrics, traced
from shared.wiring import attribution_service

app = rest_resolver()
service = attribution_service(environment_of(__name__))
Id = Annotated[str, Path(min_length=1, max_length=256)]
_MONTH_OR_DAY = r"^\d{4}-\d{2}(-\d{2})?$"
From = Annotated[str | None, Query(alias="from", min_length=7, max_length=10, pattern=_MONTH_OR_DAY)]
To = Annotated[str | None, Query(alias="to", min_length=7, max_length=10, pattern=_MONTH_OR_DAY)]
ModelName = Annotated[str | None, Query(max_length=32)]


def deal_attribution(deal_id: Id) -> dict[str, Any]:
    conversion = service.deal_credit(deal_id)  # a HubSpot deal counted as its Salesforce deal: that one
    if conversion is None:
        raise NotFound(f"no won deal {deal_id} has been credited (the deal_id as in subject.deal_id: standard:D-1)")
    return deal_view(conversion)


def campaign_attribution(
    campaign_id: Id, model: ModelName = None, start: From = None, end: To = None
) -> dict[str, Any]:
    models, months = models_of(model), MonthRange.of(service.now().date(), start, end)
    totals = service.campaign_totals(campaign_id, months.months)
    return campaign_view(campaign_id, months, totals, service.pipeline(campaign_id), models, service.company_currency)


def channel_attribution(model: ModelName = None, start: From = None, end: To = None) -> dict[str, Any]:
    models, months = models_of(model), MonthRange.of(service.now().date(), start, end)
    return channels_view(months, service.channel_totals(months.months), models, service.company_currency)


def campaign_roi(campaign_id: Id, model: ModelName = None, start: From = None, end: To = None) -> dict[str, Any]:
    models, months = models_of(model), MonthRange.of(service.now().date(), start, end)
    return service.roi(campaign_id, months, models)


def sales_performance(model: ModelName = None, start: From = None, end: To = None) -> dict[str, Any]:
    months = MonthRange.of(service.now().date(), start, end)
    chosen = Model.LINEAR if model in (None, "all") else models_of(model)[0]
    return service.performance(months, chosen)


def compare_settings(body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    return service.compare(body)


register_routes(app, __name__, globals())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@traced
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return resolve(app, event, context)
