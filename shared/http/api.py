"""The REST resolver every API function uses: validation, OpenAPI, RBAC and error mapping built in, and its
routes registered from the catalog."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

from shared.catalog import CATALOG, Catalog
from shared.http.errors import register_error_handlers
from shared.http.json_body import body_problem
from shared.http.rbac import denial, denied_response

API_TITLE = "RevOps Hub"
API_VERSION = "1.0.0"


def rest_resolver() -> APIGatewayRestResolver:
    app = APIGatewayRestResolver(enable_validation=True)
    register_error_handlers(app)
    return app


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
    lacks fails the import."""
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


def resolver_path(path: str) -> str:
    """`/api/v1/leads/{lead_id}` as the resolver writes it: `/api/v1/leads/<lead_id>`."""
    return re.sub(r"\{([^}]+)\}", r"<\1>", path)


def resolve(app: APIGatewayRestResolver, event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Checks the caller's groups against the catalog, then the body of a JSON route is JSON the hub will
    read, then lets the resolver route and validate. Each refusal is a 4xx that says what is wrong."""
    refused = denial(event) or body_problem(event)
    if refused is not None:
        return denied_response(*refused)
    return app.resolve(event, context)
