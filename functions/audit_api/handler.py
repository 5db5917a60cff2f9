"""GET /api/v1/audit: the audit trail, searched by actor, target, route, request id and time, newest first."""

from datetime import timedelta
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.adapters.clock import WallClock
from shared.adapters.dynamodb_audit import dynamodb_audit_store
from shared.audit.api_models import AuditEntryView, AuditList
from shared.audit.config import shipped_audit_config
from shared.audit.query import AuditQuery, decode_cursor, encode_cursor, search_window
from shared.catalog.audit import AUDIT
from shared.function_environment import environment_of
from shared.http.api import register_routes, resolve, rest_resolver
from shared.http.moments import Moment
from shared.observability import logger, metrics, traced

app = rest_resolver()
config = shipped_audit_config()
store = dynamodb_audit_store(environment_of(__name__).table(AUDIT.name), config)
retention = timedelta(days=config.retention_days)
clock = WallClock()  # the trail is in real time, even where the local hub moves the domains' clock


Actor = Annotated[str | None, Query(min_length=1, max_length=300, description="Token sub, client id or ARN")]
Target = Annotated[str | None, Query(min_length=1, max_length=300, description="An id the request was about")]
RouteKey = Annotated[str | None, Query(min_length=1, max_length=300, description="`POST /api/v1/leads/{lead_id}/...`")]
RequestId = Annotated[str | None, Query(min_length=1, max_length=200, pattern=r"^[^#]+$")]


def search_audit(
    actor: Actor = None,
    target: Target = None,
    route: RouteKey = None,
    request_id: RequestId = None,
    start: Annotated[Moment | None, Query(alias="from", description="ISO 8601 with offset, inclusive")] = None,
    end: Annotated[Moment | None, Query(alias="to", description="ISO 8601 with offset, exclusive")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=1024, description="next_cursor of the previous page")] = None,
) -> AuditList:
    low, high = search_window(start, end, clock.now(), retention)
    query = AuditQuery(
        start=low,
        end=high,
        actor=actor,
        target=target,
        route=route,
        request_id=request_id,
        limit=limit,
        before=decode_cursor(cursor),
    )
    page = store.search(query)
    return AuditList(
        items=[AuditEntryView.of(record, found_under) for record, found_under in page.records],
        next_cursor=encode_cursor(page.next_position),
    )


register_routes(app, __name__, globals())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@traced
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return resolve(app, event, context)
