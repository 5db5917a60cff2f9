"""The CRM sync API: a synced record, its audit trail, and the conflicts a person decides."""

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.crm.api_models import (
    AuditEntryView,
    AuditTrail,
    ConflictList,
    ConflictView,
    RecordRef,
    Resolution,
    SyncedRecordView,
    record_of,
)
from shared.crm.audit import ConflictStatus
from shared.crm.service import ConflictClosed, ConflictNotFound
from shared.function_environment import environment_of
from shared.http.api import register_routes, resolve, rest_resolver
from shared.http.caller import caller_of
from shared.http.errors import Conflict, NotFound
from shared.observability import logger, metrics, traced
from shared.wiring import crm_sync_service

app = rest_resolver()
service = crm_sync_service(environment_of(__name__), queue=True)
Cursor = Annotated[str | None, Query(max_length=2000)]
Limit = Annotated[int, Query(ge=1, le=200)]


def sync_audit(record: Annotated[RecordRef, Query()], cursor: Cursor = None, limit: Limit = 50) -> AuditTrail:
    key = record_of(record)
    page = service.store.audit(key, cursor, limit)
    return AuditTrail(record=key, items=[AuditEntryView.of(e) for e in page.entries], next_cursor=page.next_cursor)


def sync_record(record: Annotated[RecordRef, Query()]) -> SyncedRecordView:
    view = service.record_view(record_of(record))
    if view is None:
        raise NotFound(f"no synced record {record_of(record)}")
    return SyncedRecordView.model_validate(view)


def list_conflicts(
    status: Annotated[Literal["open", "resolved"] | None, Query()] = None, cursor: Cursor = None, limit: Limit = 50
) -> ConflictList:
    page = service.store.conflicts(ConflictStatus(status) if status else None, cursor, limit)
    return ConflictList(items=[ConflictView.of(c) for c in page.conflicts], next_cursor=page.next_cursor)


def resolve_conflict(
    conflict_id: Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-f0-9]+$")],
    resolution: Annotated[Resolution, Body()],
) -> ConflictView:
    conflict = service.store.conflict(conflict_id)
    if conflict is None:
        raise NotFound(f"no conflict {conflict_id}")
    actor = caller_of(app.current_event.request_context.authorizer.claims).name
    try:
        return ConflictView.of(service.resolve(conflict_id, resolution.value_for(conflict), actor))
    except ConflictNotFound as exc:
        raise NotFound(f"no conflict {exc}") from None
    except ConflictClosed as exc:
        raise Conflict(str(exc)) from None


register_routes(app, __name__, globals())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@traced
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return resolve(app, event, context)
