"""An erased person whose CRM record must be found by its values (a create sent, never answered: the synced record
holds the create's claim, no CRM id) leaves no email on the sync queue: the erasure keeps the values in the
`crm-sync` table under a reference (`ERASING#<crm>#<record key>`), the notice carries only that reference, and the
writer deletes the kept values once the CRM's record is deleted. DynamoDB and SQS on moto."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from local_runtime.lambda_events import LocalLambdaContext
from local_runtime.provision import Provisioned
from shared.adapters import sqs_change_queue
from shared.adapters.dynamodb_crm_sync import DynamoDbSyncStore
from shared.adapters.dynamodb_privacy_crm_sync import CrmSyncPrivacy
from shared.adapters.sqs_change_queue import SqsCrmErasures, erasure_of
from shared.catalog import physical_name
from shared.catalog.crm import CHANGES, CRM_SYNC
from shared.crm.records import CrmCopy, FieldState, SyncedRecord
from shared.privacy.model import Person
from tests.integration.conftest import STAGE, handler_module, only_table

AT = datetime(2026, 11, 30, 3, 15, tzinfo=UTC)
TABLE = physical_name(STAGE, CRM_SYNC.name)


class Salesforce:
    """A CRM holding Leads by id, found by their Email."""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, str]] = {"00Q1": {"Email": "ana@oldco.com"}, "00Q2": {"Email": "bo@x.io"}}
        self.finds: list[tuple[str, str, list[str]]] = []

    def find(self, kind: str, field: str, values: Sequence[str]) -> list[str]:
        self.finds.append((kind, field, list(values)))
        return [i for i, r in self.records.items() if r.get(field) in values]

    def erase(self, kind: str, crm_ids: Sequence[str]) -> None:
        for crm_id in crm_ids:
            self.records.pop(crm_id, None)


@pytest.fixture
def moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any, str]]:
    monkeypatch.setattr(sqs_change_queue, "CREATE_IN_FLIGHT_SECONDS", 0)  # read at once, not a minute later
    with only_table(CRM_SYNC) as dynamodb:
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="test-crm-sync-changes")["QueueUrl"]
        yield dynamodb, sqs, url


def bodies(sqs: Any, url: str) -> list[str]:
    found: list[str] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in batch:
            found.append(message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def table_text(dynamodb: Any) -> str:
    return json.dumps(dynamodb.scan(TableName=TABLE)["Items"])


def test_an_erasure_of_a_create_never_answered_queues_no_email_and_keeps_none_once_done(
    moto: tuple[Any, Any, str],
) -> None:
    dynamodb, sqs, url = moto
    # Given a contact whose Salesforce create was sent twice (its email changed between), never answered
    fields = {"email": FieldState("ana@newco.com", AT, "hub"), "first_name": FieldState("Ana", AT, "hub")}
    copy = CrmCopy().claiming("writer-a", "Email", "ana@oldco.com", AT, AT + timedelta(seconds=60))
    copy = copy.claiming("writer-a", "Email", "ana@newco.com", AT, AT).released("writer-a", AT)
    DynamoDbSyncStore(dynamodb, TABLE).commit(SyncedRecord("contact", "lead-1", fields, {"salesforce": copy}))
    # When the person is erased: her CRM records' deletion queued, then her synced record deleted
    privacy = CrmSyncPrivacy(dynamodb, TABLE)
    person = Person("ana@newco.com", contact_ids=("lead-1",))
    assert SqsCrmErasures(sqs, url).request(privacy.crm_records(person)) == 1
    privacy.erase(person)
    # Then the notice on the queue (and so in its dead-letter queue, should it end there) holds no email
    queued = bodies(sqs, url)
    assert len(queued) == 1
    assert "@" not in queued[0], queued[0]
    notice = erasure_of(queued[0])
    assert notice.crm == "salesforce"
    assert notice.match_values == ()

    # And the writer finds her Lead by the values the erasure kept, deletes it, and then the values
    from shared.adapters.dynamodb_crm_sync import DynamoDbErasureLookups
    from shared.crm.erasure import erase_in_crms

    salesforce = Salesforce()
    lookups = DynamoDbErasureLookups(dynamodb, TABLE)
    report = erase_in_crms([notice], {"salesforce": salesforce}, lookups)
    assert report.erased == [notice]
    assert salesforce.finds == [("contact", "Email", ["ana@oldco.com", "ana@newco.com"])]
    assert list(salesforce.records) == ["00Q2"]
    assert "ana@" not in table_text(dynamodb)
    # And the same notice again (a redelivery) finds the values gone: done, nothing looked up
    again = erase_in_crms([notice], {"salesforce": salesforce}, lookups)
    assert again.erased == [notice]
    assert len(salesforce.finds) == 1


def test_a_failed_erasure_keeps_the_values_for_its_retry(moto: tuple[Any, Any, str]) -> None:
    dynamodb, sqs, url = moto
    fields = {"email": FieldState("ana@newco.com", AT, "hub")}
    copy = CrmCopy().claiming("writer-a", "Email", "ana@newco.com", AT, AT)
    DynamoDbSyncStore(dynamodb, TABLE).commit(SyncedRecord("contact", "lead-1", fields, {"salesforce": copy}))
    privacy = CrmSyncPrivacy(dynamodb, TABLE)
    person = Person("ana@newco.com", contact_ids=("lead-1",))
    SqsCrmErasures(sqs, url).request(privacy.crm_records(person))
    privacy.erase(person)
    [body] = bodies(sqs, url)

    from shared.adapters.dynamodb_crm_sync import DynamoDbErasureLookups
    from shared.crm.erasure import erase_in_crms
    from shared.crm.ports import CrmUnavailable

    class Down(Salesforce):
        def find(self, kind: str, field: str, values: Sequence[str]) -> list[str]:
            raise CrmUnavailable("503")

    lookups = DynamoDbErasureLookups(dynamodb, TABLE)
    notice = erasure_of(body)
    assert erase_in_crms([notice], {"salesforce": Down()}, lookups).retry == [notice]
    salesforce = Salesforce()
    salesforce.records["00Q3"] = {"Email": "ana@newco.com"}
    assert erase_in_crms([notice], {"salesforce": salesforce}, lookups).erased == [notice]
    assert "00Q3" not in salesforce.records
    assert "ana@" not in table_text(dynamodb)


def test_the_writer_deletes_the_record_named_by_reference_and_then_the_values(
    aws: Provisioned, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the hub's sync table and queue (moto), and a contact whose Salesforce create was never answered
    monkeypatch.setattr(sqs_change_queue, "CREATE_IN_FLIGHT_SECONDS", 0)
    dynamodb, sqs = boto3.client("dynamodb"), boto3.client("sqs")
    url = aws.work_queue_urls[CHANGES.name]
    fields = {"email": FieldState("ana@oldco.com", AT, "hub")}
    copy = CrmCopy().claiming("writer-a", "Email", "ana@oldco.com", AT, AT)
    DynamoDbSyncStore(dynamodb, TABLE).commit(SyncedRecord("contact", "lead-1", fields, {"salesforce": copy}))
    privacy = CrmSyncPrivacy(dynamodb, TABLE)
    person = Person("ana@oldco.com", contact_ids=("lead-1",))
    SqsCrmErasures(sqs, url).request(privacy.crm_records(person))
    privacy.erase(person)
    [message] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    # When the sync's writer takes the notice
    module = handler_module("crm_sync_writer")
    salesforce = Salesforce()
    monkeypatch.setattr(module, "clients", lambda: {"salesforce": salesforce})
    event = {"Records": [{"messageId": "m-1", "body": message["Body"], "receiptHandle": message["ReceiptHandle"]}]}
    answer = module.handler(event, LocalLambdaContext("crm_sync_writer"))
    # Then her Lead is deleted, the message done, and the table keeps nothing of her
    assert answer == {"batchItemFailures": []}
    assert list(salesforce.records) == ["00Q2"]
    assert "ana@" not in table_text(dynamodb)
