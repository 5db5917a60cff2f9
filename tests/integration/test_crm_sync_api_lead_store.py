"""The sync API on moto, through the real handler with only its catalog environment and IAM: it reads the lead
store, so an account or a lead the hub knows and has not synced yet is one it knows. A contact's account conflict
resolved to the lead's own account (in no CRM, no health yet) is taken; such an account reads as the hub knows it,
not as an unknown id; and a value a field cannot hold is a 400 naming the field."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest

from local_runtime.provision import Provisioned
from shared.adapters.dynamodb_crm_sync import DynamoDbSyncStore
from shared.adapters.dynamodb_leads import DynamoDbLeadRepository
from shared.catalog import CATALOG, physical_name
from shared.catalog.crm import CRM_SYNC
from shared.crm.audit import Conflict, ConflictStatus
from shared.crm.records import CrmCopy, FieldState, SyncedRecord
from shared.leads.model import Account, Contact
from shared.leads.ports import ChangeSet
from tests.integration.conftest import STAGE, _fresh_metrics, api_answer, handler_module  # noqa: F401

SALES = {"sub": "u-sales", "cognito:groups": "sales", "cognito:username": "sales-ops", "token_use": "id"}
AT = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
RESOLVE = "/api/v1/sync/conflicts/{conflict_id}/resolve"
RECORDS = "/api/v1/sync/records"


def dynamodb() -> object:
    return boto3.client("dynamodb", region_name="us-east-1")


def sync_store() -> DynamoDbSyncStore:
    return DynamoDbSyncStore(dynamodb(), physical_name(STAGE, CRM_SYNC.name))


def lead_store_knows_kite() -> None:
    """The lead store knows Kite (lead Ana's account, by her email's domain): in no CRM, no health record yet."""
    leads = DynamoDbLeadRepository(dynamodb(), physical_name(STAGE, CATALOG.table("leads").name))
    leads.commit(
        ChangeSet(
            contacts={"lead-ana": Contact("lead-ana", AT, AT, account_id="acct-kite", account_linked_at=AT)},
            accounts={"acct-kite": Account("acct-kite", AT, AT, domain="kite.io")},
            created={"lead-ana"},
        )
    )


def flagged(hub_field: str, hub_value: str, crm_value: str, lead_id: str = "lead-ana") -> str:
    """A lead's synced record with a conflict on `hub_field`: the hub holds `hub_value`, HubSpot says `crm_value`."""
    conflict = Conflict(
        f"abc{len(hub_field)}{len(lead_id)}", f"contact:{lead_id}", "contact", lead_id, hub_field, hub_value, "hub",
        AT, "hubspot", crm_value, AT, AT,
    )  # fmt: skip
    record = SyncedRecord(
        "contact",
        lead_id,
        {"email": FieldState("ana@kite.io", AT, "hub"), hub_field: FieldState(hub_value, AT, "hub")},
        {"hubspot": CrmCopy("hs-1", {"email": "ana@kite.io", hub_field: hub_value})},
    )
    sync_store().commit(record.with_conflict(hub_field, conflict.conflict_id), conflicts=[conflict])
    return conflict.conflict_id


def test_a_contacts_account_resolved_to_an_account_only_the_lead_store_knows(aws: Provisioned) -> None:
    # Given Kite, known to the lead store only, and Ana's account in conflict (the hub: Osprey; HubSpot: Heron)
    lead_store_knows_kite()
    conflict_id = flagged("account", "acct-osprey", "hubspot:777")
    api = handler_module("crm_sync_api").handler
    # When sales ops resolve it to Kite
    status, body = api_answer(
        api, "crm-sync-api", "POST", RESOLVE, SALES, {"value": "acct-kite"}, conflict_id=conflict_id
    )
    # Then it is taken: the record's account is Kite, and the conflict is resolved
    assert status == 200, body
    assert (body["status"], body["resolved_value"]) == ("resolved", "acct-kite")
    record = sync_store().record("contact:lead-ana")
    assert record is not None
    assert (record.value("account"), record.open_conflicts) == ("acct-kite", {})
    # And an account neither the sync store nor the lead store knows is still refused, naming the field
    other = flagged("account", "acct-kite", "hubspot:778", lead_id="lead-bo")
    status, body = api_answer(api, "crm-sync-api", "POST", RESOLVE, SALES, {"value": "acct-nobody"}, conflict_id=other)
    assert status == 400, body
    assert "contact.account: 'acct-nobody' is no account the hub knows" in body["message"]


def test_an_account_only_the_lead_store_knows_reads_as_the_hub_knows_it(aws: Provisioned) -> None:
    # Given Kite, known to the lead store only
    lead_store_knows_kite()
    api = handler_module("crm_sync_api").handler
    # When its synced record is read
    status, body = api_answer(api, "crm-sync-api", "GET", RECORDS, SALES, query={"record": "account:acct-kite"})
    # Then it is the hub's view of it: never synced, its domain pending in each CRM
    assert status == 200, body
    assert (body["record"], body["version"]) == ("account:acct-kite", 0)
    assert (body["fields"]["domain"]["value"], body["fields"]["domain"]["source"]) == ("kite.io", "hub")
    assert {crm: (copy["id"], copy["pending"]) for crm, copy in body["crms"].items()} == {
        "hubspot": (None, ["domain"]),
        "salesforce": (None, ["domain"]),
    }
    # And Ana, a lead not synced yet, reads too, her account link waiting for Kite to be in a CRM
    status, body = api_answer(api, "crm-sync-api", "GET", RECORDS, SALES, query={"record": "lead-ana"})
    assert status == 200, body
    assert body["fields"]["account"]["value"] == "acct-kite"
    # And an id no one knows is a 404
    status, body = api_answer(api, "crm-sync-api", "GET", RECORDS, SALES, query={"record": "account:acct-nobody"})
    assert status == 404, body


@pytest.mark.parametrize(
    ("hub_field", "hub_value", "crm_value", "given", "named"),
    [
        ("email", "ana@kite.io", "ana@kite.dev", "Not An Email", "contact.email: 'Not An Email' is no email address"),
        ("owner", "sdr-maya-chen", "ae-daniel-kim", "rep-nobody", "contact.owner: 'rep-nobody' is none of its values"),
    ],
)
def test_a_resolution_the_field_cannot_hold_is_a_400_naming_the_field(
    aws: Provisioned, hub_field: str, hub_value: str, crm_value: str, given: str, named: str
) -> None:
    # Given a conflict on a field
    conflict_id = flagged(hub_field, hub_value, crm_value)
    api = handler_module("crm_sync_api").handler
    # When a person resolves it with a value the CRMs would refuse or the writer drop
    status, body = api_answer(api, "crm-sync-api", "POST", RESOLVE, SALES, {"value": given}, conflict_id=conflict_id)
    # Then it is a 400 naming the field and what it accepts, and the conflict stays open
    assert status == 400, body
    assert named in body["message"]
    conflict = sync_store().conflict(conflict_id)
    assert conflict is not None
    assert conflict.status is ConflictStatus.OPEN
