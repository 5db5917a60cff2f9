"""The privacy API's audit trail over moto, through the real handlers: an export (`GET /api/v1/privacy/export?email=`)
and an erasure are recorded with whose data they were about, as the trail's digest of the email and never the email
itself, and `GET /api/v1/audit?target=<email>` (or the digest) answers who exported or erased that person."""

from __future__ import annotations

import json
from typing import Any

import boto3

from local_runtime.lambda_events import LocalLambdaContext, rest_proxy_event
from local_runtime.provision import Provisioned
from shared.audit.privacy import email_digest
from shared.catalog import physical_name
from shared.catalog.audit import AUDIT
from tests.integration.conftest import STAGE, handler_module

EXPORT = "/api/v1/privacy/export"
ERASURE = "/api/v1/privacy/erasure"
SEARCH = "/api/v1/audit"
ADMIN = {"sub": "u-admin", "cognito:groups": "admin", "cognito:username": "admin", "token_use": "id"}
SALES = {"sub": "u-sales", "cognito:groups": "sales", "cognito:username": "sam", "token_use": "id"}
EMAIL = "ines.duarte@lisbon-labs.io"


def call(
    function: str, method: str, path: str, claims: dict[str, str], query: dict[str, str] | None = None,
    body: Any = None,
) -> tuple[int, dict[str, Any]]:  # fmt: skip
    data = b"" if body is None else json.dumps(body).encode()
    event = rest_proxy_event(
        method=method,
        path=path,
        resource=path,
        query={key: [value] for key, value in (query or {}).items()},
        headers={"Content-Type": "application/json"} if data else {},
        body=data,
        claims=claims,
    )
    answer = handler_module(function).handler(event, LocalLambdaContext(function.replace("_", "-")))
    return int(answer["statusCode"]), json.loads(answer["body"] or "{}")


def audit_items() -> list[dict[str, Any]]:
    table = physical_name(STAGE, AUDIT.name)
    return boto3.client("dynamodb", region_name="us-east-1").scan(TableName=table)["Items"]


def test_an_export_and_an_erasure_name_the_person_by_digest_and_a_search_by_email_finds_them(
    aws: Provisioned,
) -> None:
    # Given an admin exported a person (her email as she typed it), a sales user was refused her export, and an
    # admin erased her
    assert call("privacy_api", "GET", EXPORT, ADMIN, query={"email": " Ines.Duarte@Lisbon-Labs.io"})[0] == 200
    assert call("privacy_api", "GET", EXPORT, SALES, query={"email": EMAIL})[0] == 403
    status, receipt = call("privacy_api", "POST", ERASURE, ADMIN, body={"email": EMAIL})
    assert status == 200, receipt
    # When an admin searches the trail by her email
    status, found = call("audit_api", "GET", SEARCH, ADMIN, query={"target": EMAIL})
    assert status == 200, found
    # Then the erasure, the refused export and the export are there, newest first, each once (the erasure's
    # receipt is followed by its outcome), each naming her by the digest of her email
    digest = email_digest(EMAIL)
    assert [(item["route"], item["status"], item["actor"]) for item in found["items"]] == [
        (f"POST {ERASURE}", 200, "u-admin"),
        (f"GET {EXPORT}", 403, "u-sales"),
        (f"GET {EXPORT}", 200, "u-admin"),
    ]
    for item in found["items"]:
        assert item["target"] == digest
        assert {"field": "email", "id": digest} in item["targets"]
    assert {"field": "erasure_id", "id": receipt["erasure_id"]} in found["items"][0]["targets"]
    # And the digest finds the same records
    status, by_digest = call("audit_api", "GET", SEARCH, ADMIN, query={"target": digest})
    assert [item["request_id"] for item in by_digest["items"]] == [item["request_id"] for item in found["items"]]
    # And no item of the audit table holds her email in clear, in any case
    stored = json.dumps(audit_items()).casefold()
    assert digest in stored
    assert EMAIL.casefold() not in stored


def test_an_erasure_of_an_email_with_a_lone_surrogate_is_refused_and_still_recorded(aws: Provisioned) -> None:
    # Given a body whose email holds a lone surrogate, as JSON can escape it (no UTF-8 encodes it)
    body = '{"email": "a\\ud800@b.com"}'
    # When an admin posts it as an erasure
    status, answer = call("privacy_api", "POST", ERASURE, ADMIN, body=json.loads(body))
    # Then it is refused as a bad request, not a 5xx, erasing nothing
    assert 400 <= status < 500, answer
    # And the refused write is in the trail (received, then completed with its status), its target a digest
    completed = [
        i
        for i in audit_items()
        if i["route"]["S"] == f"POST {ERASURE}" and i["sk"]["S"] == "completed" and i["status"]["N"] == str(status)
    ]
    assert len(completed) == 1
    assert completed[0]["targets"]["L"][0]["M"]["id"]["S"].startswith("email:")
    assert "@b.com" not in json.dumps(completed[0])
