"""The REST resolver every API function uses: validation, OpenAPI, RBAC, error mapping and the audit trail built
in, and its routes registered from the catalog."""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

from shared.audit.ports import AuditStore, AuditUnavailable
from shared.catalog import CATALOG, Catalog, Route, env_key
from shared.catalog.audit import AUDIT
from shared.catalog.model import AUDITED_PATH_PREFIX
from shared.http.errors import register_error_handlers
from shared.http.json_body import body_problem
from shared.http.rbac import denial, denied_response
from shared.observability import logger, metrics

if TYPE_CHECKING:
    from shared.audit.record import AuditRecord

AUDIT_UNAVAILABLE = 503
AUDIT_RETRY_AFTER_SECONDS = 5


def rest_resolver() -> APIGatewayRestResolver:
    app = APIGatewayRestResolver(enable_validation=True)
    register_error_handlers(app)
    return app


class RequestAudit:
    """Records one function's API requests in the audit table. The DynamoDB client and the audit file are made
    at the first request recorded, once: a cold start pays nothing for them, and a read that is not audited
    never does."""

    def __init__(self, table: str, store: AuditStore | None = None, max_targets: int = 500) -> None:
        self.table = table
        self._store = store
        self._max_targets = max_targets

    def record(
        self, event: Mapping[str, Any], route: Route, status: int | None = None, body: str | None = None
    ) -> None:
        """Store the request's record durably (`status` None: a write's receipt, before it runs); raises
        AuditUnavailable when it cannot be stored."""
        from shared.audit.requests import request_record  # at the first audited request, not at cold start

        if self._store is None:
            self._store, self._max_targets = _dynamodb_audit(self.table)
        record = request_record(event, route.key, datetime.now(UTC), self._max_targets, status, body)
        try:
            self._store.append(record)
        except AuditUnavailable:
            _not_stored(record)
            raise

    def record_or_report(self, event: Mapping[str, Any], route: Route, status: int, body: str | None = None) -> None:
        """Store the record; when it cannot be, the failure is logged with the record and counted
        (metric `AuditRecordsNotStored`), and the request's answer goes out unchanged."""
        with contextlib.suppress(AuditUnavailable):  # reported by `record`
            self.record(event, route, status, body)


def _dynamodb_audit(table: str) -> tuple[AuditStore, int]:
    from shared.adapters.dynamodb_audit import dynamodb_audit_store
    from shared.audit.config import shipped_audit_config

    config = shipped_audit_config()
    return dynamodb_audit_store(table, config), config.max_targets


def _not_stored(record: AuditRecord) -> None:
    """Log and count a record the trail could not store. Never raises: it reports a failure, whatever text the
    record holds (each lone surrogate is logged as its escape: no UTF-8 log takes the character itself)."""
    # The record holds no body and no email (shared.audit.privacy): it can go to the log whole.
    try:
        logger.error(
            "audit record not stored",
            extra={"audit_request_id": _loggable(record.request_id), "audit_phase": record.phase.value,
                   "audit_route": _loggable(record.route), "audit_actor": _loggable(record.actor),
                   "audit_status": record.status, "audit_targets": [_loggable(t.id) for t in record.targets]},
        )  # fmt: skip
    except Exception:  # the report of a failure must not become one: say at least that much
        with contextlib.suppress(Exception):
            logger.error("audit record not stored (its fields could not be logged)")
    with contextlib.suppress(Exception):
        metrics.add_metric(name="AuditRecordsNotStored", unit="Count", value=1)


def _loggable(text: object) -> str:
    """`text` as a UTF-8 log line can hold it: a lone surrogate becomes its `\\udXXX` escape."""
    return str(text).encode("utf-8", "backslashreplace").decode("utf-8")


# The audit trail of each route this process serves, set up by `register_routes` at cold start: the table's name
# is in the function's environment then (locally, only while the handler is imported).
AUDIT_TRAILS: dict[str, RequestAudit] = {}


def register_routes(
    app: APIGatewayRestResolver,
    module: str,
    operations: Mapping[str, Any],
    responses: Mapping[str, dict[int, Any]] | None = None,
    catalog: Catalog = CATALOG,
) -> None:
    """Serve each of the function's catalog routes (`module` is the handler's `__name__`) with the function of
    `operations` (the handler's `globals()`) named by the route's `operation`. Path, method, summary and
    description come from the catalog, so a route is written in one place; a route whose operation the module
    lacks fails the import. The function's `/api/v1` routes are audited (`resolve`)."""
    function = catalog.function_of_module(module)
    for route in function.routes:
        operation: Callable[..., Any] | None = operations.get(route.operation)
        if not callable(operation):
            raise LookupError(f"{module} has no function {route.operation!r} for catalog route {route.key}")
        app.route(
            rule=resolver_path(route.path),
            method=route.method,
            summary=route.summary,
            description=route.description or None,
            responses=(responses or {}).get(route.operation),
            tags=[route.domain.value],
        )(operation)
    audited = [route for route in function.routes if route.path.startswith(AUDITED_PATH_PREFIX)]
    if audited and AUDIT.name not in function.tables:
        # `compose` grants it to every such function: one built past it would serve writes unrecorded
        raise LookupError(f"{function.name} serves {audited[0].key} but the catalog gives it no audit table")
    if audited:
        variable = env_key("table", AUDIT.name)
        table = os.environ.get(variable)
        if not table:
            raise LookupError(f"{function.name}: environment is missing {variable} (its audit table)")
        trail = RequestAudit(table)
        AUDIT_TRAILS.update({route.key: trail for route in audited})


def resolver_path(path: str) -> str:
    """`/api/v1/leads/{lead_id}` as the resolver writes it: `/api/v1/leads/<lead_id>`."""
    return re.sub(r"\{([^}]+)\}", r"<\1>", path)


def resolve(app: APIGatewayRestResolver, event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Checks the caller's groups against the catalog, then the body of a JSON route is JSON the hub will
    read, then lets the resolver route and validate. Each refusal is a 4xx that says what is wrong.

    The audit trail records every refusal, every write and every audited read (`Route.audited_read`):
    - a write's receipt is stored before the route runs; when it cannot be, the write is refused (503,
      nothing done): no write without its record. Its outcome (status, what it was about) is stored before
      the answer goes out; when that fails, the answer still goes out (the write is done: a 5xx would have the
      caller repeat it), and the failure is logged and counted (`AuditRecordsNotStored`): the receipt says
      who wrote what;
    - an audited read is answered only once its record is stored (503 otherwise: nothing revealed unrecorded);
    - a refusal is recorded (logged and counted when it cannot be) and the refusal goes out.
    """
    route = CATALOG.route_for(str(event.get("httpMethod", "")), str(event.get("resource", "")))
    trail = AUDIT_TRAILS.get(route.key) if route is not None else None
    refused = denial(event) or body_problem(event)
    if refused is not None:
        response = denied_response(*refused)
        if trail is not None and route is not None:
            trail.record_or_report(event, route, refused[0], None)
        return response
    if trail is None or route is None or (route.method == "GET" and not route.audited_read):
        return app.resolve(event, context)
    if route.method != "GET":
        try:
            trail.record(event, route)
        except AuditUnavailable:
            return _audit_unavailable("nothing was changed")
    try:
        response = app.resolve(event, context)
    except Exception:
        trail.record_or_report(event, route, 502)  # the function fails: API Gateway answers 502
        raise
    status, body = int(response.get("statusCode", 200)), _text(response)
    if route.method != "GET":
        trail.record_or_report(event, route, status, body)
        return response
    try:
        trail.record(event, route, status, body)
    except AuditUnavailable:
        return _audit_unavailable("nothing is shown unrecorded")
    return response


def _audit_unavailable(consequence: str) -> dict[str, Any]:
    response = denied_response(
        AUDIT_UNAVAILABLE, f"the audit trail cannot record this request right now, so {consequence}; retry later"
    )
    response["headers"]["Retry-After"] = str(AUDIT_RETRY_AFTER_SECONDS)
    return response


def _text(response: Mapping[str, Any]) -> str | None:
    """The response's body as text, when it is text (the ids of a JSON answer are its targets)."""
    body = response.get("body")
    if not isinstance(body, str):
        return None
    if not response.get("isBase64Encoded"):
        return body
    try:
        return base64.b64decode(body).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
