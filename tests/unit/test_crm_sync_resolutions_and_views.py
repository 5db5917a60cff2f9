"""CRM sync, decided in memory: a resolution's value is one the field can hold (normalized as a CRM's value is,
else refused naming the field and what it accepts); a change timed by a CRM is compared with the hub's at that
CRM's precision (a tie within it goes to the mappings' tie break); and the record view lists what is pending as
the writer would write it (a contact's account link included), or, for a record the hub knows but has not
synced, the hub's fields pending in every CRM."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from shared.crm.audit import Conflict, ConflictStatus
from shared.crm.mappings import CrmMappings, load_crm_mappings
from shared.crm.outbound import planned_write
from shared.crm.ports import HubProfile, Link
from shared.crm.records import CrmCopy, FieldState, SyncedRecord
from shared.crm.resolution import Outcome, crm_change, hub_change
from shared.crm.service import InvalidResolution
from tests.unit.test_crm_sync import T0, Hub, captured

NOW = T0 + timedelta(hours=1)
# 10:00:05.600 by the hub's clock; Salesforce stamps a change made 0.3 s later 10:00:05 (whole seconds)
HUB_AT = T0 + timedelta(hours=1, seconds=5, milliseconds=600)
SALESFORCE_STAMP = T0 + timedelta(hours=1, seconds=5)


@pytest.fixture
def hub() -> Hub:
    return Hub()


def tie_break(*order: str) -> CrmMappings:
    return load_crm_mappings().model_copy(update={"tie_break": order})


def held_by(source: str, value: str, at: datetime) -> SyncedRecord:
    """A contact whose job title `source` set at `at`, agreed with neither CRM since."""
    return SyncedRecord("contact", "lead-1", {"job_title": FieldState(value, at, source)})


def open_conflict(hub: Hub, hub_field: str, hub_value: str, crm_value: str) -> Conflict:
    """Given a contact whose `hub_field` waits for a person: the hub holds `hub_value`, HubSpot says `crm_value`."""
    conflict = Conflict(
        f"c{len(hub_field)}ab", "contact:lead-1", "contact", "lead-1", hub_field, hub_value, "hub", T0,
        "hubspot", crm_value, T0 + timedelta(minutes=1), T0 + timedelta(minutes=1),
    )  # fmt: skip
    record = SyncedRecord(
        "contact",
        "lead-1",
        {"email": FieldState("ana@example.com", T0, "hub"), hub_field: FieldState(hub_value, T0, "hub")},
        {"hubspot": CrmCopy("hs1", {"email": "ana@example.com", hub_field: hub_value})},
    )
    hub.store.commit(record.with_conflict(hub_field, conflict.conflict_id), conflicts=[conflict])
    return conflict


# ------------------------------------------------------------------------------------------ resolution values


@pytest.mark.parametrize(
    ("hub_field", "hub_value", "crm_value", "given", "refusal"),
    [
        ("email", "ana@example.com", "ana@silva.dev", "Not An Email", r"contact\.email: 'Not An Email' is no email"),
        ("owner", "sdr-maya-chen", "ae-daniel-kim", "rep-nobody", r"contact\.owner: .* give one of .*sdr-maya-chen"),
        ("lifecycle_stage", "MQL", "SQL", "Hot", r"contact\.lifecycle_stage: 'Hot' is none of its values; give one"),
        ("email", "ana@example.com", "ana@silva.dev", "   ", r"contact\.email: is blank"),
        ("job_title", "VP", "CTO", "x" * 1001, r"contact\.job_title: is 1001 characters long; at most 1000"),
    ],
)
def test_a_value_the_field_cannot_hold_is_refused_naming_the_field(
    hub: Hub, hub_field: str, hub_value: str, crm_value: str, given: str, refusal: str
) -> None:
    # Given a conflict on a field
    conflict = open_conflict(hub, hub_field, hub_value, crm_value)
    # When a person resolves it with a value no CRM would take (or the writer would drop)
    with pytest.raises(InvalidResolution, match=refusal):
        hub.service.resolve(conflict.conflict_id, given, "sales-ops")
    # Then nothing changed: the field still waits for a person, with the hub's value
    record = hub.store.record("contact:lead-1")
    assert record is not None
    assert record.open_conflicts == {hub_field: conflict.conflict_id}
    assert record.value(hub_field) == hub_value
    stored = hub.store.conflict(conflict.conflict_id)
    assert stored is not None
    assert stored.status is ConflictStatus.OPEN
    assert hub.queue.notices == []


@pytest.mark.parametrize(
    ("hub_field", "hub_value", "crm_value", "given", "held", "in_hubspot"),
    [
        (
            "email",
            "ana@example.com",
            "ana@silva.dev",
            " Ana.Silva@Example.COM ",
            "ana.silva@example.com",
            "ana.silva@example.com",
        ),
        ("lifecycle_stage", "MQL", "Lead", "salesqualifiedlead", "SQL", "salesqualifiedlead"),
        ("owner", "sdr-maya-chen", "ae-daniel-kim", "ae-rachel-green", "ae-rachel-green", "71000013"),
    ],
)
def test_a_value_the_field_can_hold_is_normalized_as_a_crms_value_is(
    hub: Hub, hub_field: str, hub_value: str, crm_value: str, given: str, held: str, in_hubspot: str
) -> None:
    # Given a conflict on a field
    conflict = open_conflict(hub, hub_field, hub_value, crm_value)
    # When a person resolves it with a value in another form (an email's case, HubSpot's name of a stage)
    resolved = hub.service.resolve(conflict.conflict_id, given, "sales-ops")
    # Then the record holds it as the hub holds it, and it goes to HubSpot in HubSpot's terms
    assert resolved.resolved_value == held
    record = hub.store.record("contact:lead-1")
    assert record is not None
    assert (record.value(hub_field), record.open_conflicts) == (held, {})
    plan = planned_write(record, "hubspot", hub.service.mappings)
    assert plan is not None
    assert plan.values == {hub_field: held}
    mapping = hub.service.mappings.field("contact", hub_field)
    assert mapping is not None
    assert mapping.hubspot is not None
    assert plan.write.fields[mapping.hubspot] == in_hubspot
    # And resolving again with the same value, as given, answers the resolution
    assert hub.service.resolve(conflict.conflict_id, given, "sales-ops").resolved_value == held


def test_the_value_of_either_side_of_the_conflict_is_taken_as_it_is(hub: Hub) -> None:
    # Given an owner conflict whose Salesforce side is an owner only Salesforce knows (no rep of the hub's)
    conflict = open_conflict(hub, "owner", "sdr-maya-chen", "salesforce:005000000000099AAA")
    # When a person takes the CRM's value
    resolved = hub.service.resolve(conflict.conflict_id, "salesforce:005000000000099AAA", "sales-ops")
    # Then it is the record's
    assert resolved.resolved_value == "salesforce:005000000000099AAA"


def test_an_email_conflict_resolved_with_no_email_is_refused_end_to_end(hub: Hub) -> None:
    # Given an email changed in both CRMs: a conflict
    captured(hub)
    hs, sf = hub.crm_id("hubspot", "lead-1"), hub.crm_id("salesforce", "lead-1")
    hub.crm_reports("salesforce", sf, T0 + timedelta(minutes=10), {"Email": "ana.silva@example.com"})
    hub.crm_reports("hubspot", hs, T0 + timedelta(minutes=11), {"email": "ana@silva.dev"})
    [conflict] = hub.store.conflicts(None).conflicts
    # When a person resolves it with "Not An Email"
    with pytest.raises(InvalidResolution, match=r"contact\.email: .* name@domain\.tld"):
        hub.service.resolve(conflict.conflict_id, "Not An Email", "sales-ops")
    # Then the record keeps an email
    record = hub.store.record("contact:lead-1")
    assert record is not None
    assert record.value("email") != "Not An Email"


# ------------------------------------------------------------------------------------------ times at a CRM's precision


def test_a_salesforce_change_within_the_hubs_second_is_a_tie_for_the_tie_break() -> None:
    # Given the hub set a job title at 10:00:05.600
    record = held_by("hub", "VP", HUB_AT)
    mappings = load_crm_mappings()
    field = mappings.field("contact", "job_title")
    assert field is not None
    # When Salesforce reports a person's change stamped 10:00:05 (made at 10:00:05.9)
    decision = crm_change(record, field, mappings, "salesforce", "CTO", SALESFORCE_STAMP, by_person=True)
    # Then it is a tie within Salesforce's second, which the tie break (hub first, by default) decides
    assert (decision.outcome, decision.rule) == (Outcome.KEPT, "tie_break")
    # And with Salesforce first in the tie break, Salesforce's change wins
    salesforce_first = tie_break("salesforce", "hub", "hubspot")
    decision = crm_change(record, field, salesforce_first, "salesforce", "CTO", SALESFORCE_STAMP, by_person=True)
    assert (decision.outcome, decision.rule) == (Outcome.APPLIED, "tie_break")


def test_a_salesforce_change_stamped_a_second_earlier_still_loses() -> None:
    record = held_by("hub", "VP", HUB_AT)
    mappings = tie_break("salesforce", "hub", "hubspot")
    field = mappings.field("contact", "job_title")
    assert field is not None
    decision = crm_change(
        record, field, mappings, "salesforce", "CTO", SALESFORCE_STAMP - timedelta(seconds=1), by_person=True
    )
    assert (decision.outcome, decision.rule) == (Outcome.KEPT, "last_modified_wins")


def test_a_hub_change_within_the_second_salesforce_stamped_is_a_tie_too() -> None:
    # Given Salesforce set the title, stamped 10:00:05
    record = held_by("salesforce", "CTO", SALESFORCE_STAMP)
    # When the hub changes it at 10:00:05.600 (Salesforce's change may have been made at 10:00:05.9)
    decision = hub_change(record, "job_title", "VP", HUB_AT, tie_break("salesforce", "hub", "hubspot"), "revops")
    # Then the tie break decides, not the hub's sub-second clock
    assert (decision.outcome, decision.rule) == (Outcome.KEPT, "tie_break")


def test_hubspot_times_are_compared_to_the_millisecond() -> None:
    mappings = tie_break("hubspot", "hub", "salesforce")
    field = mappings.field("contact", "job_title")
    assert field is not None
    # Given the hub set a title at 10:00:05.600400; HubSpot reports a change at 10:00:05.600 (milliseconds)
    record = held_by("hub", "VP", HUB_AT + timedelta(microseconds=400))
    decision = crm_change(record, field, mappings, "hubspot", "CTO", HUB_AT, by_person=True)
    assert (decision.outcome, decision.rule) == (Outcome.APPLIED, "tie_break")
    # And one a millisecond earlier is earlier
    decision = crm_change(record, field, mappings, "hubspot", "CTO", HUB_AT - timedelta(milliseconds=1), by_person=True)
    assert (decision.outcome, decision.rule) == (Outcome.KEPT, "last_modified_wins")


# ------------------------------------------------------------------------------------------ the record view


def test_the_view_lists_a_contacts_account_link_the_writer_will_write(hub: Hub) -> None:
    # Given account Osprey in HubSpot (company 501), and a contact the hub moved to it, not written yet
    account = SyncedRecord(
        "account",
        "acct-osprey",
        {"domain": FieldState("osprey.io", T0, "hub")},
        {"hubspot": CrmCopy("501", {"domain": "osprey.io"})},
    )
    hub.store.commit(account, links=[Link("hubspot", "account", "501", account.key)])
    contact = SyncedRecord(
        "contact",
        "lead-1",
        {"email": FieldState("a@osprey.io", T0, "hub"), "account": FieldState("acct-osprey", T0, "hub")},
        {"hubspot": CrmCopy("hs1", {"email": "a@osprey.io"})},
    )
    hub.store.commit(contact)
    # When the record is viewed
    view = hub.service.record_view("contact:lead-1")
    # Then the account link is pending for HubSpot, as the writer's next write carries it
    assert view is not None
    assert view["crms"]["hubspot"]["pending"] == ["account"]


def test_the_view_of_an_account_the_hub_knows_and_has_not_synced(hub: Hub) -> None:
    # Given an account only the lead store knows (its name and domain), in no CRM and never decided on
    hub.directory.accounts["acct-kite"] = HubProfile({"name": ("Kite", T0), "domain": ("kite.io", T0)})
    # When it is viewed
    view = hub.service.record_view("account:acct-kite")
    # Then it is shown as the hub knows it: version 0, no id in any CRM, its fields pending in each
    assert view is not None
    assert (view["record"], view["version"], view["open_conflicts"]) == ("account:acct-kite", 0, {})
    assert {name: field["value"] for name, field in view["fields"].items()} == {"name": "Kite", "domain": "kite.io"}
    assert {field["source"] for field in view["fields"].values()} == {"hub"}
    assert view["crms"] == {
        crm: {"id": None, "sync_version": 0, "pending": ["domain", "name"]} for crm in ("hubspot", "salesforce")
    }
    # And nothing was stored by looking
    assert hub.store.record("account:acct-kite") is None


def test_the_view_of_a_lead_the_hub_knows_and_has_not_synced(hub: Hub) -> None:
    hub.directory.profiles["lead-9"] = HubProfile({"email": ("bo@kite.io", T0), "account": ("acct-kite", T0)})
    view = hub.service.record_view("contact:lead-9")
    assert view is not None
    assert view["version"] == 0
    # the account link waits: the account is in no CRM yet
    assert view["crms"]["hubspot"] == {"id": None, "sync_version": 0, "pending": ["email"]}


@pytest.mark.parametrize("key", ["account:acct-nobody", "contact:lead-nobody", "deal:hubspot:7001", "expansion:e1"])
def test_an_id_neither_the_sync_store_nor_the_hub_knows_has_no_view(hub: Hub, key: str) -> None:
    assert hub.service.record_view(key) is None
