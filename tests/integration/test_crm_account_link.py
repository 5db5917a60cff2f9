"""A contact's account link on moto, through the real writer and recorder: the writer takes a synced contact's
notices from the sync queue and writes them with the real `hubspot-api-client` to the local HubSpot (served on a
loopback port): the contact is associated with its account's company as its primary one, moving the association
when the hub moves the contact (the company the hub set before removed); HubSpot's webhooks of that association,
on the bus, are the hub's own echo to the recorder: nothing applied, nothing written again."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import boto3
import requests
from hubspot.crm.objects import SimplePublicObjectInputForCreate

from local_runtime.lambda_events import LocalLambdaContext
from shared.adapters.dynamodb_crm_sync import DynamoDbSyncStore
from shared.adapters.dynamodb_leads import DynamoDbLeadRepository
from shared.adapters.eventbridge_publisher import EventBridgePublisher
from shared.adapters.sqs_change_queue import SqsChangeQueue
from shared.catalog import CATALOG, physical_name
from shared.crm.ports import ChangeNotice, Link
from shared.crm.records import CrmCopy, FieldState, SyncedRecord
from shared.events.canonical import WEBHOOK_EVENT_SOURCE
from shared.leads.model import Contact
from shared.leads.ports import ChangeSet
from tests.integration.conftest import STAGE
from tests.integration.test_crm_expansion_signals import AT, TOKEN, Hub, hub
from tests.integration.test_hubspot_emulator import serving
from tests.lead_journey_hub import normalized

__all__ = ["hub"]  # the expansion tests' fixture: both local CRMs served, the writer's credentials theirs

CONTACT = "contact:lead-ana"


def store() -> DynamoDbSyncStore:
    table = physical_name(STAGE, CATALOG.table("crm-sync").name)
    return DynamoDbSyncStore(boto3.client("dynamodb", region_name="us-east-1"), table)


def company(hub: Hub, name: str, domain: str) -> str:
    secret = boto3.client("secretsmanager", region_name="us-east-1").get_secret_value(
        SecretId=physical_name(STAGE, "crm-credentials")
    )
    url = json.loads(secret["SecretString"])["hubspot"]["api_url"]
    answer = requests.post(
        f"{url}/crm/v3/objects/companies",
        json={"properties": {"name": name, "domain": domain}},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    )
    return str(answer.json()["id"])


def synced_account(account_id: str, name: str, domain: str, company_id: str) -> None:
    fields = {"name": FieldState(name, AT, "hub"), "domain": FieldState(domain, AT, "hub")}
    agreed = {"name": name, "domain": domain}
    record = SyncedRecord("account", account_id, fields, {"hubspot": CrmCopy(company_id, agreed)})
    store().commit(record, links=[Link("hubspot", "account", company_id, record.key)])


def notify(hub: Hub) -> None:
    """The recorder's notice of the contact, for HubSpot, on the sync queue (as after the hub's decision)."""
    record = store().record(CONTACT)
    assert record is not None
    queue = SqsChangeQueue(hub.sqs, hub.aws.work_queue_urls["crm-sync-changes"])
    queue.send([ChangeNotice("hubspot", CONTACT, record.version)])


def hub_moves_contact(account_id: str, seconds: int) -> None:
    record = store().record(CONTACT)
    assert record is not None
    store().commit(record.with_field("account", FieldState(account_id, AT + timedelta(seconds=seconds), "hub")))


def contact(hub: Hub) -> dict[str, Any]:
    [found] = hub.crms.hubspot.records("contacts")
    return found


def hubspot_webhooks(hub: Hub) -> list[dict[str, Any]]:
    return [e for e in hub.crms.hubspot.events() if e.get("propertyName") == "associatedcompanyid"]


def test_the_contact_follows_its_account_in_hubspot_and_the_association_coming_back_is_the_hubs_echo(
    hub: Hub,
) -> None:
    osprey = hub.crms.company_id
    heron = company(hub, "Heron", "heron.io")
    synced_account("acct-osprey", "Osprey", "osprey.io", osprey)
    synced_account("acct-heron", "Heron", "heron.io", heron)
    # Given a synced contact of Osprey's the hub has not written to HubSpot yet
    fields = {"email": FieldState("ana@osprey.io", AT, "hub"), "account": FieldState("acct-osprey", AT, "hub")}
    store().commit(SyncedRecord("contact", "lead-ana", fields))
    # When the writer takes its notice
    notify(hub)
    assert hub.write() == []
    # Then HubSpot's contact is made, and Osprey is its primary company (type 1)
    ana = contact(hub)
    assert ana["properties"]["associatedcompanyid"] == osprey
    assert hub.crms.hubspot.associations("contacts", ana["id"]) == [("companies", osprey, 1)]
    record = store().record(CONTACT)
    assert record is not None
    assert record.copy_in("hubspot").agreed_on("account") == "acct-osprey"
    # When the hub moves the contact to Heron, and the writer takes the notice
    hub_moves_contact("acct-heron", 60)
    notify(hub)
    assert hub.write() == []
    # Then HubSpot's contact has Heron as its primary company, and the Osprey association the hub set is gone
    assert contact(hub)["properties"]["associatedcompanyid"] == heron
    assert hub.crms.hubspot.associations("contacts", ana["id"]) == [("companies", heron, 1)]
    assert hub.crms.hubspot.associations("companies", osprey) == []
    calls = [call["path"] for call in hub.crms.hubspot.calls()]
    assert calls.count("/crm/v4/associations/contacts/companies/batch/archive") == 1
    # When HubSpot's webhooks of those association changes come to the recorder, through the bus
    events = hubspot_webhooks(hub)
    assert [e["propertyValue"] for e in events] == [osprey, heron]
    bus = EventBridgePublisher(boto3.client("events", region_name="us-east-1"), hub.aws.bus_name, WEBHOOK_EVENT_SOURCE)
    for n, event in enumerate(events, start=1):
        assert not bus.publish(normalized("hubspot", [event], AT + timedelta(minutes=5), 700 + n)).failed
    answers = pump_recorder(hub)
    # Then each is the hub's echo: the contact keeps Heron, nothing is audited, no CRM is told anything
    assert [a["notices"] for a in answers] == [[], []]
    record = store().record(CONTACT)
    assert record is not None
    assert record.value("account") == "acct-heron"
    assert [e for e in store().audit(CONTACT).entries if e.hub_field == "account"] == []
    assert hub.write() == []
    assert contact(hub)["properties"]["associatedcompanyid"] == heron


def pump_recorder(hub: Hub) -> list[dict[str, Any]]:
    answers = []
    for tap in (t for t in hub.aws.taps if t.function.name == "crm_sync_recorder"):
        while messages := hub.sqs.receive_message(QueueUrl=tap.tap_url, MaxNumberOfMessages=10).get("Messages"):
            for message in messages:
                hub.sqs.delete_message(QueueUrl=tap.tap_url, ReceiptHandle=message["ReceiptHandle"])
                event = json.loads(message["Body"])
                event.setdefault("account", hub.aws.account)
                answers.append(hub.recorder.handler(event, LocalLambdaContext(tap.function.slug)))
    return answers


def test_a_new_primary_company_takes_the_primary_label_from_the_contacts_old_one() -> None:
    with serving() as served:
        sdk = served.sdk()
        osprey, heron = (
            sdk.crm.objects.basic_api.create(
                "companies", SimplePublicObjectInputForCreate(properties={"name": name})
            ).id
            for name in ("Osprey", "Heron")
        )
        ana = sdk.crm.objects.basic_api.create(
            "contacts", SimplePublicObjectInputForCreate(properties={"email": "ana@osprey.io"})
        ).id
        primary = [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 1}]
        for company_id in (osprey, heron):
            answer = served.post(
                "/crm/v4/associations/contacts/companies/batch/create",
                {"inputs": [{"from": {"id": ana}, "to": {"id": company_id}, "types": primary}]},
            )
            assert answer.status_code == 201
        # One primary company per contact, as HubSpot keeps it: Osprey stays associated, no longer primary
        assert served.hubspot.record("contacts", ana)["properties"]["associatedcompanyid"] == heron  # type: ignore[index]
        assert served.hubspot.associations("contacts", ana) == sorted(
            [("companies", osprey, 279), ("companies", heron, 1)]
        )
        assert served.hubspot.associations("companies", osprey) == [("contacts", ana, 280)]
        assert served.hubspot.associations("companies", heron) == [("contacts", ana, 2)]


def test_a_contact_written_before_its_account_is_in_hubspot_is_associated_once_the_writer_creates_the_company(
    hub: Hub,
) -> None:
    # Given a lead of Kite's (the lead store's), whose account is in no CRM yet
    leads = DynamoDbLeadRepository(
        boto3.client("dynamodb", region_name="us-east-1"), physical_name(STAGE, CATALOG.table("leads").name)
    )
    leads.commit(
        ChangeSet(
            contacts={"lead-ana": Contact("lead-ana", AT, AT, account_id="acct-kite", account_linked_at=AT)},
            created={"lead-ana"},
        )
    )
    fields = {"name": FieldState("Kite", AT, "hub"), "domain": FieldState("kite.io", AT, "hub")}
    store().commit(SyncedRecord("account", "acct-kite", fields))
    store().commit(
        SyncedRecord(
            "contact",
            "lead-ana",
            {"email": FieldState("ana@kite.io", AT, "hub"), "account": FieldState("acct-kite", AT, "hub")},
        )
    )
    # When the writer writes the contact first: HubSpot's contact is made without a company (none to name)
    notify(hub)
    assert hub.write() == []
    ana = contact(hub)
    assert hub.crms.hubspot.associations("contacts", ana["id"]) == []
    # and then the account's notice: the writer creates Kite's company
    queue = SqsChangeQueue(hub.sqs, hub.aws.work_queue_urls["crm-sync-changes"])
    account = store().record("account:acct-kite")
    assert account is not None
    queue.send([ChangeNotice("hubspot", account.key, account.version)])
    assert hub.write() == []
    # Then, with no further lead event, the contact is associated with it as its primary company
    account = store().record("account:acct-kite")
    assert account is not None
    kite = account.copy_in("hubspot").crm_id
    assert kite is not None
    assert hub.crms.hubspot.associations("contacts", ana["id"]) == [("companies", kite, 1)]
    assert contact(hub)["properties"]["associatedcompanyid"] == kite
    record = store().record(CONTACT)
    assert record is not None
    assert record.copy_in("hubspot").agreed_on("account") == "acct-kite"
    # and a redelivery of the account's notice writes nothing again
    queue.send([ChangeNotice("hubspot", account.key, account.version)])
    calls = len(hub.crms.hubspot.calls())
    assert hub.write() == []
    assert len(hub.crms.hubspot.calls()) == calls
