"""Privacy on the running hub, as issue 15 §2's "done when" reads: a person's realistic journey (Segment page,
identify and track with their email, a lead capture, the CRM sync to the HubSpot and Salesforce emulators, a
HubSpot form, a Stripe customer and subscription, a handoff, a won deal with attribution, an NPS survey) is
exported as one JSON document; an erasure then leaves no trace of their email or name in any table of the
embedded DynamoDB (every item, every attribute, zlib raw bodies inflated) nor in the CRMs' emulators, while
campaign and channel attribution totals stay as they were; a second erasure is the same erasure and erases
nothing more; an old event replayed on the bus does not bring them back; a new event starts a fresh lead."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from segment.analytics.client import Client

from local_runtime.stored_text import attribute_text
from shared.catalog import CATALOG, physical_name
from shared.webhooks.vendors import typeform
from tests.e2e.conftest import eventually, send_standard_webhook, send_stripe_event, settle, started_hub, token

ROOT = Path(__file__).resolve().parents[2]
WRITE_KEY = "local-write-key-dev-only"
SECRET = {vendor: values[0] for vendor, values in json.loads((ROOT / "config/local.secrets.json").read_text()).items()}
HUBSPOT, SALESFORCE = "/_local/crm/hubspot", "/_local/crm/salesforce"


class Hub:
    def __init__(self, url: str) -> None:
        self.url = url
        self.admin = {"Authorization": f"Bearer {token('admin')}"}
        self.aws = requests.get(f"{url}/healthz", timeout=5).json()["aws_endpoint"]

    def get(self, path: str, **params: Any) -> requests.Response:
        return requests.get(f"{self.url}{path}", params=params, headers=self.admin, timeout=30)

    def post(self, path: str, body: Any) -> requests.Response:
        return requests.post(f"{self.url}{path}", json=body, headers=self.admin, timeout=60)

    def events(self, detail_type: str) -> list[dict[str, Any]]:
        answer = requests.get(f"{self.url}/_local/events", params={"detail-type": detail_type}, timeout=10)
        return list(answer.json())

    def crm_records(self, crm: str, kind: str) -> list[dict[str, Any]]:
        return list(requests.get(f"{self.url}{crm}/_records/{kind}", timeout=10).json()["records"])

    def put_on_bus(self, event: dict[str, Any]) -> None:
        """An event put on the bus again as it was, as an archive replay or a redriven dead letter does."""
        bus = boto3.client(
            "events", endpoint_url=self.aws, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
        )
        entry = {
            "EventBusName": physical_name("local", CATALOG.bus_name),
            "Source": event["source"],
            "DetailType": event["detail-type"],
            "Detail": json.dumps(event["detail"]),
        }
        assert bus.put_events(Entries=[entry])["FailedEntryCount"] == 0

    def stored_text(self) -> Iterator[tuple[str, str, str]]:
        """(table, item key, text) of every attribute of every item of every table of the embedded DynamoDB, binary
        values inflated when they are zlib (raw bodies, delivery logs), lower-cased."""
        dynamodb = boto3.client(
            "dynamodb", endpoint_url=self.aws, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
        )
        for table in dynamodb.list_tables()["TableNames"]:
            for page in dynamodb.get_paginator("scan").paginate(TableName=table):
                for item in page["Items"]:
                    where = f"{item.get('pk', {}).get('S')}|{item.get('sk', {}).get('S')}"
                    for name, value in item.items():
                        yield table, f"{where}.{name}", attribute_text(value).casefold()


class Person:
    """Greta, her visits, her lead, her CRM records, her company's Stripe customer, her deal and her survey."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.run = run = uuid.uuid4().hex[:8]
        self.first, self.last = "Greta", f"Lindqvist{run}"
        self.email = f"Greta.Lindqvist.{run}@fjord-{run}.io"  # mixed case: found case-insensitively
        self.user, self.anonymous = f"user-{run}", f"anon-{run}"
        self.campaign = f"privacy-social-{run}"
        self.customer, self.deal = f"cus_{run}", f"D-{run}"
        self.segment = Client(WRITE_KEY, host=hub.url, sync_mode=True, max_retries=0)
        self.survey_body = b""

    def journey(self) -> None:
        now = datetime.now(UTC).replace(microsecond=0)
        campaign = {"name": self.campaign, "source": "linkedin", "medium": "paid_social"}
        self.segment.page(
            anonymous_id=self.anonymous,
            name="Home",
            properties={"url": "https://www.fjord.test/"},
            context={"campaign": campaign},
            timestamp=now - timedelta(days=5),
        )
        traits = {"email": self.email, "firstName": self.first, "lastName": self.last}
        self.segment.identify(self.user, traits, anonymous_id=self.anonymous, timestamp=now - timedelta(days=4))
        self.segment.track(self.user, "Demo Requested", {"plan": "pro"}, timestamp=now - timedelta(days=3))
        self.segment.flush()
        captured = self.hub.post(
            "/api/v1/integrations/sales/leads",
            {
                "email": self.email,
                "source": "web form",
                "first_name": self.first,
                "last_name": self.last,
                "company": f"Fjord {self.run} AB",
                "job_title": "VP of Sales",
                "industry": "Software",
                "employee_count": 450,
                "annual_revenue": "60000000",
                "country": "US",
                "phone": f"+46 70 {int(self.run, 16) % 10**7:07d}",
            },
        )
        assert captured.status_code in (200, 201), captured.text
        self.lead_id = captured.json()["lead_id"]
        # the sync creates her in both CRMs; then she fills in a HubSpot form there
        eventually(lambda: self.in_crm(HUBSPOT, "contacts") and self.in_crm(SALESFORCE, "Lead"))
        form = {"object": "contacts", "email": self.email.lower(), "properties": {"num_conversion_events": "1"}}
        assert requests.post(f"{self.hub.url}{HUBSPOT}/_edits", json=form, timeout=10).status_code == 200
        stripe_customer = {"object": "customer", "id": self.customer, "email": self.email, "name": f"Fjord {self.run}"}
        assert send_stripe_event(self.hub.url, "customer.created", stripe_customer).status_code == 202
        subscription = {
            "object": "subscription",
            "id": f"sub_{self.run}",
            "customer": self.customer,
            "status": "active",
            "items": {"data": [{"price": {"unit_amount": 50000, "currency": "usd"}, "quantity": 1}]},
        }
        assert send_stripe_event(self.hub.url, "customer.subscription.created", subscription).status_code == 202
        settle(self.hub.url)
        won = {"deal_id": self.deal, "email": self.email, "amount": "12000.00", "currency": "USD"}
        won["won_at"] = now.isoformat()
        assert send_standard_webhook(self.hub.url, "deal.won", now.isoformat(), won).status_code == 202
        self.survey_body = self._survey(now)
        assert self.send_survey().status_code == 202
        eventually(lambda: self.hub.get(f"/api/v1/attribution/deals/standard:{self.deal}").status_code == 200)
        eventually(lambda: self.handoffs())
        settle(self.hub.url)

    def _survey(self, at: datetime) -> bytes:
        answer_id = uuid.uuid4().hex
        answers = [
            {"type": "email", "email": self.email, "field": {"id": "f1", "type": "email", "ref": "email"}},
            {"type": "number", "number": 9, "field": {"id": "f2", "type": "opinion_scale", "ref": "nps"}},
        ]
        response = {"form_id": "nps", "token": answer_id, "submitted_at": at.isoformat(), "answers": answers}
        response["definition"] = {"id": "nps", "title": "Quarterly NPS", "fields": []}
        return json.dumps({"event_id": answer_id, "event_type": "form_response", "form_response": response}).encode()

    def send_survey(self) -> requests.Response:
        headers = {"Typeform-Signature": typeform.sign(SECRET["typeform"], self.survey_body)}
        headers["Content-Type"] = "application/json"
        return requests.post(f"{self.hub.url}/webhooks/typeform", data=self.survey_body, headers=headers, timeout=10)

    def in_crm(self, crm: str, kind: str) -> list[dict[str, Any]]:
        def email_of(record: dict[str, Any]) -> str:
            fields = record.get("properties") or record
            return str(fields.get("email") or fields.get("Email") or "").casefold()

        return [r for r in self.hub.crm_records(crm, kind) if email_of(r) == self.email.casefold()]

    def handoffs(self) -> list[dict[str, Any]]:
        items = self.hub.get("/api/v1/handoffs", limit=200).json()["items"]
        return [h for h in items if h["lead_id"] == self.lead_id]

    def leads(self) -> list[dict[str, Any]]:
        answer = self.hub.get("/api/v1/leads", email=self.email)
        assert answer.status_code == 200, answer.text
        return list(answer.json()["items"])

    def traces(self) -> list[tuple[str, str]]:
        """Where the hub's tables still hold her email or her name."""
        needles = (self.email.casefold(), self.last.casefold())
        return [(table, where) for table, where, text in self.hub.stored_text() if any(n in text for n in needles)]

    def totals(self) -> dict[str, Any]:
        """The campaign's and the channels' attribution, every model."""
        campaign = self.hub.get(f"/api/v1/integrations/sales/attribution/{self.campaign}")
        channels = self.hub.get("/api/v1/attribution/channels")
        assert campaign.status_code == 200, campaign.text
        assert channels.status_code == 200, channels.text
        return {"campaign": campaign.json(), "channels": channels.json()}

    def erase(self) -> requests.Response:
        return self.hub.post("/api/v1/privacy/erasure", {"email": self.email})


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    state = tmp_path_factory.mktemp("privacy") / "hub.json"
    with started_hub(Path(state)) as (url, _):
        yield Hub(url)


@pytest.fixture(scope="module")
def person(hub: Hub) -> Person:
    greta = Person(hub)
    greta.journey()
    return greta


@pytest.fixture(scope="module")
def erased(person: Person) -> dict[str, Any]:
    """The export and totals before, the first erasure's answer, and the events she was in, then her erasure."""
    before = {"export": person.hub.get("/api/v1/privacy/export", email=person.email), "totals": person.totals()}
    before["traces"] = person.traces()
    before["identify"] = [
        e
        for e in person.hub.events("contact.upserted")
        if str((e["detail"].get("subject") or {}).get("email") or "").casefold() == person.email.casefold()
    ]
    answer = person.erase()
    assert answer.status_code == 200, answer.text
    before["answer"] = answer.json()
    settle(person.hub.url)
    return before


def test_an_export_holds_everything_the_hub_knows_of_the_person(person: Person, erased: dict[str, Any]) -> None:
    # Given Greta's journey through the hub; When an admin exports her (before her erasure)
    answer = erased["export"]
    # Then one JSON document holds her profile, engagement, identities, history, handoffs, deal and touches,
    # health signals, synced records and raw deliveries
    assert answer.status_code == 200, answer.text
    export = answer.json()
    assert export["known"] is True
    assert export["email"] == person.email.casefold()
    assert export["profile"]["last_name"] == person.last
    assert export["profile"]["phone"]
    assert {f"segment#{person.user}", f"segment-anonymous#{person.anonymous}", f"stripe#{person.customer}"} <= set(
        export["identities"]
    )
    assert {e["kind"] for e in export["engagement"]} >= {"page_view", "demo_request"}
    assert export["history"]
    assert export["handoffs"]
    assert any(h["lead_id"] == person.lead_id for h in export["handoffs"])
    [conversion] = export["attribution"]["conversions"]
    assert any(t.get("campaign_id") == person.campaign for t in conversion["touches"])
    assert any(json.loads(s["values"]).get("nps") == 9 for s in export["success"] if "values" in s)  # signals
    assert export["sync"]["records"]
    assert export["sync"]["links"]
    assert any(d["vendor"] == "typeform" for d in export["deliveries"])
    assert export["erasure"] is None
    # And the API refuses what is not an email, and anyone but an admin
    assert person.hub.get("/api/v1/privacy/export", email="not-an-email").status_code == 400
    sales = {"Authorization": f"Bearer {token('sales')}"}
    refused = requests.get(
        f"{person.hub.url}/api/v1/privacy/export", params={"email": person.email}, headers=sales, timeout=10
    )
    assert refused.status_code == 403


def test_an_erasure_leaves_no_trace_of_the_person_and_keeps_the_campaign_totals(
    person: Person, erased: dict[str, Any]
) -> None:
    # Given her email and name were in every table before
    tables = {table.removeprefix("revops-local-") for table, _ in erased["traces"]}
    assert {"leads", "webhook-deliveries", "attribution", "crm-sync"} <= tables
    # When she was erased: Then the receipt says what was erased where, naming no email
    receipt = erased["answer"]
    assert receipt["status"] == "completed"
    assert receipt["erasure_id"]
    assert person.lead_id in receipt["lead_ids"]  # the audit trail's targets: her lead's trail finds the erasure
    for store in ("webhook-deliveries", "leads", "attribution", "success", "crm-sync", "crm"):
        assert receipt["erased"][store] > 0, store
    assert person.email.casefold() not in json.dumps(receipt).casefold()
    # And no item of any table holds her email or her name, raw bodies included
    assert person.traces() == []
    # And neither CRM holds her any longer
    eventually(lambda: not person.in_crm(HUBSPOT, "contacts") and not person.in_crm(SALESFORCE, "Lead"))
    # And the campaign's and the channels' attribution did not move
    assert person.totals() == erased["totals"]
    # And the lead API does not know her
    assert person.leads() == []


def test_a_second_erasure_is_the_same_erasure_and_erases_nothing_more(person: Person, erased: dict[str, Any]) -> None:
    # Given she was erased; When the same erasure is asked again
    again = person.erase()
    # Then it answers the same erasure, completed, having erased nothing more
    assert again.status_code == 200, again.text
    body = again.json()
    assert (body["erasure_id"], body["status"]) == (erased["answer"]["erasure_id"], "completed")
    assert body["erased"] == erased["answer"]["erased"]
    assert set(body["erased_now"].values()) == {0}
    # And the export says she was erased, with nothing of her left
    export = person.hub.get("/api/v1/privacy/export", email=person.email).json()
    assert export["known"] is False
    assert export["erasure"]["erasure_id"] == body["erasure_id"]
    assert export["engagement"] == []
    assert export["deliveries"] == []
    assert export["sync"]["records"] == []


def test_old_events_replayed_or_retried_do_not_bring_her_back(person: Person, erased: dict[str, Any]) -> None:
    # Given she was erased, and her identify had been on the bus before
    assert erased["identify"]
    # When it is put on the bus again as it was (an archive replay, a redriven dead letter), and the survey's
    # delivery is retried by Typeform
    for event in erased["identify"]:
        person.hub.put_on_bus(event)
    retried = person.send_survey()
    settle(person.hub.url)
    # Then the retry is a duplicate, and nothing of her is stored again
    assert retried.status_code == 200, retried.text
    assert person.leads() == []
    assert person.traces() == []


def test_a_new_event_after_the_erasure_starts_a_fresh_lead(person: Person, erased: dict[str, Any]) -> None:
    # Given she was erased; When she identifies again after it (a new visit, a new event)
    person.segment.identify(person.user, {"email": person.email}, timestamp=datetime.now(UTC) + timedelta(seconds=1))
    person.segment.flush()
    # Then a new lead holds her email, without her old history
    leads = eventually(person.leads)
    assert leads[0]["lead_id"] != person.lead_id
    fresh = person.hub.get(f"/api/v1/leads/{leads[0]['lead_id']}").json()
    assert fresh["profile"].get("last_name") is None
    assert fresh["profile"]["email"].casefold() == person.email.casefold()
    assert f"segment-anonymous#{person.anonymous}" not in fresh["identities"]
    assert not [line for line in fresh["breakdown"] if "demo_request" in line["detail"] or "page" in line["detail"]]
