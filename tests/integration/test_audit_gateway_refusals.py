"""The gateway-refusal audit function over moto: a CloudWatch Logs batch of the API's access log lines becomes
`refused` records in the audit table, found by route, actor and target as any refusal is; a retried batch records
nothing twice; a batch that is not the access log's goes to the function's failure queue at once, with the reason."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local_runtime.access_log import awslogs_event
from local_runtime.lambda_events import LocalLambdaContext
from local_runtime.provision import Provisioned, provision
from shared.audit.query import AuditQuery
from shared.catalog import CATALOG
from shared.catalog.access_log import ACCESS_LOG_FIELDS, NO_VALUE
from tests.integration.conftest import STAGE, drain, handler_module

FUNCTION = CATALOG.function("audit_gateway_refusals")
UNMERGE = "POST /api/v1/leads/{lead_id}/unmerge"
NOW = datetime.now(UTC)


@pytest.fixture
def refusals() -> Iterator[tuple[ModuleType, Provisioned]]:
    with mock_aws():
        provisioned = provision(CATALOG, STAGE, boto3.Session(region_name="us-east-1"))
        yield handler_module(FUNCTION.name), provisioned


def line(request_id: str, **fields: str) -> dict[str, str]:
    return (
        dict.fromkeys(ACCESS_LOG_FIELDS, NO_VALUE)
        | {
            "requestId": request_id,
            "requestTimeEpoch": str(int(NOW.timestamp() * 1000)),
            "httpMethod": "POST",
            "resourcePath": "/api/v1/leads/{lead_id}/unmerge",
            "path": f"/{STAGE}/api/v1/leads/L-{request_id}/unmerge",
            "sourceIp": "198.51.100.4",
        }
        | fields
    )


def raw_batch(messages: list[str]) -> dict[str, Any]:
    """A subscription batch of these log messages, whatever they hold."""
    batch = {
        "messageType": "DATA_MESSAGE",
        "logGroup": "/aws/apigateway/revops-test-api/access",
        "logStream": "s",
        "logEvents": [{"id": str(n), "timestamp": 1, "message": message} for n, message in enumerate(messages)],
    }
    return {"awslogs": {"data": base64.b64encode(gzip.compress(json.dumps(batch).encode())).decode()}}


def invoke(module: ModuleType, event: dict[str, Any]) -> Any:
    return module.handler(event, LocalLambdaContext(f"revops-{STAGE}-{FUNCTION.slug}", 256, 60))


def search(module: ModuleType, **filters: str) -> list[Any]:
    query = AuditQuery(start=NOW - timedelta(hours=1), end=NOW + timedelta(hours=1), **filters)  # type: ignore[arg-type]
    return [record for record, _ in module.store.search(query).records]


def test_the_gateways_refusals_are_recorded_once_and_found_like_any_refusal(
    refusals: tuple[ModuleType, Provisioned],
) -> None:
    module, _ = refusals
    # Given a batch with a system's token refused by the method's scopes, a request without a token, and a line
    # a function answered (its refusal is the function's to record)
    batch = awslogs_event(
        "/aws/apigateway/revops-test-api/access",
        "f",
        [
            line("r-1", status="401", errorType="UNAUTHORIZED", user="bi-reporting", clientId="bi-reporting"),
            line("r-2", status="401", errorType="UNAUTHORIZED"),
            line("r-3", status="403", integrationStatus="200", user="someone"),
        ],
    )
    # When the subscription delivers it, and delivers it again (Lambda's retry of an asynchronous invocation)
    assert invoke(module, batch) == {"recorded": 2}
    assert invoke(module, batch) == {"recorded": 2}
    # Then each refusal is in the trail once: by route, by the client, and under the lead it was about
    by_route = search(module, route=UNMERGE)
    assert sorted(record.request_id for record in by_route) == ["r-1", "r-2"]
    assert {record.outcome.value for record in by_route} == {"refused"}
    by_client = search(module, actor="bi-reporting")
    assert [(r.request_id, r.status, dict(r.detail)) for r in by_client] == [
        ("r-1", 401, {"refused_by": "api_gateway", "error": "UNAUTHORIZED"})
    ]
    assert [record.actor for record in search(module, target="L-r-2")] == ["anonymous"]
    assert search(module, request_id="r-3") == []


def test_a_batch_that_is_not_the_access_logs_goes_to_the_failure_queue_at_once(
    refusals: tuple[ModuleType, Provisioned],
) -> None:
    module, provisioned = refusals
    failures = provisioned.queue_urls[FUNCTION.failure_queue.name]
    # Given a batch whose data is not gzip, and one whose second line is not JSON
    garbled = {"awslogs": {"data": base64.b64encode(b"not gzip").decode()}}
    mixed = raw_batch([json.dumps(line("r-9", status="401")), "GET /api/v1/leads 401"])
    # When each is delivered
    invoke(module, garbled)
    invoke(module, mixed)
    # Then neither raised (no retries), both are in the failure queue with why, and the readable line is recorded
    letters = drain(failures)
    assert [letter["requestContext"]["condition"] for letter in letters] == ["PermanentFailure", "PermanentFailure"]
    reasons = [letter["responsePayload"]["errorMessage"] for letter in letters]
    assert "not a CloudWatch Logs subscription batch" in reasons[0]
    assert "not access log JSON" in reasons[1]
    assert [record.request_id for record in search(module, route=UNMERGE)] == ["r-9"]
