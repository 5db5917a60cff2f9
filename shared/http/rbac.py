"""Who may call which route: the catalog says, the claims API Gateway passes on prove.

API Gateway has already validated the access token (Cognito authorizer, the method's scopes: `shared.catalog.scopes`)
before the function runs; here the caller is checked against the catalog again. A system (a client-credentials token:
an app client's, naming no user) must hold the route's scope, and never reaches a route only admins may call; anyone
else is a person, who must belong to one of the route's groups. A partner route needs the API key API Gateway checked.
The check runs before the resolver so a caller who may not use a route learns nothing about it, not even how its body
is validated.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from shared.catalog import CATALOG, Catalog
from shared.catalog.partners import takes_api_key
from shared.catalog.scopes import SystemScopes, composed_domains

GROUPS_CLAIM = "cognito:groups"
SCOPE_CLAIM = "scope"
# A person's access token names them as `username`; an ID token (and tests' claims) as `cognito:username`.
USER_CLAIMS = ("username", "cognito:username")


def groups_of(claims: dict[str, Any] | None) -> frozenset[str]:
    """The caller's groups. API Gateway flattens list claims to strings ("admin,sales" or "[admin sales]")."""
    return _listed((claims or {}).get(GROUPS_CLAIM))


def scopes_of(claims: dict[str, Any] | None) -> frozenset[str]:
    """The scopes of an access token: its `scope` claim, space-separated."""
    return _listed((claims or {}).get(SCOPE_CLAIM))


def is_system(claims: dict[str, Any]) -> bool:
    """A client-credentials token: an app client's, naming no user."""
    return bool(claims.get("client_id")) and not any(claims.get(name) for name in USER_CLAIMS)


def denial(event: dict[str, Any], catalog: Catalog = CATALOG) -> tuple[int, str] | None:
    """(status, message) when the caller may not call the route the event is for; None when they may."""
    route = catalog.route_for(str(event.get("httpMethod", "")), str(event.get("resource", "")))
    if route is None:
        return None
    context = event.get("requestContext") or {}
    if takes_api_key(route):
        if not (context.get("identity") or {}).get("apiKeyId"):
            return 403, f"{route.key} is for partners: send your API key as x-api-key"
        return None
    if route.groups is None:
        return None
    claims = (context.get("authorizer") or {}).get("claims")
    if not claims:
        return 401, "sign in: this route needs a bearer token"
    if is_system(claims):
        return _system_denial(route.key, claims, _scopes(catalog))
    caller = groups_of(claims)
    if not caller & {group.value for group in route.groups}:
        allowed = ", ".join(sorted(group.value for group in route.groups))
        mine = ", ".join(sorted(caller)) or "none"
        return 403, f"{route.key} is for groups: {allowed}; your groups: {mine}"
    return None


def _system_denial(route_key: str, claims: dict[str, Any], scopes: SystemScopes) -> tuple[int, str] | None:
    needed = scopes.by_route.get(route_key)
    if needed is None:
        return 403, f"{route_key} is for people only: no app client may call it"
    held = scopes_of(claims)
    if needed.full_name not in held:
        mine = ", ".join(sorted(held)) or "none"
        return 403, f"{route_key} needs the scope {needed.full_name}; your token's scopes: {mine}"
    return None


def _scopes(catalog: Catalog) -> SystemScopes:
    return _hub_scopes() if catalog is CATALOG else SystemScopes.of(catalog, composed_domains())


@functools.cache
def _hub_scopes() -> SystemScopes:
    """Computed once per cold start."""
    return SystemScopes.of(CATALOG, composed_domains())


def _listed(raw: object) -> frozenset[str]:
    if raw is None:
        return frozenset()
    if isinstance(raw, list | tuple):
        return frozenset(str(item) for item in raw)
    cleaned = str(raw).strip().strip("[]").replace(",", " ")
    return frozenset(part for part in cleaned.split() if part)


def denied_response(status: int, message: str) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"message": message}),
        "isBase64Encoded": False,
    }
