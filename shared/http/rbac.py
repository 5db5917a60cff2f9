"""Who may call which route: the catalog says, the Cognito claims API Gateway passes on prove.

API Gateway has already validated the token (Cognito authorizer) before the function runs; here the
caller's groups are checked against the route's groups in the catalog.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response

from shared.catalog import CATALOG, Catalog
from shared.http.errors import Forbidden, Unauthorized

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


def rbac_middleware(
    catalog: Catalog = CATALOG,
) -> Callable[[APIGatewayRestResolver, Callable[..., Response]], Response]:
    def enforce(app: APIGatewayRestResolver, next_middleware: Callable[..., Response]) -> Response:
        event = app.current_event
        route = catalog.route_for(event.http_method, event.resource)
        if route is None or route.groups is None:
            return next_middleware(app)
        claims = event.request_context.authorizer.claims
        if not claims:
            raise Unauthorized("sign in: this route needs a bearer token")
        caller = groups_of(claims)
        if not caller & {group.value for group in route.groups}:
            allowed = ", ".join(sorted(group.value for group in route.groups))
            mine = ", ".join(sorted(caller)) or "none"
            raise Forbidden(f"{route.key} is for groups: {allowed}; your groups: {mine}")
        return next_middleware(app)

    return enforce
