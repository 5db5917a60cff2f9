"""An account's owner comes in from the CRMs (the `account.owner` mapping) and routes the account's leads and
expansions to that rep: HubSpot's `hubspot_owner_id` and Salesforce's `OwnerId`, as the vendors' own adapters
normalize their webhooks, translated to the hub's rep ids, last modified wins."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from shared.crm.account_owners import MappedAccountOwners
from shared.crm.mappings import parse_crm_mappings
from shared.handoffs.lead_facts import LeadStoreDirectory
from shared.handoffs.model import HandoffStatus, Priority
from shared.handoffs.routing import compile_routing
from shared.handoffs.routing_config import load_routing
from shared.handoffs.service import HandoffService
from shared.leads.crm_changes import ACCOUNT_OWNER
from shared.leads.model import Account
from tests.fakes import RecordingPublisher
from tests.handoff_fakes import InMemoryHandoffRepository, RecordingTimers
from tests.lead_journey_hub import ICP_FIELDS, MAPPINGS, Hub
from tests.vendor_samples import salesforce_message, salesforce_notification

DANIEL_HUBSPOT, RACHEL_SALESFORCE = "71000012", "005000000000013AAA"  # their ids in config/crm-mappings.json
INTEGRATION_USER = "005000000000000AAA"  # the user the hub's connected app writes as (integration_users)


@pytest.fixture
def hub() -> Hub:
    return Hub()


def account_of(hub: Hub, identity: str) -> Account:
    found = [account for account in hub.repo.accounts.values() if identity in account.identities]
    assert len(found) == 1, f"{len(found)} accounts hold {identity}"
    return found[0]


def salesforce_account(hub: Hub, owner_id: str, modified: str, account_id: str = "001000000000001AAA") -> None:
    notification = salesforce_notification(
        f"04l{uuid.uuid4().hex[:15]}",
        sobject="Account",
        Id=account_id,
        Name="Initech",
        OwnerId=owner_id,
        LastModifiedDate=modified,
        Email=None,
    )
    hub.deliver("salesforce", salesforce_message(notification))


def test_a_hubspot_company_owner_becomes_the_account_owner_its_leads_are_routed_to(hub: Hub) -> None:
    # Given a HubSpot company whose owner is Daniel Kim (an AE), and a VP of Sales captured who is its contact
    hub.hubspot(9001, "name", "Initech", subscription="company.propertyChange")
    hub.hubspot(9001, "hubspot_owner_id", DANIEL_HUBSPOT, subscription="company.propertyChange")
    hub.capture("bill@initech.com", **ICP_FIELDS)
    hub.hubspot(501, "email", "bill@initech.com")
    hub.hubspot(501, "associatedcompanyid", "9001")
    lead = hub.lead("bill@initech.com")
    # When the lead asks for a demo
    directory = LeadStoreDirectory(hub.repo)
    handoffs = HandoffService(
        InMemoryHandoffRepository(),
        lambda: compile_routing(load_routing()),
        directory,
        RecordingPublisher(),
        RecordingTimers(),
        hub.clock,
    )
    handoff = handoffs.request(lead.contact_id, Priority.PRIORITY, "demo_request", "cause-1").handoff
    # Then the account's owner is Daniel, by his rep id, and the owned-accounts rule hands him the lead
    assert account_of(hub, "hubspot#9001").profile.get(ACCOUNT_OWNER) == "ae-daniel-kim"
    facts = directory.facts(lead.contact_id)
    assert facts is not None
    assert facts.account_owner == "ae-daniel-kim"
    assert handoff is not None
    assert (handoff.status, handoff.rule_id, handoff.rep_id) == (
        HandoffStatus.ASSIGNED,
        "owned-accounts",
        "ae-daniel-kim",
    )


def test_a_salesforce_account_owner_is_translated_and_an_unknown_user_stays_that_crms(hub: Hub) -> None:
    # Given a Salesforce Account owned by Rachel Green
    salesforce_account(hub, RACHEL_SALESFORCE, "2026-11-25T10:00:00.000Z")
    assert account_of(hub, "salesforce#001000000000001AAA").profile.get(ACCOUNT_OWNER) == "ae-rachel-green"
    # When it is handed to a Salesforce user the routing has no rep for
    salesforce_account(hub, "005000000000099AAA", "2026-11-25T11:00:00.000Z")
    # Then the owner is that user, as Salesforce's: routing says it is no rep and falls back (see routing tests)
    account = account_of(hub, "salesforce#001000000000001AAA")
    assert account.profile.get(ACCOUNT_OWNER) == "salesforce:005000000000099AAA"
    assert LeadStoreDirectory(hub.repo).account_facts(account.account_id).account_owner == (  # type: ignore[union-attr]
        "salesforce:005000000000099AAA"
    )


def test_the_hub_integration_user_owning_a_record_it_created_is_no_owner(hub: Hub) -> None:
    # Given a Salesforce Account owned by Rachel Green
    salesforce_account(hub, RACHEL_SALESFORCE, "2026-11-25T10:00:00.000Z")
    # When a later message names the hub's integration user its owner (Salesforce makes the creator the owner:
    # what a record the hub's connected app created says until someone assigns it)
    salesforce_account(hub, INTEGRATION_USER, "2026-11-25T11:00:00.000Z")
    # Then it is nobody's choice of owner: Rachel stays, and no report names the integration user
    assert account_of(hub, "salesforce#001000000000001AAA").profile.get(ACCOUNT_OWNER) == "ae-rachel-green"
    assert MAPPINGS.integration_users["salesforce"] == (INTEGRATION_USER,)


def test_the_last_modified_owner_wins_whatever_order_the_webhooks_arrive_in(hub: Hub) -> None:
    # Given Rachel made owner at 11:00
    salesforce_account(hub, RACHEL_SALESFORCE, "2026-11-25T11:00:00.000Z")
    # When an older message (Daniel's ownership at 09:00) arrives after it
    salesforce_account(hub, "005000000000012AAA", "2026-11-25T09:00:00.000Z")
    # Then Rachel stays the owner
    assert account_of(hub, "salesforce#001000000000001AAA").profile.get(ACCOUNT_OWNER) == "ae-rachel-green"


def test_a_blanked_owner_keeps_the_last_one_and_other_company_properties_leave_it(hub: Hub) -> None:
    # Given a company owned by Daniel
    hub.hubspot(9001, "hubspot_owner_id", DANIEL_HUBSPOT, subscription="company.propertyChange")
    # When the owner is blanked and the company renamed
    hub.clock.advance(timedelta(minutes=1))
    hub.hubspot(9001, "hubspot_owner_id", "", subscription="company.propertyChange")
    hub.hubspot(9001, "name", "Initech Global", subscription="company.propertyChange")
    # Then Daniel is still the owner (a CRM's blank does not erase what the hub holds)
    account = account_of(hub, "hubspot#9001")
    assert (account.profile.get(ACCOUNT_OWNER), account.profile.get("name")) == ("ae-daniel-kim", "Initech Global")


def test_a_contacts_owner_is_not_its_accounts(hub: Hub) -> None:
    # Given a contact whose own HubSpot owner is an SDR
    hub.hubspot(501, "email", "bill@initech.com")
    hub.hubspot(501, "hubspot_owner_id", "71000001")
    # Then no account has an owner
    assert all(account.profile.get(ACCOUNT_OWNER) is None for account in hub.repo.accounts.values())


def test_mappings_without_an_inbound_account_owner_name_none(hub: Hub) -> None:
    # Given mappings that only write an account's owner out
    document = MAPPINGS.model_dump(mode="json", exclude_none=True)
    for mapping in document["mappings"]:
        if mapping["id"] == "account.owner":
            mapping["direction"] = "hub_to_crm"
    outbound_only = MappedAccountOwners(parse_crm_mappings(document))
    # When a company's owner changes in HubSpot
    [company] = hub.hubspot(9001, "hubspot_owner_id", DANIEL_HUBSPOT, subscription="company.propertyChange")
    # Then they read no owner in it, where the shipped ones do
    assert outbound_only.owner_change(company) is None
    change = MappedAccountOwners(MAPPINGS).owner_change(company)
    assert change is not None
    assert (change.owner, change.crm) == ("ae-daniel-kim", "hubspot")
