"""The hub's OpenAPI document, merged from every API function's resolver (each route's pydantic models)
and annotated from the catalog with who may call each route."""

from __future__ import annotations

import importlib
from typing import Any

from aws_lambda_powertools.event_handler.openapi.models import (
    APIKey,
    APIKeyIn,
    HTTPBearer,
    OAuth2,
    OAuthFlowClientCredentials,
    OAuthFlows,
)

from shared.catalog import Catalog, Function, Route
from shared.catalog.partners import takes_api_key
from shared.catalog.scopes import SystemScopes, catalog_scopes, composed_domains

# Here, not in shared.http.api: the local hub serves the document from a module that must not import the
# functions' observability (its metrics would be set up outside any function's environment, without a namespace).
API_TITLE = "RevOps Hub"
API_VERSION = "1.0.0"

BEARER = "cognito"
CLIENT_CREDENTIALS = "clients"
PARTNER_KEY = "partner_api_key"
API_KEY_HEADER = "x-api-key"
TOKEN_PATH = "/oauth2/token"  # noqa: S105 (Cognito's token endpoint's path on the pool's domain, not a password)

DESCRIPTION = (
    "Webhooks (`/webhooks/...`) are authenticated by each vendor's signature over the raw body. Every `/api/v1` route "
    "needs a Cognito **access token** of the hub's user pool as `Authorization: Bearer <token>`; an ID token is "
    "refused. A person's access token (signed in with SRP and MFA) opens the routes of their groups "
    "(`x-revops-groups`). A system's access token, from the OAuth 2.0 client-credentials grant of its app client "
    "(config/api-clients.json), opens the routes of its scopes: `revops/<domain>.read` for a domain's GET routes, "
    "`revops/<domain>.write` for its other routes (`x-revops-scope`); routes only admins may call take no scope. "
    "Partners that can only send a key call the partner routes (`/api/v1/partners/...`) with an API key of their "
    f"usage plan as `{API_KEY_HEADER}` (issued and rotated by `make rotate-api-key`)."
)


def openapi_document(catalog: Catalog, server_url: str | None = None) -> dict[str, Any]:
    token_url = f"{server_url.rstrip('/')}{TOKEN_PATH}" if server_url else TOKEN_PATH
    offered = catalog_scopes()
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": API_TITLE, "version": API_VERSION, "description": DESCRIPTION},
        "paths": {},
        "components": {
            "schemas": {},
            "securitySchemes": {
                BEARER: _dumped(
                    HTTPBearer(
                        bearerFormat="JWT",
                        description="A Cognito access token (not an ID token): a person's, or a system's "
                        "client-credentials token.",
                    )
                ),
                CLIENT_CREDENTIALS: _dumped(
                    OAuth2(
                        description="Systems: the client-credentials grant of an app client at the user pool's "
                        f"token endpoint (locally the hub's {TOKEN_PATH}; in AWS the stack's TokenEndpoint output), "
                        "sent as a bearer token.",
                        flows=OAuthFlows(
                            clientCredentials=OAuthFlowClientCredentials(
                                tokenUrl=token_url,
                                scopes={
                                    scope.full_name: f"{'Read' if scope.access == 'read' else 'Change'} {scope.domain}"
                                    for scope in offered.scopes
                                },
                            )
                        ),
                    )
                ),
                PARTNER_KEY: _dumped(
                    APIKey(
                        **{"in": APIKeyIn.header},  # `in` is a Python keyword
                        name=API_KEY_HEADER,
                        description="A partner's API key, of its usage plan; partner routes only.",
                    )
                ),
            },
        },
    }
    if server_url:
        document["servers"] = [{"url": server_url}]
    for fn in catalog.functions:
        if not fn.routes:
            continue
        app = _resolver_of(fn)
        schema = app.get_openapi_schema(title=API_TITLE, version=API_VERSION).model_dump(
            by_alias=True, exclude_none=True, mode="json"
        )
        document["components"]["schemas"].update(schema.get("components", {}).get("schemas", {}))
        for path, operations in schema.get("paths", {}).items():
            document["paths"].setdefault(path, {}).update(operations)
    scopes = SystemScopes.of(catalog, composed_domains())
    for _, route in catalog.routes:
        operation = document["paths"].get(route.path, {}).get(route.method.lower())
        if operation is None:
            raise LookupError(f"catalog route {route.key} has no handler route declaring it")
        _annotate(operation, route, scopes)
    return document


def _annotate(operation: dict[str, Any], route: Route, scopes: SystemScopes) -> None:
    """Who may call the route: any one of its security requirements is enough."""
    if takes_api_key(route):
        operation["security"] = [{PARTNER_KEY: []}]
        return
    if not route.groups:
        return  # a vendor's: its signature is checked in the function
    operation["security"] = [{BEARER: []}]
    operation["x-revops-groups"] = sorted(group.value for group in route.groups)
    scope = scopes.scope_of(route)
    if scope is not None:
        operation["security"].append({CLIENT_CREDENTIALS: [scope.full_name]})
        operation["x-revops-scope"] = scope.full_name


def _dumped(scheme: Any) -> dict[str, Any]:
    dumped: dict[str, Any] = scheme.model_dump(by_alias=True, exclude_none=True, mode="json")
    return dumped


def _resolver_of(fn: Function) -> Any:
    """The function's resolver; a function that takes raw proxy events documents its routes in a resolver of
    its own beside the handler (`openapi.py`)."""
    handler = importlib.import_module(fn.module)
    if hasattr(handler, "app"):
        return handler.app
    return importlib.import_module(fn.module.rsplit(".", 1)[0] + ".openapi").app
