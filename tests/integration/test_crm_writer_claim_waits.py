"""The sync's writer (its handler, over moto's DynamoDB and SQS) with a notice of a record another writer is
creating (its `CreateClaim` unexpired): the message is done, and a new one comes back once the claim has expired,
so waiting for another writer spends none of the queue's receive count (24, then the dead-letter queue). A notice
blocked by claims too often (a create that never settles) goes to the dead-letter queue at once, with why."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import boto3
import pytest

from local_runtime.lambda_events import LocalLambdaContext
from local_runtime.provision import Provisioned
from shared.adapters.dynamodb_crm_sync import DynamoDbSyncStore
from shared.catalog import CATALOG, physical_name
from shared.catalog.crm import CHANGES, CRM_SYNC
from shared.crm.records import CrmCopy, FieldState, SyncedRecord
from tests.crm_fakes import FakeCrm
from tests.integration.conftest import STAGE, handler_module


@pytest.fixture
def writer(aws: Provisioned, monkeypatch: pytest.MonkeyPatch) -> tuple[ModuleType, FakeCrm]:
    module = handler_module("crm_sync_writer")
    hubspot = FakeCrm("hubspot")
    monkeypatch.setattr(module, "clients", lambda: {"hubspot": hubspot})
    now = datetime.now(UTC)
    fields = {"email": FieldState("ana@example.com", now, "hub"), "first_name": FieldState("Ana", now, "hub")}
    copy = CrmCopy().claiming("other-writer", "email", "ana@example.com", now, now + timedelta(seconds=40))
    store = DynamoDbSyncStore(boto3.client("dynamodb"), physical_name(STAGE, CRM_SYNC.name))
    store.commit(SyncedRecord("contact", "lead-1", fields, {"hubspot": copy}))
    return module, hubspot


def invoke(module: ModuleType, body: dict[str, Any]) -> dict[str, Any]:
    event = {"Records": [{"messageId": "m-1", "body": json.dumps(body), "receiptHandle": "r-1"}]}
    answer: dict[str, Any] = module.handler(event, LocalLambdaContext("crm_sync_writer"))
    return answer


def queue_counts(url: str) -> tuple[int, int]:
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesDelayed"])


def test_a_notice_blocked_by_a_claim_is_done_and_comes_back_when_the_claim_expires(
    aws: Provisioned, writer: tuple[ModuleType, FakeCrm], monkeypatch: pytest.MonkeyPatch
) -> None:
    module, hubspot = writer
    sent: list[tuple[list[Any], float]] = []
    send = module.requeue.send

    def spied(notices: list[Any], delay: float = 0) -> None:
        sent.append((notices, delay))
        send(notices, delay)

    monkeypatch.setattr(module.requeue, "send", spied)
    # When the writer takes a notice of the record while another writer's create claim holds it (40 s left)
    answer = invoke(module, {"crm": "hubspot", "record": "contact:lead-1", "version": 1})
    # Then the message is not failed (a failure would spend one of its 24 receives)
    assert answer == {"batchItemFailures": []}
    assert hubspot.records == {}
    # And it is queued again, counted, to come back once the claim has expired
    assert [([(n.record_key, n.claimed) for n in notices], 35 <= delay <= 40) for notices, delay in sent] == [
        ([("contact:lead-1", 1)], True)
    ]
    assert queue_counts(aws.work_queue_urls[CHANGES.name]) == (0, 1)


def test_a_notice_blocked_by_claims_too_often_is_dead_lettered_with_its_reason(
    aws: Provisioned, writer: tuple[ModuleType, FakeCrm]
) -> None:
    from shared.crm.writer import MAX_CLAIM_WAITS

    module, _ = writer
    body = {"claimed": MAX_CLAIM_WAITS, "crm": "hubspot", "record": "contact:lead-1", "version": 1}
    answer = invoke(module, body)
    assert answer == {"batchItemFailures": []}
    assert queue_counts(aws.work_queue_urls[CHANGES.name]) == (0, 0)
    dead_letters = physical_name(STAGE, CATALOG.work_queue(CHANGES.name).dead_letter_queue.name)
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=dead_letters)["QueueUrl"]
    [message] = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"]
    assert json.loads(message["Body"]) == body
    assert "create claim" in message["MessageAttributes"]["reason"]["StringValue"]
