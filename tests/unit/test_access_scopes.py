"""Access for systems (issue 15 §5): the scopes the catalog generates, RBAC over people's groups and systems' scopes,
the app clients' configuration, and the local user pool's tokens as API Gateway's Cognito authorizer sees them."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest

from local_runtime.auth import InvalidScope, LocalUserPool, UnknownClient, method_scopes_granted
from shared.api_clients import InvalidApiClients, load_api_clients
from shared.catalog import CATALOG, Function, Group, Route, ThrottleDomain
from shared.catalog.partners import PartnerRoute
from shared.catalog.scopes import PERSON_SCOPE, RESOURCE_SERVER, Scope, SystemScopes, catalog_scopes, composed_domains
from shared.http.rbac import denial

SCOPES = catalog_scopes()
CONFIG = Path(__file__).resolve().parents[2] / "config"


def event(method: str, resource: str, claims: dict[str, Any] | None = None, **identity: str) -> dict[str, Any]:
    """An API Gateway proxy event for the route, with the authorizer's claims as API Gateway passes them."""
    return {
        "httpMethod": method,
        "resource": resource,
        "requestContext": {"authorizer": {"claims": claims} if claims else {}, "identity": identity},
    }


def person(*groups: str) -> dict[str, str]:
    return {"sub": "u-1", "username": "u-1", "cognito:groups": ",".join(groups), "scope": PERSON_SCOPE}


def system(*scopes: str) -> dict[str, str]:
    return {"sub": "client-1", "client_id": "client-1", "scope": " ".join(f"{RESOURCE_SERVER}/{s}" for s in scopes)}


# --- scopes from the catalog -------------------------------------------------------------------------------------


def test_every_route_a_system_may_call_takes_its_domains_scope_for_its_access() -> None:
    domain_of = {fn.name: domain.name for domain in composed_domains() for fn in domain.functions}
    for fn, route in CATALOG.routes:
        scope = SCOPES.scope_of(route)
        if route.is_public or (route.groups is not None and route.groups <= {Group.ADMIN}):
            # Vendors' routes take no token, and what only admins may do takes a person
            assert scope is None, route.key
            assert SCOPES.method_scopes(route) == [PERSON_SCOPE] or route.is_public, route.key
        else:
            assert scope == Scope(domain_of[fn.name], "read" if route.method == "GET" else "write"), route.key
            assert SCOPES.method_scopes(route) == [f"revops/{scope.name}", PERSON_SCOPE], route.key


def test_the_scopes_are_per_domain_and_access_and_none_is_for_administration() -> None:
    assert {"leads.read", "leads.write", "finance.read", "finance.write", "handoffs.read", "crm.write"} <= SCOPES.names
    assert not {name for name in SCOPES.names if name.split(".")[0] in ("audit", "privacy", "webhooks")}
    assert SCOPES.routes_of("leads.read") == ("GET /api/v1/leads", "GET /api/v1/leads/{lead_id}")
    assert "POST /api/v1/integrations/sales/leads" in SCOPES.routes_of("leads.write")
    assert Scope("leads", "read").full_name == "revops/leads.read"


def test_the_composed_domains_are_exactly_the_catalogs() -> None:
    assert sorted(fn.name for d in composed_domains() for fn in d.functions) == sorted(
        f.name for f in CATALOG.functions
    )
    names = {domain.name for domain in composed_domains()}
    assert {"webhooks", "leads", "handoffs", "finance", "attribution", "success", "crm", "audit", "privacy"} <= names


def test_a_function_no_domain_declares_gets_no_scopes() -> None:
    route = Route("GET", "/api/v1/stray", "stray", "s", ThrottleDomain.MARKETING, frozenset({Group.MARKETING}))
    stray = Function(name="stray_api", description="a function of no domain", routes=(route,))
    catalog = dataclasses.replace(CATALOG, functions=(*CATALOG.functions, stray))
    scopes = SystemScopes.of(catalog, composed_domains())
    assert scopes.scope_of(route) is None
    assert scopes.method_scopes(route) == [PERSON_SCOPE]
    assert scopes.by_route == SCOPES.by_route


# --- RBAC: people by group, systems by scope ---------------------------------------------------------------------


def test_a_person_is_checked_by_group_whatever_their_token_holds() -> None:
    assert denial(event("GET", "/api/v1/leads/{lead_id}", person("marketing"))) is None
    refused = denial(event("GET", "/api/v1/webhooks/deliveries", person("marketing")))
    assert refused is not None
    assert refused[0] == 403
    assert "admin" in refused[1]
    # An ID token's claim name counts as a user too (tests and the audit read it)
    id_claims = {"sub": "u", "cognito:username": "u", "cognito:groups": "admin"}
    assert denial(event("GET", "/api/v1/webhooks/deliveries", id_claims)) is None


def test_a_system_reaches_exactly_the_routes_its_scopes_open() -> None:
    reader = system("leads.read")
    assert denial(event("GET", "/api/v1/leads", reader)) is None
    assert denial(event("GET", "/api/v1/leads/{lead_id}", reader)) is None
    write = denial(event("POST", "/api/v1/integrations/sales/leads", reader))
    assert write is not None
    assert write[0] == 403
    assert "revops/leads.write" in write[1]
    assert "revops/leads.read" in write[1]
    other = denial(event("GET", "/api/v1/handoffs", reader))
    assert other is not None
    assert "revops/handoffs.read" in other[1]
    # A write scope is not a read scope
    assert denial(event("GET", "/api/v1/leads", system("leads.write"))) is not None


def test_no_system_reaches_a_route_only_admins_may_call_whatever_its_scopes() -> None:
    everything = system(*sorted(SCOPES.names))
    refused = denial(event("GET", "/api/v1/webhooks/deliveries", everything))
    assert refused == (403, "GET /api/v1/webhooks/deliveries is for people only: no app client may call it")


def test_a_token_of_no_app_client_is_checked_as_a_persons_and_no_token_is_401() -> None:
    # Only a client-credentials token (an app client, no user) is a system's: scopes alone open nothing to anyone else
    claims = {"sub": "x", "scope": "revops/leads.read"}
    assert denial(event("GET", "/api/v1/leads", claims)) == (
        403,
        "GET /api/v1/leads is for groups: admin, marketing, sales; your groups: none",
    )
    assert denial(event("GET", "/api/v1/leads")) == (401, "sign in: this route needs a bearer token")


def test_public_routes_pass_and_a_partner_route_needs_the_key_api_gateway_checked() -> None:
    assert denial(event("POST", "/webhooks/{vendor}")) is None
    route = PartnerRoute(
        method="POST",
        path="/api/v1/partners/leads",
        operation="capture_lead",
        summary="partner lead capture",
        domain=ThrottleDomain.MARKETING,
        groups=None,
        json_body=True,
    )
    leads_api = CATALOG.function("leads_api")
    catalog = dataclasses.replace(
        CATALOG,
        functions=tuple(
            dataclasses.replace(fn, routes=(*fn.routes, route)) if fn is leads_api else fn for fn in CATALOG.functions
        ),
    )
    without = denial(event("POST", route.path), catalog)
    assert without is not None
    assert without[0] == 403
    assert "x-api-key" in without[1]
    assert denial(event("POST", route.path, apiKeyId="k1a2b3"), catalog) is None
    # A partner route never takes a token instead
    assert SystemScopes.of(catalog, composed_domains()).scope_of(route) is None


def test_a_partner_route_takes_no_groups_and_lives_under_partners() -> None:
    with pytest.raises(ValueError, match="takes no groups"):
        PartnerRoute("POST", "/api/v1/partners/x", "op", "s", ThrottleDomain.MARKETING, frozenset({Group.SALES}))
    with pytest.raises(ValueError, match="/api/v1/partners/"):
        PartnerRoute("POST", "/api/v1/leads/x", "op", "s", ThrottleDomain.MARKETING, None)


# --- config/api-clients.json -------------------------------------------------------------------------------------


def write(tmp_path: Path, **changes: Any) -> Path:
    config = json.loads((CONFIG / "api-clients.json").read_text()) | changes
    path = tmp_path / "api-clients.json"
    path.write_text(json.dumps(config))
    return path


def test_the_shipped_configuration_is_valid_and_grants_only_scopes_routes_take() -> None:
    clients = load_api_clients(known_scopes=SCOPES.names)
    assert clients.clients
    assert clients.partners
    assert set(clients.client("bi-reporting").scopes) <= {name for name in SCOPES.names if name.endswith(".read")}
    assert clients.client("web-forms").scopes == ("leads.write",)


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"clients": [{"name": "bi", "description": "d", "scopes": ["leads.raed"]}]}, "scopes.0"),
        ({"clients": [{"name": "bi-x", "description": "d", "scopes": ["audit.read"]}]}, "no route takes the scope"),
        ({"clients": [{"name": "bi-x", "description": "d", "scopes": []}]}, "scopes"),
        ({"clients": [{"name": "bi-x", "description": "d", "scopes": ["leads.read"], "access_token_minutes": 2}]}, "5"),
        ({"clients": [{"name": "bi-x", "description": "d", "scopes": ["leads.read"], "secret": "s"}]}, "secret"),
        (
            {"clients": [{"name": "bi-x", "description": "d", "scopes": ["leads.read"]}] * 2},
            "bi-x appear(s) twice",
        ),
        (
            {"partners": [{"name": "p-1", "description": "d", "rate_per_second": 10, "burst": 5,
                           "quota": {"limit": 1, "period": "DAY"}}]},
            "burst 5 is below its rate 10",
        ),
        (
            {"partners": [{"name": "p-1", "description": "d", "rate_per_second": 1, "burst": 5,
                           "quota": {"limit": 1, "period": "YEAR"}}]},
            "period",
        ),
    ],
)  # fmt: skip
def test_a_wrong_configuration_is_refused_naming_what_is_wrong(
    tmp_path: Path, changes: dict[str, Any], said: str
) -> None:
    with pytest.raises(InvalidApiClients, match=None) as refused:
        load_api_clients(write(tmp_path, **changes), known_scopes=SCOPES.names)
    assert said in str(refused.value)


# --- the local user pool -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pool() -> LocalUserPool:
    return LocalUserPool.from_config()


def decoded(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def test_a_persons_token_is_an_access_token_with_their_groups_and_the_persons_scope(pool: LocalUserPool) -> None:
    claims = pool.verify(pool.issue(["sales", "marketing"], username="sdr-maya-chen"))
    assert claims["token_use"] == "access"
    assert (claims["username"], claims["cognito:groups"], claims["scope"]) == (
        "sdr-maya-chen",
        "sales,marketing",
        PERSON_SCOPE,
    )
    assert claims["client_id"] == pool.people_client_id
    # API Gateway passes every claim as a string
    assert all(isinstance(value, str) for value in claims.values())


def test_an_app_clients_token_carries_its_scopes_and_no_user_or_groups(pool: LocalUserPool) -> None:
    claims = pool.verify(pool.issue_for_client("bi-reporting"))
    assert claims["client_id"] == claims["sub"] == "bi-reporting"
    assert set(claims["scope"].split()) == {f"revops/{s}" for s in pool.clients.client("bi-reporting").scopes}  # type: ignore[union-attr]
    assert not {"username", "cognito:username", "cognito:groups"} & set(claims)
    narrowed = decoded(pool.issue_for_client("bi-reporting", ["revops/leads.read"]))
    assert narrowed["scope"] == "revops/leads.read"
    assert narrowed["exp"] - narrowed["iat"] == 60 * 60
    with pytest.raises(InvalidScope, match=r"leads\.write"):
        pool.issue_for_client("bi-reporting", ["leads.write"])
    with pytest.raises(UnknownClient):
        pool.issue_for_client("nobody")


def test_the_client_secret_is_checked(pool: LocalUserPool) -> None:
    secret = pool.client_secrets["web-forms"]
    assert pool.authenticate("web-forms", secret).name == "web-forms"
    for client_id, wrong in (("web-forms", secret + "x"), ("web-forms", ""), ("bi-reporting", secret), ("x", "y")):
        with pytest.raises(UnknownClient):
            pool.authenticate(client_id, wrong)


def signed(pool: LocalUserPool, **claims: Any) -> str:
    now = int(time.time())
    base = {"sub": "u", "username": "u", "client_id": pool.people_client_id, "token_use": "access",
            "scope": PERSON_SCOPE, "iss": pool.issuer, "iat": now, "exp": now + 60}  # fmt: skip
    payload = {key: value for key, value in (base | claims).items() if value is not None}
    return jwt.encode(payload, pool.signing_key, algorithm="HS256")


@pytest.mark.parametrize(
    "claims",
    [
        {"token_use": "id"},
        {"token_use": None},
        {"exp": int(time.time()) - 1},
        {"iss": "https://cognito-idp.us-east-1.amazonaws.com/another-pool"},
        {"client_id": "a-client-of-another-pool"},
        {"client_id": None},
    ],
)
def test_the_authorizer_refuses_what_api_gateway_refuses(pool: LocalUserPool, claims: dict[str, Any]) -> None:
    assert pool.verify(signed(pool))  # the same token, unchanged, passes
    with pytest.raises(jwt.InvalidTokenError):
        pool.verify(signed(pool, **claims))


def test_a_method_is_opened_by_any_one_of_its_scopes() -> None:
    method = ["revops/leads.read", PERSON_SCOPE]
    assert method_scopes_granted({"scope": PERSON_SCOPE}, method)
    assert method_scopes_granted({"scope": "revops/finance.read revops/leads.read"}, method)
    assert not method_scopes_granted({"scope": "revops/leads.write"}, method)
    assert not method_scopes_granted({}, method)


def test_every_configured_app_client_has_a_local_secret(tmp_path: Path) -> None:
    config = json.loads((CONFIG / "local.auth.json").read_text())
    del config["client_secrets"]["web-forms"]
    path = tmp_path / "local.auth.json"
    path.write_text(json.dumps(config))
    with pytest.raises(ValueError, match="web-forms"):
        LocalUserPool.from_config(path)
