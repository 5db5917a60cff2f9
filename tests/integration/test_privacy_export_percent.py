"""`GET /api/v1/privacy/export?email=` of an address that holds `%` followed by two hex digits (`b%41c@percent.io`:
`%` is an address's character, RFC 5322 atext), over moto through the local API Gateway and the real handler. Such
an address, sent percent-encoded once (`b%2541c%40percent.io`), arrives as itself: when the hub holds anything
under it (a lead, an erasure's receipt) it is exported, as it can be captured and erased. One the hub holds nothing
under is still refused as a 400 naming `email` (it reads as an email encoded twice, or bytes that are no UTF-8)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
from werkzeug.test import Client

from local_runtime.auth import LocalUserPool
from local_runtime.gateway import LocalApiGateway
from local_runtime.lambda_events import LocalLambdaContext
from local_runtime.provision import Provisioned
from shared.catalog import CATALOG, Function
from tests.integration.conftest import STAGE, handler_module

POOL = LocalUserPool.from_config()
EXPORT = "/api/v1/privacy/export"
ERASURE = "/api/v1/privacy/erasure"


@pytest.fixture
def gateway(aws: Provisioned) -> Client:
    def invoke(fn: Function, event: dict[str, Any]) -> dict[str, Any]:
        return handler_module(fn.name).handler(event, LocalLambdaContext(fn.slug))

    return Client(LocalApiGateway(CATALOG, invoke, POOL, [], STAGE))


def admin() -> dict[str, str]:
    return {"Authorization": f"Bearer {POOL.issue(['admin'], username='privacy-admin')}"}


def export(gateway: Client, email: str) -> tuple[int, dict[str, Any]]:
    answer = gateway.get(f"{EXPORT}?{urlencode({'email': email})}", headers=admin())
    return answer.status_code, json.loads(answer.get_data(as_text=True) or "{}")


@pytest.mark.parametrize("email", ["b%41c@percent.io", "ana%2Bsales@example.com"])
def test_an_erased_address_holding_percent_hex_is_exported_as_it_was_erased(gateway: Client, email: str) -> None:
    # Given an address holding `%` and two hex digits, erased (its receipt kept under its hash)
    erased = gateway.post(ERASURE, json={"email": email}, headers=admin())
    assert erased.status_code == 200, erased.get_data(as_text=True)
    # When it is exported, percent-encoded once
    status, answer = export(gateway, email)
    # Then the export is of that address, with the erasure's receipt
    assert status == 200, answer
    assert answer["email"] == email.lower()  # as keys hold it
    assert answer["erasure"]["erasure_id"] == erased.get_json()["erasure_id"]


def test_an_address_holding_percent_hex_the_hub_holds_nothing_under_is_still_a_400(gateway: Client) -> None:
    status, answer = export(gateway, "never%41seen@percent.io")
    assert status == 400, answer
    assert answer["message"].startswith("email: ")
    assert "exported_at" not in answer
