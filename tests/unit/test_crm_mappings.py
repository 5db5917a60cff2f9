"""The CRM mappings file: validated at load, each error naming the mapping; values translated both ways."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.crm.mappings import DEFAULT_MAPPINGS_PATH, InvalidCrmMappings, load_crm_mappings, parse_crm_mappings


def shipped() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DEFAULT_MAPPINGS_PATH.read_text())
    return data


def test_the_shipped_mappings_load() -> None:
    mappings = load_crm_mappings()
    assert mappings.field("contact", "email") is not None
    assert mappings.object("contact").crm_object("salesforce") == "Lead"
    assert {m.hub_field for m in mappings.fields("contact") if m.critical} == {
        "email",
        "owner",
        "lifecycle_stage",
        "account",
    }


def _account_owner(data: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = next(m for m in data["mappings"] if m["id"] == "account.owner")
    return found


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (
            lambda d: _account_owner(d).update(values_of="contact.phone"),
            "values_of 'contact.phone' names no mapping with values of its own",
        ),
        (
            lambda d: _account_owner(d).update(values_of="contact.nope"),
            "values_of 'contact.nope' names no mapping with values of its own",
        ),
        (lambda d: _account_owner(d).update(values={"x": {"hubspot": "1"}}), "give values or values_of, not both"),
    ],
)
def test_shared_values_must_name_a_mapping_with_values(change: Any, named: str) -> None:
    data = shipped()
    change(data)
    with pytest.raises(InvalidCrmMappings) as refused:
        parse_crm_mappings(data)
    assert f'mapping "account.owner": {named}' in str(refused.value)


def test_an_accounts_owner_shares_the_contact_owners_values() -> None:
    mappings = load_crm_mappings()
    account, contact = mappings.field("account", "owner"), mappings.field("contact", "owner")
    assert account is not None
    assert contact is not None
    assert (account.values_of, account.values) == ("contact.owner", contact.values)
    assert account.to_hub("salesforce", "005000000000013AAA") == "ae-rachel-green"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda d: d["mappings"][1].update(direction="sideways"), 'mapping "contact.first_name": direction'),
        (lambda d: d["mappings"][1].update(id="contact.given_name"), 'mapping "contact.given_name"'),
        (lambda d: d["mappings"][1].pop("hubspot") and d["mappings"][1].pop("salesforce"), "names neither"),
        (lambda d: d["mappings"].append(dict(d["mappings"][0])), 'mapping "contact.email": listed twice'),
        (lambda d: d["mappings"][2].update(hubspot="firstname"), "hubspot field 'firstname' is mapped twice"),
        (lambda d: d.update(tie_break=["hub", "hubspot"]), "tie_break"),
        (lambda d: d["objects"][0].update(match_on="fax"), "match_on 'fax' is no mapped hub field"),
        (
            lambda d: d["mappings"][7]["values"]["MQL"].update(hubspot="lead"),
            "hubspot value 'lead' stands for both",
        ),
    ],
)
def test_an_invalid_file_is_refused_naming_the_mapping(change: Any, named: str) -> None:
    data = shipped()
    change(data)
    with pytest.raises(InvalidCrmMappings) as refused:
        parse_crm_mappings(data)
    assert named in str(refused.value)


def test_values_translate_both_ways_and_unknown_ones_stay_the_crms() -> None:
    owner = load_crm_mappings().field("contact", "owner")
    assert owner is not None
    assert owner.to_crm("salesforce", "ae-daniel-kim") == "005000000000012AAA"
    assert owner.to_hub("hubspot", "71000012") == "ae-daniel-kim"
    # An owner the hub has no rep for stays Salesforce's: written back there, never to HubSpot
    assert owner.to_hub("salesforce", "005000000000777AAA") == "salesforce:005000000000777AAA"
    assert owner.expressible("salesforce", "salesforce:005000000000777AAA")
    assert owner.to_crm("salesforce", "salesforce:005000000000777AAA") == "005000000000777AAA"
    assert not owner.expressible("hubspot", "salesforce:005000000000777AAA")


def test_numbers_and_dates_are_compared_in_one_form() -> None:
    mappings = load_crm_mappings()
    score, mql_date = mappings.field("contact", "score"), mappings.field("contact", "mql_date")
    assert score is not None
    assert mql_date is not None
    assert score.to_hub("salesforce", 42.50) == score.to_hub("hubspot", "42.5") == "42.5"
    assert mql_date.to_hub("hubspot", "1764460800000") == "2025-11-30"
    assert mql_date.to_hub("salesforce", "2025-11-30") == "2025-11-30"


def test_what_the_hub_writes_and_never_reads_back_is_its_outbound_only_fields_and_sync_version() -> None:
    # Given the shipped mappings
    mappings = load_crm_mappings()
    # When asked what the hub only writes to each HubSpot object
    written_only = mappings.written_only("hubspot")
    # Then it is the computed fields and the sync version, and no field that comes in (two-way or CRM to hub)
    assert written_only["contacts"] == {
        "revops_score",
        "revops_score_factors",
        "revops_mql_date",
        "revops_handoff_status",
        "revops_sync_version",
    }
    assert written_only["companies"] == {"revops_health_score", "revops_health_band", "revops_sync_version"}
    for obj in mappings.objects:
        inbound = {m.crm_field("hubspot") for m in mappings.fields(obj.id) if m.inbound}
        assert not inbound & written_only[obj.crm_object("hubspot")]
    # and Salesforce's objects by their own names
    assert "RevOps_Score__c" in mappings.written_only("salesforce")["Lead"]
