"""The local Salesforce org (`LocalSalesforce`, served on a loopback port) as simple-salesforce and the hub's
Salesforce CRM adapter (`SalesforceCrm`) see it: OAuth, records, SOQL and sObject Collections in Salesforce's
shapes and limits, faults, and the outbound messages its workflow rule sends, read by the hub's own receiver
(`shared.webhooks.vendors.salesforce`) and normalizer."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError, SalesforceMalformedRequest, SalesforceResourceNotFound
from werkzeug.serving import make_server
from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

from local_runtime.crm_salesforce import BASE_PATH, CLIENT_ID, CLIENT_SECRET, LocalSalesforce
from shared.adapters.salesforce_crm import InstanceTransport, SalesforceCrm, salesforce_crm
from shared.crm.ports import CrmRefused, CrmUnavailable, OutboundWrite, RateLimited
from shared.events.types import EventType
from shared.webhooks import normalizers
from shared.webhooks.signatures import SignatureError
from shared.webhooks.vendors.salesforce import ACK
from shared.webhooks.vendors.salesforce import Salesforce as SalesforceReceiver
from tests.vendor_samples import CONTEXT, json_bodies, salesforce_request

ORG = "00D5g000004XyZaEAK"  # not the stand-in's default: the messages carry the org configured
SF_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000")
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@dataclass
class Receiver:
    """The hub's webhook endpoint as Salesforce sees it: answers the SOAP Ack, or 503 for the next `refusing`
    messages (negative: for good)."""

    refusing: int = 0
    bodies: list[bytes] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wsgi(self) -> Callable[..., Any]:
        @Request.application
        def application(request: Request) -> Response:
            with self.lock:
                if self.refusing != 0:
                    self.refusing -= 1
                    return Response("busy", status=503)
                self.bodies.append(request.get_data())
            return Response(ACK, content_type="text/xml")

        return application


@dataclass
class Org:
    emulator: LocalSalesforce
    url: str  # the instance URL
    receiver: Receiver
    clock: Clock

    def crm(self, **credentials: str) -> SalesforceCrm:
        return salesforce_crm(
            {
                "auth": "client_credentials",
                "instance_url": self.url,
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
            }
            | credentials
        )

    def token(self) -> str:
        form = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
        answer = requests.post(f"{self.url}/services/oauth2/token", data=form, timeout=5)
        assert answer.status_code == 200, answer.text
        return str(answer.json()["access_token"])

    def simple_salesforce(self) -> Any:
        """simple-salesforce itself, with the session the adapter gives it (its https://host:port to the URL).
        Typed Any: simple-salesforce types `sf.Lead` as a union with its bulk handlers, `restful` as Optional."""
        session = requests.Session()
        transport = InstanceTransport(timeout=10)
        session.mount("https://", transport)
        session.mount("http://", transport)
        client = Salesforce(instance_url=self.url, session_id=self.token(), session=session)
        transport.route(f"https://{client.sf_instance}", self.url)
        return client

    def api_calls(self, method: str | None = None, path: str = "") -> list[dict[str, Any]]:
        return [
            c
            for c in self.emulator.calls()
            if not c["token"] and (method is None or c["method"] == method) and c["path"].endswith(path)
        ]


def serve(app: Callable[..., Any]) -> tuple[str, Callable[[], None]]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        thread.join(timeout=5)

    return f"http://127.0.0.1:{server.port}", stop


def start_org(retry_delays: tuple[float, ...] = (0.01, 0.01)) -> tuple[Org, Callable[[], None]]:
    receiver = Receiver()
    hub_url, stop_hub = serve(receiver.wsgi())
    clock = Clock(START)
    emulator = LocalSalesforce(organization_id=ORG, clock=clock, retry_delays=retry_delays)
    url, stop_org = serve(emulator.wsgi())
    emulator.set_webhook_url(f"{hub_url}/webhooks/salesforce")

    def stop() -> None:
        emulator.close()
        stop_org()
        stop_hub()

    return Org(emulator, url + BASE_PATH, receiver, clock), stop


@pytest.fixture
def org() -> Iterator[Org]:
    served, stop = start_org()
    try:
        yield served
    finally:
        stop()


def lead(write_id: str, email: str, **fields: str | None) -> OutboundWrite:
    values: dict[str, str | None] = {"LastName": "Lovelace", "Company": "Analytical Engines", **fields}
    return OutboundWrite(write_id, "contact", values, match_on=("Email", email))


def errors_of(exc: SalesforceError) -> Any:
    """The errors Salesforce answered: simple-salesforce keeps the parsed JSON in `content` (typed as bytes)."""
    content: Any = exc.content
    return content


def messages(org: Org) -> list[list[Any]]:
    """Every outbound message the hub received, each as the hub's receiver parses it (after verifying it)."""
    vendor = SalesforceReceiver()
    parsed = []
    for body in org.receiver.bodies:
        request = salesforce_request(body)
        vendor.verify(request, [ORG], CONTEXT.received_at)
        parsed.append(vendor.parse(request))
    return parsed


# OAuth ---------------------------------------------------------------------------------------------------------


def test_client_credentials_get_a_token_shaped_as_salesforce_signs_it(org: Org) -> None:
    # Given the connected app's client id and secret
    form = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    # When they are posted to the org's token endpoint
    answer = requests.post(f"{org.url}/services/oauth2/token", data=form, timeout=5)
    # Then the answer is Salesforce's token, its signature the HMAC of id and issued_at with the secret
    assert answer.status_code == 200
    token = answer.json()
    assert set(token) == {"access_token", "instance_url", "id", "token_type", "issued_at", "signature"}
    assert token["instance_url"] == org.url
    assert token["token_type"] == "Bearer"
    assert token["access_token"].startswith(ORG[:15] + "!")
    expected = hmac.new(CLIENT_SECRET.encode(), (token["id"] + token["issued_at"]).encode(), hashlib.sha256)
    assert base64.b64decode(token["signature"]) == expected.digest()
    # and the token opens the API, as simple-salesforce sends it
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    assert requests.get(f"{org.url}/services/data/v59.0/", headers=headers, timeout=5).status_code == 200
    # and the call is recorded apart from the API calls
    assert [c["token"] for c in org.emulator.calls()] == [True, False]


def test_wrong_credentials_and_missing_tokens_are_refused_as_salesforce_refuses_them(org: Org) -> None:
    # Given a wrong secret, and an API call without a token
    form = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": "not-it"}
    # When they are sent
    refused = requests.post(f"{org.url}/services/oauth2/token", data=form, timeout=5)
    query = {"q": "SELECT Id FROM Lead"}
    anonymous = requests.get(f"{org.url}/services/data/v59.0/query/", params=query, timeout=5)
    # Then the token endpoint answers invalid_client, the API INVALID_SESSION_ID
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_client"
    assert anonymous.status_code == 401
    assert anonymous.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    # and the adapter with the wrong secret is refused before it writes anything
    with pytest.raises(CrmRefused, match="invalid_client"):
        org.crm(client_secret="not-it").write([lead("w1", "ada@example.com")])
    assert org.emulator.records("Lead") == []


def test_the_jwt_bearer_flow_signs_in_with_the_connected_app_key(org: Org) -> None:
    # Given the connected app's private key and the integration user
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    credentials = {"auth": "jwt_bearer", "instance_url": org.url, "client_id": CLIENT_ID}
    crm = salesforce_crm(credentials | {"username": "integration@acme.example", "private_key": pem})
    # When the adapter writes
    [result] = crm.write([lead("w1", "ada@example.com")])
    # Then it signed in with an assertion and the write is applied
    assert result.ok
    assert result.created
    assert [c["status"] for c in org.emulator.calls() if c["token"]] == [200]
    # and an assertion of another client is refused
    other = salesforce_crm(credentials | {"client_id": "another-app", "username": "x@y.example", "private_key": pem})
    with pytest.raises(CrmRefused, match="invalid_client"):
        other.read("contact", [result.crm_id or ""], ["Email"])


@pytest.mark.parametrize("auth", ["client_credentials", "jwt_bearer"])
def test_for_a_my_domain_simple_salesforce_logs_in_itself(org: Org, auth: str) -> None:
    # Given an org at a My Domain of salesforce.com (routed, by the session given, to the stand-in)
    my_domain = "https://acme.my.salesforce.com"
    session = requests.Session()
    transport = InstanceTransport(timeout=10)
    transport.route(my_domain, org.url)
    session.mount("https://", transport)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    ).decode()
    credentials = {"auth": auth, "instance_url": my_domain, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    credentials |= {"username": "integration@acme.example", "private_key": pem}
    # When the adapter writes through simple-salesforce's own login (client credentials as HTTP Basic, or its
    # JWT assertion)
    [result] = salesforce_crm(credentials, session=session).write([lead("w1", "ada@example.com")])
    # Then it is signed in and the record is there
    assert result.ok
    assert [r["Email"] for r in org.emulator.records("Lead")] == ["ada@example.com"]


def test_an_expired_session_is_renewed_once_and_the_call_tried_again(org: Org) -> None:
    # Given an adapter that has signed in, and then every session of the org expires
    crm = org.crm()
    [first] = crm.write([lead("w1", "ada@example.com")])
    org.emulator.revoke_tokens()
    # When it writes again
    [second] = crm.write([lead("w2", "ada@example.com", Title="Countess")])
    # Then it signed in again and the write is applied
    assert second.ok
    assert second.crm_id == first.crm_id
    assert len([c for c in org.emulator.calls() if c["token"]]) == 2
    assert org.emulator.record("Lead", first.crm_id or "")["Title"] == "Countess"  # type: ignore[index]
    # and when signing in again is refused (the secret rotated), the call is refused
    org.emulator.revoke_tokens()
    org.emulator.rotate_client_secret("rotated-secret")
    with pytest.raises(CrmRefused, match="invalid_client"):
        crm.write([lead("w3", "ada@example.com", Title="Analyst")])


# The REST API through simple-salesforce -------------------------------------------------------------------------


def test_simple_salesforce_creates_reads_updates_and_queries_a_lead(org: Org) -> None:
    sf = org.simple_salesforce()
    # Given a Lead created with sf.Lead.create
    created = sf.Lead.create({"LastName": "Lovelace", "Company": "Analytical Engines", "Email": "ada@example.com"})
    # When it is updated, read and queried (an email compared without case, as SOQL does)
    status = sf.Lead.update(created["id"], {"Title": "Countess", "NumberOfEmployees": "12"})
    record = sf.Lead.get(created["id"])
    found = sf.query("SELECT Id, Email, Title, LastModifiedDate FROM Lead WHERE Email = 'ADA@example.com'")
    # Then each answer is Salesforce's
    assert created["success"] is True
    assert created["errors"] == []
    assert re.fullmatch(r"00Q[a-zA-Z0-9]{12}[A-Z0-5]{3}", created["id"])
    assert status == 204
    assert record["attributes"] == {"type": "Lead", "url": f"/services/data/v59.0/sobjects/Lead/{created['id']}"}
    assert (record["Title"], record["NumberOfEmployees"], record["Status"]) == ("Countess", 12, "Open - Not Contacted")
    assert record["IsConverted"] is False
    assert SF_TIME.fullmatch(record["LastModifiedDate"])
    assert SF_TIME.fullmatch(record["SystemModstamp"])
    assert record["LastModifiedById"].startswith("005")
    assert found["totalSize"] == 1
    assert found["done"] is True
    assert list(found["records"][0]) == ["attributes", "Id", "Email", "Title", "LastModifiedDate"]
    # and a deleted one is gone
    sf.Lead.delete(created["id"])
    with pytest.raises(SalesforceResourceNotFound):
        sf.Lead.get(created["id"])


def test_a_create_missing_a_required_field_or_naming_an_unknown_one_is_refused(org: Org) -> None:
    sf = org.simple_salesforce()
    # When a Lead without its Company, and one with a field Lead does not have, are created
    with pytest.raises(SalesforceMalformedRequest) as missing:
        sf.Lead.create({"LastName": "Lovelace"})
    with pytest.raises(SalesforceMalformedRequest) as unknown:
        sf.Lead.create({"LastName": "Lovelace", "Company": "AE", "Shoe_Size__c": 9})
    # Then Salesforce's errors say which
    assert errors_of(missing.value)[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert errors_of(missing.value)[0]["fields"] == ["Company"]
    assert errors_of(unknown.value) == [
        {"message": "No such column 'Shoe_Size__c' on sobject of type Lead", "errorCode": "INVALID_FIELD"}
    ]
    assert org.emulator.records("Lead") == []


def test_collections_answer_per_record_with_partial_success_or_all_or_none(org: Org) -> None:
    sf = org.simple_salesforce()
    good = {"attributes": {"type": "Lead"}, "LastName": "Hopper", "Company": "Navy", "Email": "grace@example.com"}
    bad_email = {"attributes": {"type": "Lead"}, "LastName": "X", "Company": "Y", "Email": "not-an-email"}
    bad_owner = {"attributes": {"type": "Lead"}, "LastName": "Z", "Company": "Y", "OwnerId": "00Qxx0000000001AAA"}
    # When a collection with two invalid records is created all-or-none, then not
    rolled_back = sf.restful(
        "composite/sobjects", method="POST", json={"allOrNone": True, "records": [good, bad_email, bad_owner]}
    )
    partial = sf.restful(
        "composite/sobjects", method="POST", json={"allOrNone": False, "records": [good, bad_email, bad_owner]}
    )
    # Then all-or-none saves nothing and says why of each record
    assert [r["errors"][0]["statusCode"] for r in rolled_back] == [
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "INVALID_EMAIL_ADDRESS",
        "INVALID_CROSS_REFERENCE_KEY",
    ]
    # and otherwise the valid record is saved alone, the others failing with their fields named
    assert partial[0]["success"] is True
    assert partial[0]["errors"] == []
    assert partial[1] == {
        "success": False,
        "errors": [
            {
                "statusCode": "INVALID_EMAIL_ADDRESS",
                "message": "Email: invalid email address: not-an-email",
                "fields": ["Email"],
            }
        ],
    }
    assert partial[2]["errors"][0]["fields"] == ["OwnerId"]
    assert [r["Id"] for r in org.emulator.records("Lead")] == [partial[0]["id"]]
    # and a collection read answers in the order asked, null for an id that is not there
    missing = "00Q000000000404AAA"
    read = sf.restful("composite/sobjects/Lead", params={"ids": f"{missing},{partial[0]['id']}", "fields": "Id,Email"})
    assert read[0] is None
    assert (read[1]["Id"], read[1]["Email"]) == (partial[0]["id"], "grace@example.com")


def test_a_collection_of_more_than_200_records_is_refused_whole(org: Org) -> None:
    sf = org.simple_salesforce()
    records = [{"attributes": {"type": "Account"}, "Name": f"Account {n}"} for n in range(201)]
    # When 201 records are created in one call
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.restful("composite/sobjects", method="POST", json={"allOrNone": False, "records": records})
    # Then Salesforce's limit refuses the call, and nothing is saved
    assert errors_of(refused.value)[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    assert org.emulator.records("Account") == []


def test_a_long_query_is_paged_through_next_records_url(org: Org) -> None:
    sf = org.simple_salesforce()
    # Given 450 Accounts
    for start in range(0, 450, 200):
        records = [
            {"attributes": {"type": "Account"}, "Name": f"A{n:03d}"} for n in range(start, min(start + 200, 450))
        ]
        assert all(r["success"] for r in sf.restful("composite/sobjects", method="POST", json={"records": records}))
    # When they are queried 200 a page, newest name first
    options = {"Sforce-Query-Options": "batchSize=200"}
    first = sf.query("SELECT Id, Name FROM Account ORDER BY Name DESC", headers=options)
    everything = sf.query_all("SELECT Id, Name FROM Account ORDER BY Name DESC", headers=options)
    # Then the first page says where the rest is, and simple-salesforce follows it to the end
    assert (first["totalSize"], first["done"], len(first["records"])) == (450, False, 200)
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")
    assert [r["Name"] for r in everything["records"]] == [f"A{n:03d}" for n in reversed(range(450))]


# The adapter ---------------------------------------------------------------------------------------------------


def test_writes_matched_by_email_create_then_update_with_one_query_a_batch(org: Org) -> None:
    crm = org.crm()
    # When two new people are written by email
    created = crm.write([lead("w1", "ada@example.com"), lead("w2", "grace@example.com", LastName="Hopper")])
    # Then one query looked them up and one collection created both
    assert [(r.write_id, r.ok, r.created) for r in created] == [("w1", True, True), ("w2", True, True)]
    [query] = org.api_calls("GET", "/query/")
    assert "WHERE Email IN ('ada@example.com','grace@example.com')" in query["query"]
    assert len(org.api_calls("POST", "/composite/sobjects")) == 1
    # When they are written again (one by another case of the email), and a third by its id
    org.emulator.reset_calls()
    again = crm.write(
        [
            lead("w3", "ADA@example.com", Title="Countess"),
            lead("w4", "grace@example.com", Title="Rear Admiral"),
            OutboundWrite("w5", "contact", {"Phone": "+1 555 0100"}, crm_id=created[0].crm_id),
        ]
    )
    # Then the first two are found and updated, and the third updated after them (one update a record a call)
    assert [(r.ok, r.created, r.crm_id) for r in again] == [
        (True, False, created[0].crm_id),
        (True, False, created[1].crm_id),
        (True, False, created[0].crm_id),
    ]
    assert len(org.api_calls("GET", "/query/")) == 1
    assert len(org.api_calls("PATCH", "/composite/sobjects")) == 2
    ada = org.emulator.record("Lead", created[0].crm_id or "")
    assert ada is not None
    assert (ada["Title"], ada["Phone"]) == ("Countess", "+1 555 0100")
    assert len(org.emulator.records("Lead")) == 2


def test_long_match_values_are_looked_up_in_as_many_queries_as_a_url_holds(org: Org) -> None:
    # Given 200 new people with long email addresses (64 characters each)
    emails = [f"{n:03d}.{'x' * 47}@example.com" for n in range(200)]
    # When they are written by email
    results = org.crm().write([lead(f"w{n}", email) for n, email in enumerate(emails)])
    # Then they were looked up in several queries, each short enough for a URL, and created in one call
    assert all(r.created for r in results)
    queries = org.api_calls("GET", "/query/")
    assert len(queries) == 3
    assert all(len(q["query"]) < 8_000 for q in queries)
    assert len(org.api_calls("POST", "/composite/sobjects")) == 1


def test_two_writes_of_one_new_person_create_once_then_update(org: Org) -> None:
    # When one batch has two writes for the same new email
    results = org.crm().write([lead("w1", "ada@example.com"), lead("w2", "ada@example.com", Title="Countess")])
    # Then the first creates the Lead and the second updates it
    assert [(r.ok, r.created) for r in results] == [(True, True), (True, False)]
    assert results[0].crm_id == results[1].crm_id
    [record] = org.emulator.records("Lead")
    assert record["Title"] == "Countess"


def test_a_record_salesforce_refuses_fails_alone(org: Org) -> None:
    # When three people are written, one with an email Salesforce refuses
    results = org.crm().write(
        [lead("w1", "ada@example.com"), lead("w2", "bad@", Email="bad@"), lead("w3", "grace@example.com")]
    )
    # Then only that one fails, not to be retried, saying why
    assert [r.ok for r in results] == [True, False, True]
    failed = results[1]
    assert failed.write_id == "w2"
    assert failed.retryable is False
    assert failed.crm_id is None
    assert failed.error is not None
    assert "INVALID_EMAIL_ADDRESS" in failed.error
    assert "(Email)" in failed.error
    assert sorted(r["Email"] for r in org.emulator.records("Lead")) == ["ada@example.com", "grace@example.com"]


def test_201_writes_go_in_two_collections(org: Org) -> None:
    crm = org.crm()
    writes = [
        OutboundWrite(f"w{n}", "account", {"Name": f"Account {n}"}, match_on=("Name", f"Account {n}"))
        for n in range(201)
    ]
    # When 201 accounts are written
    results = crm.write(writes)
    # Then they are created 200 and 1 a call, each result in order
    assert crm.max_batch == 200
    assert [r.write_id for r in results] == [w.write_id for w in writes]
    assert all(r.created for r in results)
    assert len(org.api_calls("POST", "/composite/sobjects")) == 2
    assert len(org.emulator.records("Account")) == 201


def test_the_request_limit_is_rate_limited_with_nothing_applied(org: Org) -> None:
    crm = org.crm()
    # Given the org's request limit reached for the next call, with a Retry-After, then without one
    org.emulator.fail_next(1, "request_limit", retry_after=7)
    # When the adapter writes
    with pytest.raises(RateLimited) as limited:
        crm.write([lead("w1", "ada@example.com")])
    faults = requests.post(f"{org.url}/_faults", json={"calls": 1, "kind": "request_limit"}, timeout=5)
    with pytest.raises(RateLimited) as defaulted:
        crm.write([lead("w1", "ada@example.com")])
    # Then it is told to wait, 60 s when Salesforce does not say, and nothing was written
    assert faults.status_code == 200
    assert limited.value.retry_after == 7
    assert defaulted.value.retry_after == 60
    assert "TotalRequests Limit exceeded." in str(limited.value)
    assert org.emulator.records("Lead") == []
    assert [c["status"] for c in org.api_calls()] == [403, 403]
    # and the next call goes through
    assert crm.write([lead("w1", "ada@example.com")])[0].ok


def test_an_outage_is_unavailable_until_it_ends(org: Org) -> None:
    crm = org.crm()
    # Given the org down
    assert requests.post(f"{org.url}/_faults", json={"outage": True}, timeout=5).status_code == 200
    # When the adapter writes (its sign-in included) and reads
    with pytest.raises(CrmUnavailable, match="503"):
        crm.write([lead("w1", "ada@example.com")])
    # Then it is unavailable; and once the outage ends the write goes through
    org.emulator.set_outage(False)
    assert crm.write([lead("w1", "ada@example.com")])[0].ok
    org.emulator.fail_next(1, "server_error")
    with pytest.raises(CrmUnavailable):
        crm.read("contact", [org.emulator.records("Lead")[0]["Id"]], ["Email"])


def test_an_unreachable_org_is_unavailable() -> None:
    # Given an instance URL nothing answers at
    url, stop = serve(LocalSalesforce().wsgi())
    stop()
    crm = salesforce_crm({"instance_url": url + BASE_PATH, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})
    # When the adapter writes, then it is unavailable
    with pytest.raises(CrmUnavailable, match="did not answer"):
        crm.write([lead("w1", "ada@example.com")])


def test_a_field_salesforce_does_not_know_refuses_the_call_naming_it(org: Org) -> None:
    # When a write names a field Lead does not have
    with pytest.raises(CrmRefused, match="No such column 'Shoe_Size__c' on sobject of type Lead"):
        org.crm().write([lead("w1", "ada@example.com", Shoe_Size__c="9")])
    # Then nothing is written
    assert org.emulator.records("Lead") == []


def test_reads_by_id_and_changes_since_a_time(org: Org) -> None:
    crm = org.crm()
    # Given three Leads changed a minute apart
    ids = []
    for n, email in enumerate(["a@example.com", "b@example.com", "c@example.com"]):
        org.clock.advance(60)
        [result] = crm.write([lead(f"w{n}", email, NumberOfEmployees="40", AnnualRevenue="1500000")])
        ids.append(result.crm_id or "")
    # When they are read by id (with one that is not there and one that is no id), and by change
    read = crm.read(
        "contact",
        [ids[2], "00Q000000000404AAA", "nonsense", ids[0]],
        ["Email", "NumberOfEmployees", "annualrevenue", "Title"],
    )
    changed = crm.changed_since("contact", START + timedelta(seconds=90), ["Email"], limit=1)
    rest = crm.changed_since("contact", START + timedelta(seconds=90), ["Email"])
    # Then the existing ones come back with the fields asked as text (absent as None), and when they changed
    assert [s.crm_id for s in read] == [ids[2], ids[0]]
    assert read[0].fields == {
        "Email": "c@example.com",
        "NumberOfEmployees": "40",
        "annualrevenue": "1500000",
        "Title": None,
    }
    assert read[0].modified_at == START + timedelta(seconds=180)
    # and the changes since come oldest first, as many as asked
    assert [(s.crm_id, s.modified_at) for s in changed] == [(ids[1], START + timedelta(seconds=120))]
    assert [s.fields["Email"] for s in rest] == ["b@example.com", "c@example.com"]
    [query] = [c for c in org.api_calls("GET", "/query/") if "LastModifiedDate >" in (c["query"] or "")][:1]
    assert "WHERE LastModifiedDate > 2026-03-02T09:01:30Z ORDER BY LastModifiedDate ASC LIMIT 1" in query["query"]


def test_contacts_may_be_contacts_linked_to_their_account(org: Org) -> None:
    crm = org.crm(contact_sobject="Contact")
    # Given an account
    [account] = crm.write(
        [OutboundWrite("a1", "account", {"Name": "Analytical Engines"}, match_on=("Name", "Analytical Engines"))]
    )
    # When a contact is written associated with it
    [contact] = crm.write(
        [
            OutboundWrite(
                "c1",
                "contact",
                {"LastName": "Lovelace"},
                match_on=("Email", "ada@example.com"),
                associate={"account": account.crm_id or ""},
            )
        ]
    )
    # Then it is a Contact with the AccountId
    assert contact.ok
    assert (contact.crm_id or "").startswith("003")
    record = org.emulator.record("Contact", contact.crm_id or "")
    assert record is not None
    assert record["AccountId"] == account.crm_id


# Outbound messages -------------------------------------------------------------------------------------------------


def test_a_user_edit_sends_an_outbound_message_the_hub_reads_as_a_contact_upserted(org: Org) -> None:
    # Given a Lead the hub wrote, its message delivered
    [written] = org.crm().write([lead("w1", "ada@example.com")])
    assert org.emulator.wait_until_delivered()
    # When a rep changes its title in Salesforce, a change made earlier than it arrives
    edited_at = "2026-03-02T08:30:00Z"
    answer = requests.post(
        f"{org.url}/_edits",
        json={
            "sobject": "Lead",
            "email": "ADA@example.com",
            "fields": {"Title": "Countess"},
            "modified_at": edited_at,
            "modified_by": "005000000000013AAA",
        },
        timeout=5,
    )
    # Then the record has it, by that rep, at that time
    assert answer.status_code == 200
    assert answer.json()["Title"] == "Countess"
    assert answer.json()["LastModifiedById"] == "005000000000013AAA"
    assert answer.json()["LastModifiedDate"] == "2026-03-02T08:30:00.000+0000"
    # and the hub received, in order, one message each, which its receiver verifies against the configured org
    assert org.emulator.wait_until_delivered()
    created, edited = messages(org)
    [event] = edited
    assert event.vendor_event_type == "Lead"
    assert event.payload["organization_id"] == ORG
    assert event.payload["fields"]["Id"] == written.crm_id
    assert event.payload["fields"]["Title"] == "Countess"
    assert event.payload["fields"]["Phone"] is None  # nil fields come as xsi:nil
    assert event.occurred_at == datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
    assert created[0].dedupe_key != event.dedupe_key
    # and the normalizer makes it a contact.upserted about that Lead
    canonical = normalizers.normalize("salesforce", event, CONTEXT)
    assert canonical.event_type == EventType.CONTACT_UPSERTED
    assert canonical.subject.contact_id == f"salesforce:{written.crm_id}"
    assert canonical.subject.email == "ada@example.com"
    assert canonical.data["fields"]["Title"] == "Countess"
    # and a message of another org is refused by the receiver
    with pytest.raises(SignatureError):
        SalesforceReceiver().verify(
            salesforce_request(org.receiver.bodies[-1]), ["00D000000000002AAA"], CONTEXT.received_at
        )


def test_api_writes_send_notifications_100_a_message_in_order(org: Org) -> None:
    # When 150 Leads are created in one call
    results = org.crm().write([lead(f"w{n}", f"person{n}@example.com") for n in range(150)])
    # Then the hub receives two messages, 100 and 50 notifications, in the order of the records
    assert org.emulator.wait_until_delivered()
    parsed = messages(org)
    assert [len(m) for m in parsed] == [100, 50]
    assert [e.payload["fields"]["Id"] for m in parsed for e in m] == [r.crm_id for r in results]
    assert len({e.dedupe_key for m in parsed for e in m}) == 150
    assert [d["status"] for d in org.emulator.deliveries()] == ["delivered", "delivered"]


def test_deals_and_accounts_edited_in_salesforce_reach_the_hub_as_such(org: Org) -> None:
    # Given an account and its opportunity, made by users
    account = org.emulator.edit("Account", {"Name": "Analytical Engines", "AnnualRevenue": 2500000})
    # When the deal is won
    deal = org.emulator.edit(
        "Opportunity",
        {
            "Name": "Engines",
            "StageName": "Prospecting",
            "CloseDate": "2026-06-30",
            "AccountId": account["Id"],
            "Amount": "12000",
        },
    )
    org.emulator.edit("Opportunity", {"StageName": "Closed Won"}, record_id=deal["Id"])
    # Then the hub reads an account upserted, a stage change and a win
    assert org.emulator.wait_until_delivered()
    events = [e for m in messages(org) for e in m]
    kinds = [normalizers.normalize("salesforce", e, CONTEXT).event_type for e in events]
    assert kinds == [EventType.ACCOUNT_UPSERTED, EventType.DEAL_STAGE_CHANGED, EventType.DEAL_WON]
    won = normalizers.normalize("salesforce", events[-1], CONTEXT)
    assert won.data["amount"] == 12000.0
    assert won.subject.account_id == f"salesforce:{account['Id']}"


def test_a_message_is_retried_until_acknowledged_then_given_up() -> None:
    served, stop = start_org(retry_delays=(0.01, 0.01))
    try:
        # Given the hub answering 503 twice
        served.receiver.refusing = 2
        # When a user creates a lead
        served.emulator.edit("Lead", {"LastName": "Lovelace", "Company": "AE", "Email": "ada@example.com"})
        # Then the third attempt delivers it
        assert served.emulator.wait_until_delivered()
        [delivered] = served.emulator.deliveries()
        assert (delivered["status"], delivered["attempts"]) == ("delivered", 3)
        # and when the hub never acknowledges, the message is recorded as failed after its retries
        served.receiver.refusing = -1
        served.emulator.edit("Lead", {"Title": "Countess"}, email="ada@example.com")
        assert served.emulator.wait_until_delivered()
        failed = served.emulator.deliveries()[-1]
        assert (failed["status"], failed["attempts"], failed["last_status"]) == ("failed", 3, 503)
        listed = requests.get(f"{served.url}/_webhooks", timeout=5).json()
        assert [d["status"] for d in listed["deliveries"]] == ["delivered", "failed"]
        assert listed["pending"] == 0
    finally:
        stop()


def test_no_webhook_url_sends_nothing() -> None:
    emulator = LocalSalesforce()
    emulator.edit("Lead", {"LastName": "Lovelace", "Company": "AE"})
    assert emulator.wait_until_delivered(timeout=1)
    assert emulator.deliveries() == []


# The stand-in's own endpoints and bad input ------------------------------------------------------------------


def test_inspection_endpoints_show_records_and_calls(org: Org) -> None:
    org.crm().write([lead("w1", "ada@example.com")])
    records = requests.get(f"{org.url}/_records/Lead", timeout=5).json()
    calls = requests.get(f"{org.url}/_calls", timeout=5).json()
    assert records["count"] == 1
    assert records["records"][0]["Email"] == "ada@example.com"
    assert calls["count"] == len(calls["calls"]) == 3  # the token, the match query, the create
    assert [c["token"] for c in calls["calls"]] == [True, False, False]
    assert requests.delete(f"{org.url}/_calls", timeout=5).json() == {"forgotten": 3}
    assert org.emulator.calls() == []
    assert requests.get(f"{org.url}/_records/Nope", timeout=5).status_code == 404


def test_edits_of_what_is_not_there_or_not_valid_are_refused(org: Org) -> None:
    edits = f"{org.url}/_edits"
    missing = requests.post(edits, json={"sobject": "Lead", "email": "nobody@example.com", "fields": {}}, timeout=5)
    unknown = requests.post(
        edits, json={"sobject": "Lead", "fields": {"LastName": "X", "Company": "Y", "Foo": 1}}, timeout=5
    )
    invalid = requests.post(
        edits, json={"sobject": "Lead", "fields": {"LastName": "X", "Company": "Y", "Email": "x"}}, timeout=5
    )
    assert missing.status_code == 404
    assert (unknown.status_code, unknown.json()[0]["errorCode"]) == (400, "INVALID_FIELD")
    assert (invalid.status_code, invalid.json()[0]["errorCode"]) == (400, "INVALID_EMAIL_ADDRESS")
    assert requests.post(f"{org.url}/_faults", json={"calls": -1}, timeout=5).status_code == 400
    assert requests.post(f"{org.url}/_faults", json={"kind": "gremlins"}, timeout=5).status_code == 400


ENDPOINTS = [
    ("POST", "/services/data/v59.0/sobjects/Lead/"),
    ("PATCH", "/services/data/v59.0/sobjects/Lead/00Q000000000001AAA"),
    ("POST", "/services/data/v59.0/composite/sobjects"),
    ("PATCH", "/services/data/v59.0/composite/sobjects"),
    ("POST", "/_edits"),
    ("POST", "/_faults"),
]


@pytest.fixture
def in_process() -> tuple[Client, dict[str, str]]:
    """An emulator of the test's own: the random bodies posted to `/_faults` inject faults, which must not reach
    another test."""
    emulator = LocalSalesforce()
    client = Client(emulator.wsgi())
    form = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    token = json.loads(client.post(f"{BASE_PATH}/services/oauth2/token", data=form).get_data())["access_token"]
    return client, {"Authorization": f"Bearer {token}"}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(endpoint=st.sampled_from(ENDPOINTS), body=json_bodies | st.binary(max_size=64))
def test_no_body_makes_the_stand_in_fail(
    in_process: tuple[Client, dict[str, str]], endpoint: tuple[str, str], body: bytes
) -> None:
    client, headers = in_process
    method, path = endpoint
    answer = client.open(
        BASE_PATH + path, method=method, data=body, headers=headers | {"Content-Type": "application/json"}
    )
    assert answer.status_code < 500, answer.get_data(as_text=True)
    # a body that was a valid fault request leaves no fault for the next example
    for reset in ({"outage": False}, {"calls": 0}):
        assert client.post(f"{BASE_PATH}/_faults", json=reset).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("POST", "/services/data/v59.0/sobjects/Lead/", b"{not json", 400, "JSON_PARSER_ERROR"),
        ("POST", "/services/data/v59.0/sobjects/Lead/", b"[" * 100_000, 400, "JSON_PARSER_ERROR"),
        ("POST", "/services/data/v59.0/sobjects/Lead/", b'{"LastName": {"a": 1}}', 400, "JSON_PARSER_ERROR"),
        ("POST", "/services/data/v59.0/sobjects/Lead/", b'{"NumberOfEmployees": "many"}', 400, "JSON_PARSER_ERROR"),
        ("POST", "/services/data/v59.0/sobjects/Lead/", b" " * (1024 * 1024 + 1), 413, "REQUEST_ENTITY_TOO_LARGE"),
        ("POST", "/services/data/v59.0/sobjects/Nope/", b"{}", 404, "NOT_FOUND"),
        ("POST", "/services/data/v59.0/composite/sobjects", b'{"records": [{"Name": "x"}]}', 400, "INVALID_TYPE"),
        (
            "GET",
            "/services/data/v59.0/query/?q=SELECT%20Id%20FROM%20Lead%20WHERE%20Foo%20=%20'x'",
            b"",
            400,
            "INVALID_FIELD",
        ),
        (
            "GET",
            "/services/data/v59.0/query/?q=SELECT%20Id%20FROM%20Lead%20WHERE%20Email%20LIKE%20'x'",
            b"",
            400,
            "MALFORMED_QUERY",
        ),
        (
            "GET",
            "/services/data/v59.0/query/?q=SELECT%20Id%20FROM%20Lead%20WHERE%20LastModifiedDate%20>%20'x'",
            b"",
            400,
            "INVALID_FIELD",
        ),
        ("GET", "/services/data/v59.0/query/01gnope-2000", b"", 400, "INVALID_QUERY_LOCATOR"),
        ("GET", "/services/data/v12.0/query/?q=SELECT%20Id%20FROM%20Lead", b"", 404, "NOT_FOUND"),
        (
            "GET",
            "/services/data/v59.0/composite/sobjects/Lead?ids=00Q000000000001AAA&fields=Id,Nope",
            b"",
            400,
            "INVALID_FIELD",
        ),
    ],
)
def test_bad_input_is_refused_as_salesforce_refuses_it(
    in_process: tuple[Client, dict[str, str]], method: str, path: str, body: bytes, status: int, code: str
) -> None:
    client, headers = in_process
    answer = client.open(
        BASE_PATH + path, method=method, data=body, headers=headers | {"Content-Type": "application/json"}
    )
    assert (answer.status_code, json.loads(answer.get_data())[0]["errorCode"]) == (status, code)


# Tasks (the hub's expansion signals) -------------------------------------------------------------------------------


def test_simple_salesforce_creates_a_task_related_to_an_account_and_finds_it_by_its_signal(org: Org) -> None:
    # Given an Account, and simple-salesforce
    sf = org.simple_salesforce()
    account = sf.restful(
        "composite/sobjects",
        method="POST",
        json={"allOrNone": False, "records": [{"attributes": {"type": "Account"}, "Name": "Acme"}]},
    )[0]["id"]
    # When Tasks are created through a collection: one related to the Account, one related to an Account that is not
    answer = sf.restful(
        "composite/sobjects",
        method="POST",
        json={
            "allOrNone": False,
            "records": [
                {"attributes": {"type": "Task"}, "Subject": "Expansion: Acme", "WhatId": account,
                 "ActivityDate": "2026-03-05", "RevOps_Signal_Id__c": "sig-1"},
                {"attributes": {"type": "Task"}, "Subject": "Expansion: nobody", "WhatId": "001000000000999AAA"},
            ],
        },
    )  # fmt: skip
    # Then the first is a Task (00T...), the second refused alone, as Salesforce refuses a lookup to no record
    assert answer[0]["success"] is True
    assert answer[0]["id"].startswith("00T")
    assert answer[1]["success"] is False
    assert answer[1]["errors"][0]["statusCode"] == "INVALID_CROSS_REFERENCE_KEY"
    assert answer[1]["errors"][0]["fields"] == ["WhatId"]
    # And SOQL finds it by the hub's idempotency key, with Salesforce's defaults for a new Task
    found = sf.query("SELECT Id, WhatId, Status, Priority, ActivityDate FROM Task WHERE RevOps_Signal_Id__c = 'sig-1'")
    assert found["totalSize"] == 1
    [task] = found["records"]
    assert (task["Id"], task["WhatId"], task["ActivityDate"]) == (answer[0]["id"], account, "2026-03-05")
    assert (task["Status"], task["Priority"]) == ("Not Started", "Normal")
    # And a Task's save sends no outbound message (the workflow rule is on Leads, Contacts, Accounts, Opportunities)
    assert org.emulator.wait_until_delivered(5)
    assert [e.vendor_event_type for message in messages(org) for e in message] == ["Account"]


def test_the_adapter_creates_an_expansions_task_on_its_account_once_whatever_it_is_sent_again(org: Org) -> None:
    # Given an Account, and an expansion's write as the hub sends it (a Task, matched on the signal's id)
    crm = org.crm()
    [account] = crm.write([OutboundWrite("a1", "account", {"Name": "Acme"}, match_on=("Website", "acme.io"))])
    write = OutboundWrite(
        "expansion:sig-1",
        "expansion",
        {"Subject": "Expansion: Acme", "Status": "Not Started", "Priority": "High", "RevOps_Signal_Id__c": "sig-1"},
        match_on=("RevOps_Signal_Id__c", "sig-1"),
        associate={"account": account.crm_id or ""},
        crm_object="Task",
    )
    # When the adapter writes it, then writes it again without its id (the hub lost the answer)
    [created] = crm.write([write])
    [again] = crm.write([write])
    # Then it is one Task, related to the Account, found the second time by its signal and updated
    assert (created.ok, created.created, (created.crm_id or "")[:3]) == (True, True, "00T")
    assert (again.ok, again.created, again.crm_id) == (True, False, created.crm_id)
    [task] = org.emulator.records("Task")
    assert (task["Id"], task["WhatId"], task["Priority"]) == (created.crm_id, account.crm_id, "High")
    queries = [c for c in org.api_calls("GET") if "query" in c["path"]]
    assert len(queries) == 3  # the account's match, and each write's match on the signal
