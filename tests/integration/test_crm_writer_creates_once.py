"""A record is created once in each CRM, whatever happens around the create: the writer (`shared.crm.writer`)
with the real SDK adapters against the local HubSpot and Salesforce (served on loopback ports, behind a tap that can
hold a request in flight, or apply it and answer 504: a lost answer), and the sync store on DynamoDB (moto).

- Two writer invocations of one new record at once (the sync queue is a standard one, read by two writers): the
  one that reads the record while the other's create is in flight finds its create claim and creates nothing.
- A create the CRM applied but never answered, the record's email (or domain) changed before the retry: the retry
  finds what the create made by the value it sent, and updates it.
- A person erased after such a create: the erasure finds the CRM's record by the values the create sent.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from local_runtime.crm_hubspot import BASE_PATH as HUBSPOT_PATH
from local_runtime.crm_hubspot import LocalHubSpot
from local_runtime.crm_salesforce import BASE_PATH as SALESFORCE_PATH
from local_runtime.crm_salesforce import CLIENT_ID, CLIENT_SECRET, LocalSalesforce
from shared.adapters.dynamodb_crm_sync import DynamoDbSyncStore
from shared.adapters.dynamodb_privacy_crm_sync import CrmSyncPrivacy
from shared.adapters.hubspot_crm import hubspot_crm
from shared.adapters.salesforce_crm import salesforce_crm
from shared.adapters.sqs_change_queue import erasure_body, erasure_of
from shared.catalog import physical_name
from shared.catalog.crm import CRM_SYNC
from shared.crm.erasure import ErasureNotice, erase_in_crms
from shared.crm.expansions import expansion_values
from shared.crm.mappings import load_crm_mappings
from shared.crm.ports import ChangeNotice, CrmName
from shared.crm.records import CrmCopy, FieldState, SyncedRecord
from shared.crm.writer import CrmWriter, WriteReport
from shared.privacy.model import Person
from tests.integration.conftest import STAGE, only_table

# Only loopback: a call an SDK sent to HubSpot or Salesforce themselves would fail the test.
pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])

TOKEN = "pat-local-test"
AT = datetime(2026, 11, 30, 3, 15, tzinfo=UTC)
TABLE = physical_name(STAGE, CRM_SYNC.name)
Predicate = Callable[[str, str], bool]


class FixedClock:
    def now(self) -> datetime:
        return AT


class Tap:
    """Between the SDK and an emulator: a request a rule matches is held until its event is set, or applied with
    its answer lost (a 504 from a gateway in between)."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app
        self.rules: list[tuple[Predicate, threading.Event | str]] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        body = request.get_data(cache=True)
        environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(body), str(len(body))
        for i, (matches, action) in enumerate(list(self.rules)):
            if matches(request.method, request.path):
                self.rules.pop(i)
                if isinstance(action, threading.Event):
                    action.wait(10)
                    break
                list(self.app(environ, lambda *a, **k: None))  # applied; the answer never reaches the client
                return Response("upstream request timeout", status=504)(environ, start_response)
        return self.app(environ, start_response)


def serve(app: Any) -> tuple[str, Callable[[], None]]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        thread.join(timeout=5)

    return f"http://127.0.0.1:{server.port}", stop


class World:
    def __init__(self, dynamodb: Any) -> None:
        self.hubspot = LocalHubSpot(access_token=TOKEN)
        self.salesforce = LocalSalesforce()
        self.taps: dict[CrmName, Tap] = {"hubspot": Tap(self.hubspot.wsgi()), "salesforce": Tap(self.salesforce.wsgi())}
        self.hubspot_url, self._stop_hubspot = serve(self.taps["hubspot"])
        self.salesforce_url, self._stop_salesforce = serve(self.taps["salesforce"])
        self.dynamodb = dynamodb
        self.store = DynamoDbSyncStore(dynamodb, TABLE)
        self.mappings = load_crm_mappings()

    def clients(self) -> dict[CrmName, Any]:
        """A writer invocation's clients (a Lambda container of its own)."""
        return {
            "hubspot": hubspot_crm(TOKEN, f"{self.hubspot_url}{HUBSPOT_PATH}"),
            "salesforce": salesforce_crm(
                {
                    "auth": "client_credentials",
                    "instance_url": f"{self.salesforce_url}{SALESFORCE_PATH}",
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                }
            ),
        }

    def write(self, crm: CrmName, key: str) -> WriteReport:
        record = self.store.record(key)
        notice = ChangeNotice(crm, key, record.version if record else 0)
        return CrmWriter(self.mappings, self.store, FixedClock()).write([notice], self.clients())

    def change(self, key: str, hub_field: str, value: str) -> None:
        record = self.store.record(key)
        assert record is not None
        self.store.commit(record.with_field(hub_field, FieldState(value, AT, "hub", "revops.leads")))

    def company(self, name: str, domain: str) -> str:
        answer = requests.post(
            f"{self.hubspot_url}{HUBSPOT_PATH}/crm/v3/objects/companies",
            json={"properties": {"name": name, "domain": domain}},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=5,
        )
        return str(answer.json()["id"])

    def synced_account(self) -> None:
        company = self.company("Osprey", "osprey.io")
        account = self.salesforce.edit("Account", {"Name": "Osprey", "Website": "osprey.io"})
        agreed = {"name": "Osprey", "domain": "osprey.io"}
        copies = {"hubspot": CrmCopy(company, agreed), "salesforce": CrmCopy(str(account["Id"]), agreed)}
        self.store.commit(SyncedRecord("account", "acct-osprey", fields(name="Osprey", domain="osprey.io"), copies))

    def in_crm(self, crm: CrmName, obj: str) -> list[dict[str, Any]]:
        return self.hubspot.records(obj) if crm == "hubspot" else self.salesforce.records(obj)

    def close(self) -> None:
        self.hubspot.close()
        self.salesforce.close()
        self._stop_hubspot()
        self._stop_salesforce()


@pytest.fixture
def world() -> Iterator[World]:
    with only_table(CRM_SYNC) as dynamodb:
        made = World(dynamodb)
        try:
            yield made
        finally:
            made.close()


def fields(**values: str) -> dict[str, FieldState]:
    return {name: FieldState(value, AT, "hub", "revops.test") for name, value in values.items()}


def contact(email: str) -> SyncedRecord:
    return SyncedRecord("contact", "lead-1", fields(email=email, first_name="Ana", last_name="Lima"))


def expansion() -> SyncedRecord:
    values = expansion_values("sig-1", "acct-osprey", "Osprey", 84.0, ["seat_pressure"], ["analytics_pro"], AT)
    return SyncedRecord("expansion", "sig-1", fields(**values), parent="account:acct-osprey")


def creates(crm: CrmName, obj: str) -> Predicate:
    if crm == "salesforce":
        return lambda method, path: method == "POST" and path.endswith("/composite/sobjects")
    if obj == "contacts":
        return lambda method, path: method == "POST" and path.endswith("/objects/contacts/batch/upsert")
    return lambda method, path: method == "POST" and path.endswith(f"/objects/{obj}/batch/create")


# Two writers at once --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("crm", "obj", "key"),
    [
        ("salesforce", "Lead", "contact:lead-1"),
        ("hubspot", "contacts", "contact:lead-1"),
        ("hubspot", "companies", "account:acct-heron"),
        ("hubspot", "tasks", "expansion:sig-1"),
        ("salesforce", "Task", "expansion:sig-1"),
    ],
)
def test_a_second_writer_creates_nothing_while_the_first_ones_create_is_in_flight(
    world: World, crm: CrmName, obj: str, key: str
) -> None:
    # Given a record new to the CRM (an expansion's account there already)
    if key.startswith("contact:"):
        world.store.commit(contact("ana@example.com"))
    elif key.startswith("account:"):
        world.store.commit(SyncedRecord("account", "acct-heron", fields(name="Heron", domain="heron.io")))
    else:
        world.synced_account()
        world.store.commit(expansion())
    # When one writer's create is held in flight, and another writer takes a later notice of the record meanwhile
    release = threading.Event()
    world.taps[crm].rules.append((creates(crm, obj), release))
    first: dict[str, WriteReport] = {}
    writer = threading.Thread(target=lambda: first.setdefault("report", world.write(crm, key)))
    writer.start()
    for _ in range(500):
        if not world.taps[crm].rules:
            break
        time.sleep(0.01)
    assert not world.taps[crm].rules, "the first writer's create never reached the CRM"
    if key.startswith("contact:"):
        world.change(key, "score", "72")
    second = world.write(crm, key)
    release.set()
    writer.join(10)
    # Then the second created nothing: its notice waits out the claim (queued again to come back once it has
    # expired, spending none of the queue's receive count)
    assert [n.record_key for n, _ in second.claimed] == [key]
    assert second.retry == []
    assert second.written == {}
    assert len(world.in_crm(crm, obj)) == 1
    # And the first's create settled, its claim gone; the retry writes what changed meanwhile, creating nothing
    assert first["report"].written == {crm: 1}
    record = world.store.record(key)
    assert record is not None
    assert record.copy_in(crm).crm_id is not None
    assert record.copy_in(crm).creating is None
    world.write(crm, key)
    assert len(world.in_crm(crm, obj)) == 1


# A lost answer -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("crm", "obj"), [("hubspot", "contacts"), ("salesforce", "Lead")])
def test_a_create_whose_answer_was_lost_is_found_by_the_email_it_sent_after_the_email_changed(
    world: World, crm: CrmName, obj: str
) -> None:
    # Given a contact whose create the CRM applied but whose answer was lost
    world.store.commit(contact("ana@oldco.com"))
    world.taps[crm].rules.append((creates(crm, obj), "lose"))
    first = world.write(crm, "contact:lead-1")
    assert [n.record_key for n in first.retry] == ["contact:lead-1"]
    # When the person's email changes in the hub before the retry
    world.change("contact:lead-1", "email", "ana@newco.com")
    again = world.write(crm, "contact:lead-1")
    # Then the retry updated the record the lost create made: one person in the CRM, with the new email
    assert again.written == {crm: 1}
    people = world.in_crm(crm, obj)
    assert len(people) == 1
    email = people[0]["properties"]["email"] if crm == "hubspot" else people[0]["Email"]
    assert email == "ana@newco.com"
    record = world.store.record("contact:lead-1")
    assert record is not None
    assert record.copy_in(crm).creating is None
    assert record.copy_in(crm).crm_id == str(people[0]["id"] if crm == "hubspot" else people[0]["Id"])


def test_a_company_whose_create_answer_was_lost_is_found_by_the_domain_it_sent(world: World) -> None:
    # Given an account whose HubSpot company was created, the answer lost, and then the domain changed
    world.store.commit(SyncedRecord("account", "acct-heron", fields(name="Heron", domain="heron.io")))
    world.taps["hubspot"].rules.append((creates("hubspot", "companies"), "lose"))
    assert world.write("hubspot", "account:acct-heron").retry
    world.change("account:acct-heron", "domain", "heron.com")
    # When the notice is retried
    world.write("hubspot", "account:acct-heron")
    # Then one company, the one the lost create made, has the new domain
    companies = world.hubspot.records("companies")
    assert [c["properties"].get("domain") for c in companies] == ["heron.com"]


# An erasure after a lost answer ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("crm", "obj"), [("salesforce", "Lead"), ("hubspot", "contacts")])
def test_a_person_erased_after_a_create_whose_answer_was_lost_is_deleted_in_the_crm(
    world: World, crm: CrmName, obj: str
) -> None:
    # Given a contact whose create the CRM applied but whose answer was lost (its CRM id unknown to the hub)
    world.store.commit(contact("ana@example.com"))
    world.taps[crm].rules.append((creates(crm, obj), "lose"))
    assert world.write(crm, "contact:lead-1").retry
    assert len(world.in_crm(crm, obj)) == 1
    # When the person is erased: the privacy API asks the sync's writer to delete her CRM records (through the
    # queue), then removes her synced record, and the retried notice finds nothing to write
    privacy = CrmSyncPrivacy(world.dynamodb, TABLE)
    person = Person("ana@example.com", contact_ids=("lead-1",))
    refs = privacy.crm_records(person)
    queued = [
        erasure_of(erasure_body(ErasureNotice(r.crm, r.kind, r.crm_id, 0, r.match_field, r.match_values)))  # type: ignore[arg-type]
        for r in refs
    ]
    privacy.erase(person)
    again = world.write(crm, "contact:lead-1")
    assert again.written == {}
    assert again.erased_meanwhile == []
    report = erase_in_crms(queued, world.clients())
    # Then the CRM's record of her, found by the email the create sent, is deleted
    assert report.erased
    assert not report.retry
    assert not report.refused
    assert world.in_crm(crm, obj) == []
