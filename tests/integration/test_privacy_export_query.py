"""`GET /api/v1/privacy/export?email=` over moto, through the local API Gateway and the real handler: a query whose
percent escapes do not decode to the email (invalid escapes, bytes that are no UTF-8, an email encoded twice) is a
400 naming `email`, never a 5xx and never an export of some other email. The local gateway hands such an escape to
the function as the literal text `%E0`; the handler used to export (and audit) `ada%e0%a4%a@example.com`."""

from __future__ import annotations

import json
from typing import Any

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


@pytest.fixture
def gateway(aws: Provisioned) -> Client:
    def invoke(fn: Function, event: dict[str, Any]) -> dict[str, Any]:
        return handler_module(fn.name).handler(event, LocalLambdaContext(fn.slug))

    return Client(LocalApiGateway(CATALOG, invoke, POOL, [], STAGE))


def export(gateway: Client, query: str) -> tuple[int, dict[str, Any]]:
    token = POOL.issue(["admin"], username="privacy-admin")
    answer = gateway.get(f"{EXPORT}?{query}", headers={"Authorization": f"Bearer {token}"})
    return answer.status_code, json.loads(answer.get_data(as_text=True) or "{}")


@pytest.mark.parametrize(
    "query",
    [
        "email=%E0%A4%A",  # a truncated escape after two bytes of a three-byte character
        "email=%ZZ",  # no escape at all
        "email=ada%E0%A4%A@example.com",  # the same, inside an email
        "email=%FF%FE@example.com",  # escapes of bytes that are no UTF-8
        "email=ada%C3@example.com",  # half a character
        "email=ana%252Bsales@example.com",  # `ana+sales@example.com` encoded twice
    ],
)
def test_an_email_whose_percent_escapes_do_not_decode_is_a_400_naming_email(gateway: Client, query: str) -> None:
    # Given an admin's export request whose email's percent escapes do not decode to an email
    # When it is sent through the gateway
    status, answer = export(gateway, query)
    # Then it is refused as a bad request naming the email, and nothing is exported
    assert status == 400, answer
    assert answer["message"].startswith("email: ")
    assert "exported_at" not in answer


@pytest.mark.parametrize(
    ("query", "email"),
    [
        ("email=ana%2Bsales@example.com", "ana+sales@example.com"),
        ("email=ren%C3%A9e@example.com", "renée@example.com"),
        ("email=user%25host@example.com", "user%host@example.com"),  # a `%` the address holds, sent as %25
    ],
)
def test_an_email_whose_escapes_decode_is_exported(gateway: Client, query: str, email: str) -> None:
    # Given an admin's export request whose email is percent-encoded once, as UTF-8
    # When it is sent through the gateway
    status, answer = export(gateway, query)
    # Then the export is of that email
    assert status == 200, answer
    assert answer["email"] == email
