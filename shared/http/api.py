"""The REST resolver every API function uses: validation, OpenAPI, RBAC and error mapping built in."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

from shared.http.errors import register_error_handlers
from shared.http.rbac import rbac_middleware

API_TITLE = "RevOps Hub"
API_VERSION = "1.0.0"


def rest_resolver() -> APIGatewayRestResolver:
    app = APIGatewayRestResolver(enable_validation=True)
    app.use(middlewares=[rbac_middleware()])
    register_error_handlers(app)
    return app
