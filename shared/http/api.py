"""The REST resolver every API function uses: validation, OpenAPI, RBAC and error mapping built in."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

from shared.http.errors import register_error_handlers
from shared.http.json_body import body_problem
from shared.http.rbac import denial, denied_response

API_TITLE = "RevOps Hub"
API_VERSION = "1.0.0"


def rest_resolver() -> APIGatewayRestResolver:
    app = APIGatewayRestResolver(enable_validation=True)
    register_error_handlers(app)
    return app


def resolve(app: APIGatewayRestResolver, event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Checks the caller's groups against the catalog, then the body of a JSON route is JSON the hub will
    read, then lets the resolver route and validate. Each refusal is a 4xx that says what is wrong."""
    refused = denial(event) or body_problem(event)
    if refused is not None:
        return denied_response(*refused)
    return app.resolve(event, context)
