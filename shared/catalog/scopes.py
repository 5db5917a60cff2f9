"""The OAuth 2.0 scopes systems are granted, generated from the catalog: one per domain and access, `<domain>.read`
for the domain's GET routes and `<domain>.write` for its other routes (`leads.read`, `finance.write`, ...).

People and systems call the same `/api/v1` routes with an access token of the hub's Cognito user pool. A person's
(signed in with SRP) carries the scope `aws.cognito.signin.user.admin` and their groups, which the catalog's route
groups are checked against; a system's (an app client's client-credentials grant) carries the scopes its app client
was given, as `revops/<scope>`, and no groups. Each method accepts its route's scope and the person's scope, so the
gateway refuses a system the routes outside its scopes, and `shared.http.rbac` checks both again in the function.

A route only the `admin` group may call has no scope: administration (the delivery log with every vendor's raw
bodies, the audit trail, erasure and export of a person) needs a person, signed in with MFA and named in the audit
trail; an app client's secret is neither. A system that needs such data gets a route of its own with a narrower
permission instead.

Plain data over the catalog, like the rest of it: no AWS, no pydantic.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from shared.catalog.model import Catalog, Domain, Group, Route

RESOURCE_SERVER = "revops"  # the Cognito resource server's identifier: a scope's full name is `revops/leads.read`
PERSON_SCOPE = "aws.cognito.signin.user.admin"  # what the access token of a person signed in with SRP carries

ScopeAccess = Literal["read", "write"]


@dataclass(frozen=True, order=True)
class Scope:
    domain: str
    access: ScopeAccess

    @property
    def name(self) -> str:
        """As app clients are configured with it: `leads.read`."""
        return f"{self.domain}.{self.access}"

    @property
    def full_name(self) -> str:
        """As access tokens carry it and API Gateway matches it: `revops/leads.read`."""
        return f"{RESOURCE_SERVER}/{self.name}"


def access_of(route: Route) -> ScopeAccess:
    """Reads are GETs; anything else (a capture, an update, a what-if posted as a body) is a write."""
    return "read" if route.method == "GET" else "write"


def people_only(route: Route) -> bool:
    """Routes for the `admin` group alone are never open to systems (see the module's docstring)."""
    return route.groups is not None and route.groups <= {Group.ADMIN}


@dataclass(frozen=True)
class SystemScopes:
    """Which scope opens which route: `by_route` maps a route's key (`GET /api/v1/leads`) to its scope; public routes,
    admin-only routes and the routes of a function no domain declares have none."""

    by_route: Mapping[str, Scope] = field(default_factory=dict)

    @classmethod
    def of(cls, catalog: Catalog, domains: Iterable[Domain]) -> SystemScopes:
        domain_of = {fn.name: domain.name for domain in domains for fn in domain.functions}
        return cls(
            {
                route.key: Scope(domain_of[fn.name], access_of(route))
                for fn, route in catalog.routes
                if fn.name in domain_of and not route.is_public and not people_only(route)
            }
        )

    def scope_of(self, route: Route) -> Scope | None:
        return self.by_route.get(route.key)

    @property
    def scopes(self) -> tuple[Scope, ...]:
        """Every scope some route takes: the resource server's scopes, sorted."""
        return tuple(sorted(set(self.by_route.values())))

    @property
    def names(self) -> frozenset[str]:
        return frozenset(scope.name for scope in self.by_route.values())

    def method_scopes(self, route: Route) -> list[str]:
        """What API Gateway's authorizer matches the token's `scope` against on this route's method: the route's
        scope, if it has one, and the person's scope (their groups are checked in the function)."""
        scope = self.scope_of(route)
        return [scope.full_name, PERSON_SCOPE] if scope else [PERSON_SCOPE]

    def routes_of(self, scope_name: str) -> tuple[str, ...]:
        """The route keys a scope opens, in catalog order."""
        return tuple(key for key, scope in self.by_route.items() if scope.name == scope_name)


def composed_domains() -> tuple[Domain, ...]:
    """The domains `shared.catalog` composes into CATALOG (its `DOMAINS`): a route's scope is named after its
    function's domain."""
    import shared.catalog as catalog_package

    return catalog_package.DOMAINS


def catalog_scopes() -> SystemScopes:
    """The scopes of the hub's own catalog."""
    import shared.catalog as catalog_package

    return SystemScopes.of(catalog_package.CATALOG, composed_domains())
