"""The privacy domain's storage. One contract, two erasure ledgers: the DynamoDB adapter (the `leads` table,
over moto) and the in-memory fake keep receipts and tombstones alike. And what only DynamoDB shows: the
delivery log's subject index finds a person's raw bodies, which an erasure removes (a one-event delivery, a
refused attempt) or takes them out of (a batch, the other people's events kept), leaving the claims in place."""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.adapters.dynamodb_ledger import DynamoDbDeliveryLedger
from shared.adapters.dynamodb_privacy_deliveries import DeliveriesPrivacy
from shared.adapters.dynamodb_privacy_ledger import DynamoDbErasureLedger
from shared.catalog import LEADS, WEBHOOK_DELIVERIES, physical_name
from shared.events.ids import event_id
from shared.privacy.model import ErasureReceipt, ErasureStatus, Person
from shared.privacy.ports import ErasureLedger
from shared.privacy.subject_keys import subject_hash
from shared.webhooks.model import ClaimStatus, DeliveryAttempt, Outcome, StoredEvent
from shared.webhooks.subjects import subject_of_event, subjects_of_body
from tests.integration.conftest import STAGE, only_table
from tests.privacy_fakes import InMemoryErasureLedger

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
GRETA = Person(email="greta@fjord.io", identity_keys=("email#greta@fjord.io", "segment#user-7"))


@pytest.fixture(params=["dynamodb", "in-memory"])
def ledger(request: pytest.FixtureRequest) -> Iterator[ErasureLedger]:
    if request.param == "in-memory":
        yield InMemoryErasureLedger()
        return
    with only_table(LEADS) as client:
        yield DynamoDbErasureLedger(client, physical_name(STAGE, LEADS.name))


def test_the_first_receipt_kept_wins_and_a_saved_one_reads_back(ledger: ErasureLedger) -> None:
    first = ErasureReceipt("er-1", ErasureStatus.IN_PROGRESS, requested_at=NOW)
    assert ledger.receipt("h-1") is None
    assert ledger.open("h-1", first).erasure_id == "er-1"
    # a concurrent first request: answered the receipt kept
    assert ledger.open("h-1", ErasureReceipt("er-2", ErasureStatus.IN_PROGRESS, requested_at=NOW)).erasure_id == "er-1"
    first.add({"leads": 3})
    first.remember(["s-1"], ["c-1"])
    first.status, first.completed_at, first.runs = ErasureStatus.COMPLETED, NOW + timedelta(seconds=1), 1
    ledger.save("h-1", first)
    assert ledger.receipt("h-1") == first


def test_tombstones_say_when_each_subject_was_erased_last(ledger: ErasureLedger) -> None:
    ledger.tombstone(["s-1", "s-2"], NOW, "er-1")
    ledger.tombstone(["s-2"], NOW + timedelta(days=1), "er-1")
    assert dict(ledger.erased_at(["s-1", "s-2", "s-3"])) == {"s-1": NOW, "s-2": NOW + timedelta(days=1)}
    assert dict(ledger.erased_at([])) == {}


# ----------------------------------------------------------------------------------- the delivery log (DynamoDB)

TABLE = physical_name(STAGE, WEBHOOK_DELIVERIES.name)


@pytest.fixture
def deliveries() -> Iterator[tuple[DynamoDbDeliveryLedger, DeliveriesPrivacy, Any]]:
    with only_table(WEBHOOK_DELIVERIES) as client:
        yield DynamoDbDeliveryLedger(client, TABLE, lambda: NOW), DeliveriesPrivacy(client, TABLE, lambda: NOW), client


def attempt(attempt_id: str, body: bytes, outcome: Outcome = Outcome.ACCEPTED) -> DeliveryAttempt:
    return DeliveryAttempt(
        attempt_id=attempt_id,
        vendor="segment_api",
        received_at=NOW,
        outcome=outcome,
        status_code=202,
        body=body,
        body_sha256="x",
        body_size=len(body),
        content_type="application/json",
        user_agent="Mozilla/5.0",
        source_ip="198.51.100.7",
        url="https://hub.example.com/v1/batch",
        request_id=attempt_id,
        headers={"content-type": "application/json"},
    )


def event(message: dict[str, Any]) -> StoredEvent:
    key = str(message["messageId"])
    return StoredEvent("segment_api", key, event_id("segment_api", key), subject_of_event("segment_api", message))


def body_of(client: Any, pk: str) -> bytes | None:
    item = client.get_item(TableName=TABLE, Key={"pk": {"S": pk}})["Item"]
    return zlib.decompress(item["body"]["B"]) if "body" in item else None


def test_an_erasure_finds_her_raw_bodies_by_subject_and_leaves_the_others(deliveries: Any) -> None:
    ledger, privacy, client = deliveries
    # Given her identify alone in a delivery, her track in a batch with someone else's page, and a refused
    # delivery naming her
    identify = {"messageId": "m-1", "type": "identify", "userId": "user-7", "traits": {"email": "Greta@fjord.io"}}
    track = {"messageId": "m-2", "type": "track", "userId": "user-7", "event": "Demo Requested"}
    other = {"messageId": "m-3", "type": "page", "userId": "user-9", "name": "Home"}
    ledger.accept(attempt("a-1", json.dumps(identify).encode()), [event(identify)])
    batch = json.dumps({"batch": [track, other]}).encode()
    assert ledger.accept(attempt("a-2", batch), [event(track), event(other)]) == {
        "m-2": ClaimStatus.NEW,
        "m-3": ClaimStatus.NEW,
    }
    refused = attempt("a-3", b'{"garbled": "greta@fjord.io"', Outcome.REJECTED)
    refused.subjects = subjects_of_body(refused.body) or ()
    ledger.record(refused)
    # When her subjects' raw bodies are looked up and erased
    assert privacy.event_ids(GRETA) == {event_id("segment_api", "m-1"), event_id("segment_api", "m-2")}
    assert len(privacy.export(GRETA)) == 3
    assert privacy.erase(GRETA) == 3
    # Then her one-event delivery and the refused attempt keep no body, the batch keeps only the other page
    assert body_of(client, "EVENT#segment_api#m-1") is None
    assert body_of(client, "ATTEMPT#a-3") is None
    assert json.loads(body_of(client, "ATTEMPT#a-2") or b"") == {"batch": [{"erased": True}, other]}
    # And the log entry no longer says who called from where; the claims stay, so a retry is a duplicate
    log = client.get_item(TableName=TABLE, Key={"pk": {"S": "EVENT#segment_api#m-1"}})["Item"]["log"]["B"]
    assert json.loads(zlib.decompress(log))["source_ip"] is None
    assert ledger.accept(attempt("a-4", json.dumps(identify).encode()), [event(identify)]) == {
        "m-1": ClaimStatus.DUPLICATE
    }
    # And nothing is found under her subjects any longer: a second erasure erases nothing
    assert privacy.export(GRETA) == []
    assert privacy.erase(GRETA) == 0
    assert subject_hash("email#greta@fjord.io") in GRETA.subjects


WRITE_KEY = "write-key-1"


def tracked(ledger: DynamoDbDeliveryLedger, messages: list[dict[str, Any]]) -> int:
    """A tracking API `/v1/batch` of `messages`, through the receiver as it runs: its answer's status."""
    from shared.webhooks.ingest import WebhookIngest
    from shared.webhooks.model import InboundWebhook
    from shared.webhooks.vendors.segment import SegmentTrackingApi
    from tests.fakes import FixedClock, StaticSecrets

    vendor = SegmentTrackingApi()
    ingest = WebhookIngest({vendor.name: vendor}, StaticSecrets({vendor.secret_key: [WRITE_KEY]}), ledger, FixedClock())
    auth = "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()
    body = json.dumps({"batch": messages}).encode()
    headers = {"authorization": auth, "content-type": "application/json"}
    return ingest.receive(InboundWebhook(vendor.name, "POST", "https://hub/v1/batch", headers, body, "r")).status_code


def identify(message_id: str, email: str, first: str, last: str) -> dict[str, Any]:
    traits = {"email": email, "firstName": first, "lastName": last}
    return {"messageId": message_id, "type": "identify", "userId": f"u-{first.lower()}", "traits": traits}


def traces(client: Any, *needles: str) -> list[str]:
    """The keys of stored items holding any of `needles` anywhere (compressed bodies and logs inflated)."""
    found = []
    for item in client.scan(TableName=TABLE)["Items"]:
        texts = []
        for value in item.values():
            raw = value.get("B")
            if raw is not None:
                try:
                    texts.append(zlib.decompress(raw).decode("utf-8", "replace"))
                except zlib.error:
                    texts.append(bytes(raw).decode("utf-8", "replace"))
            else:
                texts.append(json.dumps(value))
        if any(needle.casefold() in text.casefold() for needle in needles for text in texts):
            found.append(item["pk"]["S"])
    return found


def test_a_refused_body_naming_several_people_is_found_and_erased_under_each(deliveries: Any) -> None:
    ledger, privacy, client = deliveries
    pia = Person(email="pia@fjord.io", identity_keys=("email#pia@fjord.io",), names=("Pia Berg", "Berg", "Pia"))
    # Given a tracking batch naming Quinn, then Pia, refused (400) because none of its messages can be kept (neither
    # names a user, and a third is over 32 KB: a batch keeps its good messages, and it has none)
    oversized = {"messageId": "m-3", "type": "track", "event": "Big", "properties": {"blob": "x" * 33_000}}
    messages = [
        {k: v for k, v in identify(*person).items() if k != "userId"}
        for person in (("m-1", "quinn@fjord.io", "Quinn", "Novak"), ("m-2", "pia@fjord.io", "Pia", "Berg"))
    ]
    assert tracked(ledger, [*messages, oversized]) == 400
    [refused] = [pk for pk in traces(client, "pia@fjord.io") if pk.startswith("ATTEMPT#")]
    # When Pia's data is exported, then erased
    exported = privacy.export(pia)
    erased = privacy.erase(pia)
    # Then the export listed the refused body, the erasure took her out of it, and no item holds her any more
    assert [view["pk"] for view in exported] == [refused]
    assert "pia@fjord.io" in json.dumps(exported)
    assert erased == 1
    assert traces(client, "pia@fjord.io", "Berg") == []
    # And Quinn's part of the body is kept, and still found under his subject
    batch = json.loads(body_of(client, refused) or b"")["batch"]
    assert batch[:2] == [messages[0], {"erased": True}]
    quinn = Person(email="quinn@fjord.io", identity_keys=("email#quinn@fjord.io",))
    assert [view["pk"] for view in privacy.export(quinn)] == [refused]
    assert privacy.erase(pia) == 0


def test_a_batch_repeating_her_stored_event_is_found_and_erased_under_her(deliveries: Any) -> None:
    ledger, privacy, client = deliveries
    pat = Person(email="pat@fjord.io", identity_keys=("email#pat@fjord.io",), names=("Pat Okafor", "Okafor", "Pat"))
    # Given Pat's identify stored in a first batch, and a second batch repeating it beside Quinn's
    pats = identify("m-1", "pat@fjord.io", "Pat", "Okafor")
    quinns = identify("m-2", "quinn@fjord.io", "Quinn", "Novak")
    assert tracked(ledger, [pats, {"messageId": "m-0", "type": "track", "userId": "u-0", "event": "Seen"}]) == 200
    assert tracked(ledger, [pats, quinns]) == 200
    bodies = sorted(pk for pk in traces(client, "pat@fjord.io") if pk.startswith("ATTEMPT#"))
    assert len(bodies) == 2
    # When Pat's data is exported, then erased
    exported = privacy.export(pat)
    erased = privacy.erase(pat)
    # Then the export listed both bodies, the erasure took her out of both, and no item holds her any more
    assert sorted(view["pk"] for view in exported) == bodies
    assert erased == 2
    assert traces(client, "pat@fjord.io", "Okafor") == []
    # And Quinn's event is kept in the second batch
    assert [json.loads(body_of(client, pk) or b"")["batch"] for pk in bodies].count([{"erased": True}, quinns]) == 1
    assert privacy.export(pat) == []


def test_an_erased_persons_links_leave_a_shared_deal_and_its_credits_stay() -> None:
    from shared.adapters.dynamodb_privacy_attribution import AttributionPrivacy
    from shared.catalog import ATTRIBUTION

    table = physical_name(STAGE, ATTRIBUTION.name)
    with only_table(ATTRIBUTION) as client:
        # Given an account's deal and its conversion naming her and a colleague, and another deal naming him
        def put(pk: str, contacts: list[str], emails: list[str]) -> None:
            item: dict[str, Any] = {"pk": {"S": pk}, "sk": {"S": pk.split("#")[0]}, "credits": {"N": "1200"}}
            item["contact_ids"] = {"L": [{"S": c} for c in contacts]}
            if emails:
                item["emails"] = {"L": [{"S": e} for e in emails]}
            client.put_item(TableName=table, Item=item)

        put("DEAL#hubspot:D-1", ["c-greta", "c-olaf"], ["Greta@fjord.io", "olaf@fjord.io"])
        put("CONVERSION#deal:hubspot:D-1", ["c-greta", "c-olaf"], [])
        put("DEAL#hubspot:D-2", ["c-olaf"], ["olaf@fjord.io"])
        greta = Person(email="greta@fjord.io", contact_ids=("c-greta",))
        # When she is erased from attribution
        assert AttributionPrivacy(client, table, lambda: NOW).erase(greta) == 2
        # Then only her links went: the colleague stays on the shared deal, the credits stay, his deal is untouched
        items = {i["pk"]["S"]: i for i in client.scan(TableName=table)["Items"]}
        assert [v["S"] for v in items["DEAL#hubspot:D-1"]["contact_ids"]["L"]] == ["c-olaf"]
        assert [v["S"] for v in items["DEAL#hubspot:D-1"]["emails"]["L"]] == ["olaf@fjord.io"]
        assert [v["S"] for v in items["CONVERSION#deal:hubspot:D-1"]["contact_ids"]["L"]] == ["c-olaf"]
        assert items["CONVERSION#deal:hubspot:D-1"]["credits"] == {"N": "1200"}
        assert "erased_at" in items["CONVERSION#deal:hubspot:D-1"]
        assert "erased_at" not in items["DEAL#hubspot:D-2"]


def test_an_erased_persons_billing_revenue_goes_and_is_in_the_export_before() -> None:
    from shared.adapters.dynamodb_customer_revenue import DynamoDbCustomerRevenueStore
    from shared.adapters.dynamodb_privacy_attribution import AttributionPrivacy
    from shared.attribution.revenue import CustomerRevenue, SubscriptionChange
    from shared.catalog import ATTRIBUTION

    table = physical_name(STAGE, ATTRIBUTION.name)
    with only_table(ATTRIBUTION) as client:
        # Given she is a Stripe customer paying 49.00 a month, and another customer pays too
        revenues = DynamoDbCustomerRevenueStore(client, table)
        for customer in ("stripe#cus_greta", "stripe#cus_olaf"):
            change = SubscriptionChange(customer, "sub_1", "active", 4900, "USD", NOW, "e-1")
            revenues.save_revenue(CustomerRevenue(customer).folded(change))
        greta = Person(email="greta@fjord.io", identity_keys=("email#greta@fjord.io", "stripe#cus_greta"))
        privacy = AttributionPrivacy(client, table, lambda: NOW)
        # When her data is exported, then erased
        exported = privacy.export(greta)["customer_revenue"]
        erased = privacy.erase(greta)
        # Then the export held her subscriptions, and the erasure removed them (only hers)
        assert [item["customer_key"] for item in exported] == ["stripe#cus_greta"]
        assert erased == 1
        assert list(revenues.revenues(["stripe#cus_greta", "stripe#cus_olaf"])) == ["stripe#cus_olaf"]
