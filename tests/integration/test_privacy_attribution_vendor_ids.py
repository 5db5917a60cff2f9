"""Attribution's part of an erasure finds the deals and conversions that name the person only as a sender did: a
deal's `contact_ids` keep the vendor-qualified ids of the deal events (`hubspot:501`, `stripe:cus_...`,
`people_of`), the person's identities (`hubspot#501`) spelled as the webhooks qualify them. Those ids are in her
export and leave the items on erasure; the credits and the other people's ids stay."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.adapters.dynamodb_attribution_deals import deal_item
from shared.adapters.dynamodb_items import serialize
from shared.adapters.dynamodb_privacy_attribution import AttributionPrivacy
from shared.attribution.deals import Deal, DealStatus, People
from shared.catalog import ATTRIBUTION, physical_name
from shared.privacy.model import Person
from tests.integration.conftest import STAGE, only_table

NOW = datetime(2026, 5, 14, tzinfo=UTC)
TABLE = physical_name(STAGE, ATTRIBUTION.name)
GRETA = Person(
    email="greta@fjord.io",
    contact_ids=("c-greta",),
    identity_keys=("email#greta@fjord.io", "hubspot#501", "stripe#cus_greta", "phone#+4790000000"),
)


def _deal(client: Any, deal_id: str, contacts: tuple[str, ...]) -> None:
    people = People(contacts, (), None)
    deal = Deal(deal_id, NOW, DealStatus.OPEN, NOW, None, people, None, events=1, version=1)
    client.put_item(TableName=TABLE, Item=serialize(deal_item(deal, 1)))


def _conversion(client: Any, pk: str, contacts: list[str]) -> None:
    item = {"pk": {"S": pk}, "sk": {"S": "CONVERSION"}, "credits": {"N": "4900"}}
    client.put_item(TableName=TABLE, Item={**item, "contact_ids": {"L": [{"S": c} for c in contacts]}})


def _contact_ids(client: Any) -> dict[str, list[str]]:
    items = client.scan(TableName=TABLE)["Items"]
    return {i["pk"]["S"]: [v["S"] for v in i["contact_ids"]["L"]] for i in items}


def test_a_deal_naming_her_by_her_crm_id_and_a_conversion_by_her_billing_id_are_exported_and_erased() -> None:
    with only_table(ATTRIBUTION) as client:
        # Given a HubSpot deal naming her (no email) and a colleague, a first payment naming her Stripe customer,
        # and a deal naming only someone else's HubSpot id
        _deal(client, "hubspot:D-9", ("hubspot:501", "hubspot:777"))
        _conversion(client, "CONVERSION#first-payment:stripe:cus_greta", ["stripe:cus_greta"])
        _deal(client, "hubspot:D-10", ("hubspot:5012",))
        privacy = AttributionPrivacy(client, TABLE, lambda: NOW)
        # When her attribution data is exported, then erased
        exported = privacy.export(GRETA)
        erased = privacy.erase(GRETA)
        # Then her export listed the deal and the conversion
        assert [d["pk"] for d in exported["deals"]] == ["DEAL#hubspot:D-9"]
        assert [c["pk"] for c in exported["conversions"]] == ["CONVERSION#first-payment:stripe:cus_greta"]
        # And the erasure took her ids out of both, kept the colleague and the credits, left the other deal alone
        assert erased == 2
        assert _contact_ids(client) == {
            "DEAL#hubspot:D-9": ["hubspot:777"],
            "CONVERSION#first-payment:stripe:cus_greta": [],
            "DEAL#hubspot:D-10": ["hubspot:5012"],
        }
        conversion = client.get_item(
            TableName=TABLE, Key={"pk": {"S": "CONVERSION#first-payment:stripe:cus_greta"}, "sk": {"S": "CONVERSION"}}
        )["Item"]
        assert conversion["credits"] == {"N": "4900"}
        assert "erased_at" in conversion
        assert privacy.export(GRETA)["deals"] == []


def test_a_person_with_more_ids_than_one_scan_holds_is_found_by_the_last_of_them() -> None:
    with only_table(ATTRIBUTION) as client:
        # Given a person merged from many contacts, and a deal naming only the last of her CRM ids
        many = Person(
            email="greta@fjord.io",
            contact_ids=tuple(f"c-{n}" for n in range(100)),
            identity_keys=("email#greta@fjord.io", *(f"hubspot#{n}" for n in range(100))),
        )
        _deal(client, "hubspot:D-11", ("hubspot:99",))
        privacy = AttributionPrivacy(client, TABLE, lambda: NOW)
        # When she is exported and erased
        exported = privacy.export(many)["deals"]
        erased = privacy.erase(many)
        # Then the deal was found and her id left it
        assert [d["pk"] for d in exported] == ["DEAL#hubspot:D-11"]
        assert erased == 1
        assert _contact_ids(client) == {"DEAL#hubspot:D-11": []}
