"""Who may call which route: the catalog says, the Cognito claims API Gateway passes on prove.

API Gateway has already validated the token (Cognito authorizer) before the function runs; here the
caller's groups are checked against the route's groups in the catalog. The check runs before the resolver
so a caller who may not use a route learns nothing about it, not even how its body is validated.
"""

from __future__ import annotations

import json
from typing import Any

from shared.catalog import CATALOG, Catalog

GROUPS_CLAIM = "cognito:groups"


def groups_of(claims: dict[str, Any] | None) -> frozenset[str]:
    """The caller's groups. API Gateway flattens list claims to strings ("admin,sales" or "[admin sales]")."""
    raw = (claims or {}).get(GROUPS_CLAIM)
    if raw is None:
        return frozenset()
    if isinstance(raw, list):
        return frozenset(str(group) for group in raw)
    cleaned = str(raw).strip().strip("[]").replace(",", " ")
    return frozenset(part for part in cleaned.split() if part)


def denial(event: dict[str, Any], catalog: Catalog = CATALOG) -> tuple[int, str] | None:
    """(status, message) when the caller may not call the route the event is for; None when they may."""
    route = catalog.route_for(str(event.get("httpMethod", "")), str(event.get("resource", "")))
    if route is None or route.groups is None:
        return None
    claims = ((event.get("requestContext") or {}).get("authorizer") or {}).get("claims")
    if not claims:
        return 401, "sign in: this route needs a bearer token"
    caller = groups_of(claims)
    if not caller & {group.value for group in route.groups}:
        allowed = ", ".join(sorted(group.value for group in route.groups))
        mine = ", ".join(sorted(caller)) or "none"
        return 403, f"{route.key} is for groups: {allowed}; your groups: {mine}"
    return None


def denied_response(status: int, message: str) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"message": message}),
        "isBase64Encoded": False,
    }
