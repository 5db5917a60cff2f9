"""The local API Gateway's authorizer over moto, checking what the deployed methods check: access tokens holding one of
the method's scopes on `/api/v1` routes (401 otherwise, before the function), and on a partner route an enabled key of
a partner's usage plan (403 otherwise), whose id the function then sees."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws
from werkzeug.test import Client

from local_runtime.auth import LocalUserPool
from local_runtime.gateway import LocalApiGateway
from ops.rotate_api_key import rotate
from shared.api_clients import load_api_clients
from shared.catalog import CATALOG, Function, ThrottleDomain
from shared.catalog.partners import PartnerRoute

STAGE = "local"
PARTNER_ROUTE = PartnerRoute(
    method="POST",
    path="/api/v1/partners/leads",
    operation="capture_lead",
    summary="Capture a lead from a partner",
    domain=ThrottleDomain.MARKETING,
    groups=None,
    json_body=True,
)
LEADS_API = CATALOG.function("leads_api")
CATALOG_WITH_PARTNER_ROUTE = dataclasses.replace(
    CATALOG,
    functions=tuple(
        dataclasses.replace(fn, routes=(*fn.routes, PARTNER_ROUTE)) if fn is LEADS_API else fn
        for fn in CATALOG.functions
    ),
)
POOL = LocalUserPool.from_config()
PARTNER = load_api_clients().partners[0]


class Gateway:
    """The local gateway in-process, its functions replaced by a recorder of the events they would get."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        gateway = LocalApiGateway(CATALOG_WITH_PARTNER_ROUTE, self._invoke, POOL, [], STAGE)
        self.client = Client(gateway)

    def _invoke(self, fn: Function, event: dict[str, Any]) -> dict[str, Any]:
        self.events.append(event)
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps({"ok": True})}

    def call(self, method: str, path: str, **headers: str) -> int:
        return self.client.open(path, method=method, json={}, headers=headers).status_code


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    with mock_aws():
        yield Gateway()


def bearer(token: str) -> str:
    return f"Bearer {token}"


def test_a_leads_read_token_opens_the_lead_reads_and_not_the_capture(gateway: Gateway) -> None:
    token = bearer(POOL.issue_for_client("bi-reporting", ["leads.read"]))
    assert gateway.call("GET", "/api/v1/leads/abc", Authorization=token) == 200
    assert gateway.call("POST", "/api/v1/integrations/sales/leads", Authorization=token) == 401
    assert gateway.call("GET", "/api/v1/handoffs", Authorization=token) == 401
    # Only the read reached the function, with the token's claims as API Gateway passes them
    [event] = gateway.events
    claims = event["requestContext"]["authorizer"]["claims"]
    assert (claims["client_id"], claims["scope"]) == ("bi-reporting", "revops/leads.read")


def test_a_persons_token_passes_every_methods_scopes_and_leaves_groups_to_the_function(gateway: Gateway) -> None:
    token = bearer(POOL.issue(["product"]))
    assert gateway.call("POST", "/api/v1/integrations/sales/leads", Authorization=token) == 200
    assert gateway.call("GET", "/api/v1/webhooks/deliveries", Authorization=token) == 200
    assert len(gateway.events) == 2


def test_a_partner_route_takes_an_enabled_key_of_a_partners_plan_and_nothing_else(gateway: Gateway) -> None:
    apigateway = boto3.client("apigateway", region_name="us-east-1")
    now = datetime.now(UTC)
    # Given the partner's key, issued as make rotate-api-key issues it locally
    first = rotate(apigateway, STAGE, PARTNER, timedelta(hours=1), now, create_missing_plan=True)
    assert first.value
    # Then a call with it reaches the function, which sees the key's id; without it, or with another, 403
    assert gateway.call("POST", PARTNER_ROUTE.path, **{"x-api-key": first.value}) == 200
    assert gateway.events[-1]["requestContext"]["identity"]["apiKeyId"] == first.issued
    assert gateway.call("POST", PARTNER_ROUTE.path) == 403
    assert gateway.call("POST", PARTNER_ROUTE.path, **{"x-api-key": "not-a-key-of-anyone"}) == 403
    # And a token is no substitute for the key
    assert gateway.call("POST", PARTNER_ROUTE.path, Authorization=bearer(POOL.issue(["admin"]))) == 403
    # And a key outside every partner's plan is refused
    stray = apigateway.create_api_key(name="stray", enabled=True)
    assert gateway.call("POST", PARTNER_ROUTE.path, **{"x-api-key": stray["value"]}) == 403
    # When the key is rotated without overlap, the old one is refused and the new one works
    second = rotate(apigateway, STAGE, PARTNER, timedelta(0), now + timedelta(minutes=1))
    assert second.value
    assert gateway.call("POST", PARTNER_ROUTE.path, **{"x-api-key": first.value}) == 403
    assert gateway.call("POST", PARTNER_ROUTE.path, **{"x-api-key": second.value}) == 200
    # And a disabled key is refused
    apigateway.update_api_key(
        apiKey=second.issued, patchOperations=[{"op": "replace", "path": "/enabled", "value": "false"}]
    )
    assert gateway.call("POST", PARTNER_ROUTE.path, **{"x-api-key": second.value}) == 403
    assert len(gateway.events) == 2
