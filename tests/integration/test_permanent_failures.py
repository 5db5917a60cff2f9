"""An event the lead processor can never apply goes to its dead-letter queue at once, with the reason; one a
retry may fix still fails, for Lambda to retry (issue 8, poison messages)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from local_runtime.lambda_events import LocalLambdaContext
from local_runtime.provision import Provisioned
from shared.catalog import CATALOG
from shared.leads.ports import TooLargeToStore
from tests.integration.conftest import drain, handler_module

FAILURES = CATALOG.function("lead_processor").failure_queue.name


def bus_event(detail: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "11111111-2222-3333-4444-555555555555",
        "detail-type": "contact.upserted",
        "source": "revops.webhooks",
        "account": "123456789012",
        "time": datetime.now(UTC).isoformat(),
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }


@pytest.fixture
def processor(aws):  # type: ignore[no-untyped-def]
    return handler_module("lead_processor")


def test_a_malformed_event_is_dead_lettered_at_once_with_the_reason(processor, aws: Provisioned) -> None:  # type: ignore[no-untyped-def]
    # Given an event on the bus whose detail is not a canonical event
    event = bus_event({"event_id": "e-1", "event_type": "contact.upserted", "occurred_at": "yesterday"})
    # When the lead processor gets it
    result = processor.handler(event, LocalLambdaContext("lead-processor"))
    # Then the invocation succeeds (no retries) and the event is in the dead-letter queue with why
    [record] = drain(aws.queue_urls[FAILURES])
    assert record["requestContext"]["condition"] == "PermanentFailure"
    assert record["requestPayload"] == json.loads(json.dumps(event))
    assert record["responsePayload"]["errorType"] == "ValidationError"
    assert "occurred_at" in record["responsePayload"]["errorMessage"]
    assert result["reason"].startswith("ValidationError")


def test_a_record_too_large_to_store_is_dead_lettered_at_once(processor, aws: Provisioned, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def too_large(_: Any) -> Any:
        raise TooLargeToStore("lead x would be 500000 bytes, over DynamoDB's item limit of 400 KB")

    monkeypatch.setattr(processor.service, "handle", too_large)
    event = bus_event(_canonical())
    processor.handler(event, LocalLambdaContext("lead-processor"))
    [record] = drain(aws.queue_urls[FAILURES])
    assert "400 KB" in record["responsePayload"]["errorMessage"]


def test_a_failure_a_retry_may_fix_is_left_to_lambdas_retries(processor, aws: Provisioned, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def unavailable(_: Any) -> Any:
        raise ConnectionError("DynamoDB did not answer")

    monkeypatch.setattr(processor.service, "handle", unavailable)
    with pytest.raises(ConnectionError):
        processor.handler(bus_event(_canonical()), LocalLambdaContext("lead-processor"))
    assert drain(aws.queue_urls[FAILURES]) == []


def _canonical() -> dict[str, Any]:
    now = datetime.now(UTC).isoformat()
    return {
        "event_id": "e-2",
        "event_type": "contact.upserted",
        "occurred_at": now,
        "received_at": now,
        "source_vendor": "hubspot",
        "vendor_event_id": "1",
        "vendor_event_type": "contact.creation",
        "subject": {"contact_id": "hubspot:1", "email": "ada@acme.io"},
        "data": {},
        "correlation_id": "c",
        "delivery_id": "d",
    }
