"""An account's expansion signal on moto, through the real handlers and the catalog's rules, to the local CRMs: the
success domain's event goes on the bus, the sync recorder's rule hands it to the recorder, whose notices the writer
takes from the sync queue and writes with the real SDKs to the local HubSpot and Salesforce (served on loopback
ports, reached through the `crm-credentials` secret). One task per CRM, linked to the account, however often the
signal comes."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
import requests
from werkzeug.serving import make_server

from local_runtime.crm_hubspot import BASE_PATH as HUBSPOT_PATH
from local_runtime.crm_hubspot import LocalHubSpot
from local_runtime.crm_salesforce import BASE_PATH as SALESFORCE_PATH
from local_runtime.crm_salesforce import CLIENT_ID, CLIENT_SECRET, LocalSalesforce
from local_runtime.lambda_events import LocalLambdaContext
from local_runtime.provision import Provisioned
from shared.adapters.dynamodb_crm_sync import DynamoDbSyncStore
from shared.adapters.eventbridge_publisher import EventBridgePublisher
from shared.catalog import CATALOG, physical_name
from shared.crm.records import CrmCopy, FieldState, SyncedRecord
from shared.events.success_events import SUCCESS_EVENT_SOURCE, SuccessEvent, SuccessEventType
from tests.integration.conftest import STAGE, handler_module

# Only loopback: a call an SDK sent to HubSpot or Salesforce themselves would fail the test.
pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])

TOKEN = "pat-local-test"
AT = datetime(2026, 11, 30, 3, 15, tzinfo=UTC)
DANIEL_SF, DANIEL_HS = "005000000000012AAA", "71000012"


def serve(app: Any) -> tuple[str, Callable[[], None]]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        thread.join(timeout=5)

    return f"http://127.0.0.1:{server.port}", stop


@dataclass
class Crms:
    hubspot: LocalHubSpot
    salesforce: LocalSalesforce
    company_id: str
    account_id: str


class Hub:
    def __init__(self, aws: Provisioned, crms: Crms, hubspot_url: str, salesforce_url: str) -> None:
        self.aws = aws
        self.crms = crms
        self.recorder = handler_module("crm_sync_recorder")
        self.writer = handler_module("crm_sync_writer")
        self.writer._clients = None  # the credentials below, not a previous test's
        credentials = {
            "hubspot": {"access_token": TOKEN, "api_url": f"{hubspot_url}{HUBSPOT_PATH}"},
            "salesforce": {
                "auth": "client_credentials",
                "instance_url": f"{salesforce_url}{SALESFORCE_PATH}",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
            },
        }
        boto3.client("secretsmanager", region_name="us-east-1").put_secret_value(
            SecretId=physical_name(STAGE, "crm-credentials"), SecretString=json.dumps(credentials)
        )
        self.sqs = boto3.client("sqs", region_name="us-east-1")
        self.bus = EventBridgePublisher(
            boto3.client("events", region_name="us-east-1"), aws.bus_name, SUCCESS_EVENT_SOURCE
        )

    def synced_account(self, owner: str | None = None) -> None:
        """The account as the sync holds it once written to both CRMs (and its owner as Salesforce reported it)."""
        table = physical_name(STAGE, CATALOG.table("crm-sync").name)
        store = DynamoDbSyncStore(boto3.client("dynamodb", region_name="us-east-1"), table)
        fields = {"name": FieldState("Osprey", AT, "hub"), "domain": FieldState("osprey.io", AT, "hub")}
        if owner is not None:
            fields["owner"] = FieldState(owner, AT, "salesforce", "005000000000099AAA")
        agreed = {"name": "Osprey", "domain": "osprey.io"}
        copies = {
            "hubspot": CrmCopy(self.crms.company_id, agreed),
            "salesforce": CrmCopy(self.crms.account_id, agreed),
        }
        store.commit(SyncedRecord("account", "acct-osprey", fields, copies))

    def signal(self) -> SuccessEvent:
        return SuccessEvent(
            event_id=SuccessEvent.id_for("acct-osprey", "usage-1", SuccessEventType.EXPANSION_SIGNAL.value),
            event_type=SuccessEventType.EXPANSION_SIGNAL,
            occurred_at=AT,
            tenant_id="acct-osprey",
            model_version="2026.1",
            score=92.5,
            band="green",
            cause="usage-1",
            readiness=84.0,
            suggestions=["analytics_pro"],
            reasons=["seat_pressure: 0.9500"],
        )

    def publish(self, event: SuccessEvent) -> None:
        assert not self.bus.publish([event]).failed

    def pump(self, retried: int = 0) -> list[dict[str, Any]]:
        """The recorder takes what the bus routed to its rules; the writer, what the recorder queued (failing
        `retried` notices, kept in `failed`)."""
        answers = []
        for tap in (t for t in self.aws.taps if t.function.name == "crm_sync_recorder"):
            while messages := self.sqs.receive_message(QueueUrl=tap.tap_url, MaxNumberOfMessages=10).get("Messages"):
                for message in messages:
                    self.sqs.delete_message(QueueUrl=tap.tap_url, ReceiptHandle=message["ReceiptHandle"])
                    event = json.loads(message["Body"])
                    event.setdefault("account", self.aws.account)
                    answers.append(self.recorder.handler(event, LocalLambdaContext(tap.function.slug)))
        self.failed = self.write()
        assert len(self.failed) == retried
        return answers

    def write(self) -> list[str]:
        """The writer takes what the sync queue holds: the bodies of the notices it failed (the queue hands them
        back after its visibility timeout: `redeliver`)."""
        queue = self.aws.work_queue_urls["crm-sync-changes"]
        failed_bodies = []
        while messages := self.sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages"):
            records = [{"messageId": m["MessageId"], "body": m["Body"]} for m in messages]
            answer = self.writer.handler({"Records": records}, LocalLambdaContext("crm_sync_writer"))
            failed = {f["itemIdentifier"] for f in answer["batchItemFailures"]}
            failed_bodies += [m["Body"] for m in messages if m["MessageId"] in failed]
            for message in messages:
                self.sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
        return failed_bodies

    def redeliver(self, bodies: list[str]) -> None:
        """The notices the writer failed, back on the sync queue (as its visibility timeout does)."""
        queue = self.aws.work_queue_urls["crm-sync-changes"]
        for body in bodies:
            self.sqs.send_message(QueueUrl=queue, MessageBody=body)

    def dead_letters(self) -> list[str]:
        """The notices dead-lettered by the writer (for good, or once the queue's receive count ran out)."""
        name = physical_name(STAGE, CATALOG.work_queue("crm-sync-changes").dead_letter_queue.name)
        url = self.sqs.get_queue_url(QueueName=name)["QueueUrl"]
        messages = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages") or []
        return [m["Body"] for m in messages]


@pytest.fixture
def hub(aws: Provisioned) -> Iterator[Hub]:
    hubspot, salesforce = LocalHubSpot(access_token=TOKEN), LocalSalesforce()
    hubspot_url, stop_hubspot = serve(hubspot.wsgi())
    salesforce_url, stop_salesforce = serve(salesforce.wsgi())
    # the account as the sync created it in each CRM before
    company = requests.post(
        f"{hubspot_url}{HUBSPOT_PATH}/crm/v3/objects/companies",
        json={"properties": {"name": "Osprey", "domain": "osprey.io"}},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    ).json()
    account = salesforce.edit("Account", {"Name": "Osprey", "Website": "osprey.io"})
    try:
        yield Hub(aws, Crms(hubspot, salesforce, str(company["id"]), str(account["Id"])), hubspot_url, salesforce_url)
    finally:
        hubspot.close()
        salesforce.close()
        stop_hubspot()
        stop_salesforce()


def test_an_expansion_signal_becomes_one_task_on_the_account_in_each_crm_however_often_it_comes(hub: Hub) -> None:
    # Given an account both CRMs hold, which a Salesforce user gave to Daniel
    hub.synced_account(owner="ae-daniel-kim")
    # When the success domain publishes its expansion signal, and the sync's functions take it
    signal = hub.signal()
    hub.publish(signal)
    [decided] = hub.pump()
    # Then the recorder decided the expansion's fields and told both CRMs
    assert decided["record"] == f"expansion:{signal.event_id}"
    assert sorted(decided["notices"]) == ["hubspot", "salesforce"]
    # And HubSpot has a task associated with the company (192), for Daniel, found by the signal's id
    [task] = hub.crms.hubspot.records("tasks")
    assert task["properties"]["revops_signal_id"] == signal.event_id
    # (named by the account's id: the lead store here knows no name for it)
    assert task["properties"]["hs_task_subject"] == "Expansion: acct-osprey is ready to expand (readiness 84)"
    assert (task["properties"]["hs_task_status"], task["properties"]["hubspot_owner_id"]) == ("NOT_STARTED", DANIEL_HS)
    assert hub.crms.hubspot.associations("tasks", task["id"]) == [("companies", hub.crms.company_id, 192)]
    # And Salesforce a Task related to the Account, for Daniel, due in three days
    [sf_task] = hub.crms.salesforce.records("Task")
    assert (sf_task["WhatId"], sf_task["OwnerId"]) == (hub.crms.account_id, DANIEL_SF)
    assert (sf_task["ActivityDate"], sf_task["Priority"]) == ("2026-12-03", "High")
    # When the bus delivers the same signal again
    hub.publish(signal)
    [again] = hub.pump()
    # Then it is known, and neither CRM gets a second task
    assert again["note"] == "duplicate event; decided once already"
    assert len(hub.crms.hubspot.records("tasks")) == len(hub.crms.salesforce.records("Task")) == 1


def test_a_signal_taken_before_its_accounts_health_change_waits_for_the_account_and_is_not_dead_lettered(
    hub: Hub,
) -> None:
    # Given no synced account yet: the success domain's health change and expansion signal of one recompute are
    # published together, and the signal is taken first
    signal = hub.signal()
    hub.publish(signal)
    # When the recorder decides it and the writer takes its notices
    [decided] = hub.pump(retried=2)
    # Then the writer fails both CRMs' notices (the queue hands them back) and dead-letters neither; no task yet
    assert sorted(decided["notices"]) == ["hubspot", "salesforce"]
    assert hub.dead_letters() == []
    assert hub.crms.hubspot.records("tasks") == hub.crms.salesforce.records("Task") == []
    # When the account's record is there (its health change decided, written, Daniel its owner in Salesforce) and
    # the queue hands the notices back
    hub.synced_account(owner="ae-daniel-kim")
    hub.redeliver(hub.failed)
    # Then each CRM gets the signal's task, linked to the account, for the owner the account has now
    assert hub.write() == []
    [task] = hub.crms.hubspot.records("tasks")
    assert (task["properties"]["revops_signal_id"], task["properties"]["hubspot_owner_id"]) == (
        signal.event_id,
        DANIEL_HS,
    )
    assert hub.crms.hubspot.associations("tasks", task["id"]) == [("companies", hub.crms.company_id, 192)]
    [sf_task] = hub.crms.salesforce.records("Task")
    assert (sf_task["WhatId"], sf_task["OwnerId"]) == (hub.crms.account_id, DANIEL_SF)
    assert hub.dead_letters() == []
