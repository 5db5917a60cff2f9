"""The hub's OpenAPI document, merged from every API function's resolver (each route's pydantic models)
and annotated from the catalog with who may call each route."""

from __future__ import annotations

import importlib
from typing import Any

from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

from shared.catalog import Catalog, Function
from shared.http.api import API_TITLE, API_VERSION

BEARER = "cognito"


def openapi_document(catalog: Catalog, server_url: str | None = None) -> dict[str, Any]:
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": API_TITLE,
            "version": API_VERSION,
            "description": "Webhooks are authenticated by each vendor's signature; /api/v1 needs a Cognito ID "
            "token of one of the groups named on each route.",
        },
        "paths": {},
        "components": {
            "schemas": {},
            "securitySchemes": {
                BEARER: HTTPBearer(bearerFormat="JWT").model_dump(by_alias=True, exclude_none=True, mode="json")
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
    for _, route in catalog.routes:
        operation = document["paths"].get(route.path, {}).get(route.method.lower())
        if operation is None:
            raise LookupError(f"catalog route {route.key} has no handler route declaring it")
        if route.groups:
            operation["security"] = [{BEARER: []}]
            operation["x-revops-groups"] = sorted(group.value for group in route.groups)
    return document


def _bearer_scheme() -> dict[str, Any]:
    return HTTPBearer(bearerFormat="JWT").model_dump(by_alias=True, exclude_none=True, mode="json")


def _resolver_of(fn: Function) -> Any:
    """The function's resolver; a function that takes raw proxy events documents its routes in a resolver of
    its own beside the handler (`openapi.py`)."""
    handler = importlib.import_module(fn.module)
    if hasattr(handler, "app"):
        return handler.app
    return importlib.import_module(fn.module.rsplit(".", 1)[0] + ".openapi").app
