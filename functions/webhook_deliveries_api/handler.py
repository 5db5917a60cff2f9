"""GET /api/v1/webhooks/deliveries: the webhook delivery log, newest first."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.function_environment import environment_of
from shared.http.api import register_routes, resolve, rest_resolver
from shared.observability import logger, metrics, traced
from shared.webhooks.api_models import DeliveryList, DeliveryView
from shared.webhooks.model import DeliveryQuery, Outcome
from shared.wiring import delivery_ledger

app = rest_resolver()
ledger = delivery_ledger(environment_of(__name__))


def list_deliveries(
    limit: Annotated[int, Query(ge=1, le=200, description="Page size")] = 50,
    vendor: Annotated[str | None, Query(max_length=64, description="Only this vendor")] = None,
    outcome: Annotated[Outcome | None, Query(description="Only this outcome")] = None,
    cursor: Annotated[str | None, Query(max_length=512, description="next_cursor of the previous page")] = None,
) -> DeliveryList:
    page = ledger.list_attempts(DeliveryQuery(limit=limit, vendor=vendor, outcome=outcome, before=cursor))
    return DeliveryList(items=[DeliveryView.of(a) for a in page.attempts], next_cursor=page.next_cursor)


register_routes(app, __name__, globals())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@traced
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return resolve(app, event, context)
