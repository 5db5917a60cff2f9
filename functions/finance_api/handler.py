"""The finance API: the spend ledger (record, list), FX tables and budgets with their figures."""

from datetime import date
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import business_metrics
from shared.finance.api_views import PeriodDay, finance_problem, spend_body_lines, spend_view
from shared.finance.budget_engine import budget_view
from shared.finance.listing import SpendRange, spend_page
from shared.finance.periods import parse_period
from shared.finance.ports import MAX_BUDGET_VERSION, StaleBudget
from shared.finance.service import SpendIdConflict
from shared.function_environment import environment_of
from shared.http.api import register_routes, resolve, rest_resolver
from shared.http.caller import caller_of
from shared.http.errors import Conflict, NotFound, json_response
from shared.observability import logger, metrics, traced
from shared.wiring import finance_service

app = rest_resolver()
service = finance_service(environment_of(__name__))
Period = Annotated[str, Path(min_length=7, max_length=7, pattern=r"^\d{4}-(0[1-9]|1[0-2]|Q[1-4])$")]
Month = Annotated[str | None, Query(min_length=7, max_length=7, pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
_DAY = "An ISO 8601 day, YYYY-MM-DD, 1900-01-01 to 9999-12-31"


def record_spend(body: Annotated[dict[str, Any], Body()]) -> Response[Any]:
    key = app.current_event.headers.get("Idempotency-Key") or app.current_event.headers.get("idempotency-key")
    with finance_problem():
        try:
            recorded = service.record_spend(spend_body_lines(body, key))
        except SpendIdConflict as exc:
            raise Conflict(str(exc), conflicts=exc.conflicts) from None
    metrics.add_metric(name="SpendLinesRecorded", unit="Count", value=len(recorded.created))
    for period in sorted({str(month) for entry in recorded.created for month in entry.line.months}):
        business_metrics.record_budget(service.figures(period), service.config.department_ids)
    lines = [spend_view(entry, service.config.company_currency) for entry in [*recorded.created, *recorded.existing]]
    return json_response(201 if recorded.created else 200, {"lines": lines})


def list_spend(
    period: Month = None,
    start: Annotated[PeriodDay | None, Query(alias="from", description=_DAY)] = None,
    end: Annotated[PeriodDay | None, Query(alias="to", description=_DAY)] = None,
    campaign_id: Annotated[str | None, Query(max_length=128)] = None,
    channel: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> dict[str, Any]:
    with finance_problem():
        spend_range = SpendRange.of(service.now().date(), period, start, end, campaign_id, channel)
        listing = spend_page(service.store, spend_range, limit, cursor)
    company = service.config.company_currency
    return {
        "from": spend_range.start.isoformat(),
        "to": spend_range.end.isoformat(),
        "items": [spend_view(entry, company) for entry in listing.items],
        "next_cursor": listing.next_cursor,
    }


def get_fx(period: Period) -> dict[str, Any]:
    with finance_problem():
        table = service.store.fx(str(parse_period(period)))
    if table is None:
        raise NotFound(f"no FX table for {period}: PUT /api/v1/integrations/finance/fx/{period} first")
    return table.to_record()


def put_fx(period: Period, body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    with finance_problem():
        return service.put_fx(period, body).to_record()


def put_budget(period: Period, body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    by = caller_of(app.current_event.request_context.authorizer.claims).name
    with finance_problem():
        try:
            stored = service.put_budget(period, body, by)
        except StaleBudget as exc:  # other PUTs won every attempt: the message names the version it is at
            raise Conflict(f"the budget changed while it was written, try again: {exc}") from None
        figures = service.figures(period)
    assert figures is not None
    return {"version": stored.version, **budget_view(figures)}


def get_budget(
    period: Period,
    as_of: Annotated[PeriodDay | None, Query(description=_DAY)] = None,
    version: Annotated[int | None, Query(ge=1, le=MAX_BUDGET_VERSION)] = None,
) -> dict[str, Any]:
    if version is not None:
        return _budget_version(period, version, as_of)
    with finance_problem():
        figures = service.figures(period, as_of)
    if figures is None:
        raise NotFound(f"no budget for {period}: PUT /api/v1/integrations/finance/budget/{period} first")
    return budget_view(figures)


def _budget_version(period: str, version: int, as_of: date | None) -> dict[str, Any]:
    with finance_problem():
        found = service.version_figures(period, version, as_of)
        current = service.store.budget(str(parse_period(period))) if found is None else None
    if found is None:
        held = f"its versions are 1 to {current.version}" if current else "it has none"
        raise NotFound(f"the budget of {period} has no version {version} ({held})")
    stored, figures = found
    return {
        "version": stored.version,
        "updated_at": stored.updated_at.isoformat(),
        "updated_by": stored.updated_by,
        **budget_view(figures),
    }


register_routes(
    app,
    __name__,
    globals(),
    responses={"record_spend": {200: {"description": "Recorded before"}, 201: {"description": "Recorded"}}},
)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@traced
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return resolve(app, event, context)
