"""The local HubSpot (local_runtime.crm_hubspot) served on a loopback port, called through HubSpot's own SDK
(`hubspot-api-client`, whose models read every answer) and through the hub's adapter (`HubSpotCrm`); its
webhooks received by the hub's webhook gateway (signature v3, parse, normalizer)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from hubspot import HubSpot as HubSpotSdk
from hubspot.crm.associations.v4 import BatchResponsePublicDefaultAssociation
from hubspot.crm.objects import (
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchReadInputSimplePublicObjectId,
    BatchResponseSimplePublicObjectWithErrors,
    BatchResponseSimplePublicUpsertObject,
    BatchResponseSimplePublicUpsertObjectWithErrors,
    CollectionResponseWithTotalSimplePublicObjectForwardPaging,
    PublicObjectSearchRequest,
    SimplePublicObject,
    SimplePublicObjectBatchInput,
    SimplePublicObjectBatchInputForCreate,
    SimplePublicObjectBatchInputUpsert,
    SimplePublicObjectId,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.objects.exceptions import ApiException, UnauthorizedException
from hubspot.crm.objects.tasks import AssociationSpec as TaskAssociationSpec
from hubspot.crm.objects.tasks import Filter as TaskFilter
from hubspot.crm.objects.tasks import FilterGroup as TaskFilterGroup
from hubspot.crm.objects.tasks import PublicAssociationsForObject as TaskAssociations
from hubspot.crm.objects.tasks import PublicObjectId as TaskObjectId
from hubspot.crm.objects.tasks import PublicObjectSearchRequest as TaskSearchRequest
from hubspot.crm.objects.tasks import SimplePublicObjectInputForCreate as TaskInputForCreate
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from local_runtime.crm_hubspot import BASE_PATH, LocalHubSpot, subscriptions_of
from shared.adapters.hubspot_crm import NO_RETRY, HubSpotCrm, hubspot_crm
from shared.crm.mappings import load_crm_mappings
from shared.crm.ports import CrmRefused, CrmUnavailable, OutboundWrite, RateLimited
from shared.events.canonical import EventType
from shared.webhooks.model import InboundWebhook
from shared.webhooks.vendors.hubspot import HubSpot as HubSpotVendor
from tests.vendor_samples import NOW, Gateway

# Only loopback: a call the SDK sent to api.hubapi.com would fail the test.
pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])

TOKEN = "pat-na1-local-0000-test"
SECRET = "hubspot-app-client-secret-test"


class Clock:
    """HubSpot's time, moved by the tests."""

    def __init__(self, moment: datetime = NOW) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


@dataclass
class Served:
    hubspot: LocalHubSpot
    root: str  # http://127.0.0.1:<port>
    clock: Clock

    @property
    def api_url(self) -> str:
        return f"{self.root}{BASE_PATH}"

    def sdk(self, token: str = TOKEN) -> HubSpotSdk:
        return HubSpotSdk(access_token=token, host=self.api_url, retry=NO_RETRY)

    def crm(self, token: str = TOKEN) -> HubSpotCrm:
        return hubspot_crm(token, self.api_url)

    def post(self, path: str, body: Any = None, data: bytes | None = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
        payload = data if data is not None else json.dumps(body).encode()
        return requests.post(f"{self.api_url}{path}", data=payload, headers=headers, timeout=10)


def serve(app: Any) -> tuple[Any, threading.Thread]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    return server, thread


@contextmanager
def serving(**options: Any) -> Iterator[Served]:
    clock = Clock()
    emulator = LocalHubSpot(client_secret=SECRET, access_token=TOKEN, clock=clock, retry_delays=(0.01, 0.01), **options)
    server, thread = serve(emulator.wsgi())
    try:
        yield Served(emulator, f"http://127.0.0.1:{server.port}", clock)
    finally:
        emulator.close()
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture
def served() -> Iterator[Served]:
    with serving() as hubspot:
        yield hubspot


@pytest.fixture
def all_or_nothing() -> Iterator[Served]:
    """HubSpot answering without multi-status: a batch with one refused input is refused whole."""
    with serving(multi_status=False) as hubspot:
        yield hubspot


@dataclass
class Receiver:
    """The hub's webhook gateway (receiver, ledger, outbox, normalizers, bus) behind `POST /webhooks/hubspot`, at
    NOW, with the app's client secret; `failing` answers 500 to every delivery instead."""

    gateway: Gateway = field(default_factory=lambda: Gateway(HubSpotVendor(), [SECRET]))
    received: list[InboundWebhook] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    failing: bool = False
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wsgi(self) -> Any:
        @Request.application
        def application(request: Request) -> Response:
            webhook = InboundWebhook(
                vendor="hubspot",
                method=request.method,
                url=request.url,
                headers={name.lower(): value for name, value in request.headers.items()},
                body=request.get_data(),
                request_id=f"req-{len(self.received)}",
            )
            with self.lock:
                self.received.append(webhook)
                status = 500 if self.failing else self.gateway.receive(webhook).status_code
                self.statuses.append(status)
            return Response("{}", status=status, content_type="application/json")

        return application

    def bodies(self) -> list[list[dict[str, Any]]]:
        return [json.loads(webhook.body) for webhook in self.received]


@pytest.fixture
def receiver(served: Served) -> Iterator[Receiver]:
    hub = Receiver()
    server, thread = serve(hub.wsgi())
    hub.url = f"http://127.0.0.1:{server.port}/webhooks/hubspot"
    served.hubspot.set_webhook_url(hub.url)
    try:
        yield hub
    finally:
        served.hubspot.close()
        server.shutdown()
        thread.join(timeout=5)


def contact(write_id: str, email: str, **fields: str | None) -> OutboundWrite:
    return OutboundWrite(write_id, "contact", fields, match_on=("email", email))


# Through HubSpot's SDK: the answers are HubSpot's shapes -------------------------------------------------------


def test_a_contact_created_and_read_through_the_sdk_is_answered_in_hubspots_shape(served: Served) -> None:
    # Given HubSpot's SDK pointed at the stand-in
    sdk = served.sdk()
    # When a contact is created, then read back by its email
    created = sdk.crm.objects.basic_api.create(
        "contacts", SimplePublicObjectInputForCreate(properties={"email": "Ana@Example.com", "firstname": "Ana"})
    )
    read = sdk.crm.contacts.basic_api.get_by_id("ana@example.com", id_property="email", properties=["firstname"])
    # Then both are SimplePublicObjects as HubSpot answers them: text values, the CRM's own dates and id
    assert isinstance(created, SimplePublicObject)
    assert created.id.isdigit()
    assert created.properties["email"] == "ana@example.com"  # HubSpot keeps emails lower-cased
    assert created.properties["hs_object_id"] == created.id
    assert created.properties["createdate"] == created.properties["lastmodifieddate"] == "2026-11-25T12:00:00.000Z"
    assert created.created_at == NOW
    assert created.archived is False
    assert type(read).__name__ == "SimplePublicObjectWithAssociations"  # the contacts API's own model
    assert read.id == created.id
    assert read.properties == {
        "firstname": "Ana",
        "createdate": "2026-11-25T12:00:00.000Z",
        "lastmodifieddate": "2026-11-25T12:00:00.000Z",
        "hs_object_id": created.id,
    }


def test_a_contact_email_is_unique_in_the_portal(served: Served) -> None:
    # Given a contact
    sdk = served.sdk()
    first = sdk.crm.objects.basic_api.create(
        "contacts", SimplePublicObjectInputForCreate(properties={"email": "ana@example.com"})
    )
    # When another is created with the same email, in other letters
    with pytest.raises(ApiException) as refused:
        sdk.crm.objects.basic_api.create(
            "contacts", SimplePublicObjectInputForCreate(properties={"email": "ANA@example.com"})
        )
    # Then HubSpot's 409 names the contact that has it
    assert refused.value.status == 409
    body = json.loads(refused.value.body)
    assert body["category"] == "CONFLICT"
    assert body["message"] == f"Contact already exists. Existing ID: {first.id}"
    assert len(served.hubspot.records("contacts")) == 1


def test_batch_upsert_by_email_creates_new_contacts_and_updates_known_ones(served: Served) -> None:
    # Given a known contact
    sdk = served.sdk()
    known = sdk.crm.objects.basic_api.create(
        "contacts", SimplePublicObjectInputForCreate(properties={"email": "ana@example.com"})
    )
    served.clock.advance(minutes=1)
    # When a batch upserts it and a new one by email
    answer = sdk.crm.objects.batch_api.upsert(
        "contacts",
        BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[
                SimplePublicObjectBatchInputUpsert(
                    id="ana@example.com", id_property="email", properties={"lastname": "Lima"}
                ),
                SimplePublicObjectBatchInputUpsert(
                    id="bo@example.com", id_property="email", properties={"lastname": "Bo"}
                ),
            ]
        ),
    )
    # Then the answer says which is new; the known one was updated, its modified date moved
    assert isinstance(answer, BatchResponseSimplePublicUpsertObject)
    assert answer.status == "COMPLETE"
    by_id = {result.id: result for result in answer.results}
    assert by_id[known.id].new is False
    [new] = [result for result in answer.results if result.id != known.id]
    assert new.new is True
    assert served.hubspot.record("contacts", known.id)["properties"]["lastname"] == "Lima"  # type: ignore[index]
    assert by_id[known.id].properties["lastmodifieddate"] == "2026-11-25T12:01:00.000Z"
    assert served.hubspot.record("contacts", new.id)["properties"]["email"] == "bo@example.com"  # type: ignore[index]


def test_batch_read_and_update_answer_207_naming_the_ids_hubspot_does_not_have(served: Served) -> None:
    # Given one company
    sdk = served.sdk()
    company = sdk.crm.objects.basic_api.create(
        "companies", SimplePublicObjectInputForCreate(properties={"name": "Acme"})
    )
    # When a batch reads it and an unknown id, and a batch updates both
    read = sdk.crm.objects.batch_api.read(
        "companies",
        BatchReadInputSimplePublicObjectId(
            properties=["name"],
            properties_with_history=[],
            inputs=[SimplePublicObjectId(id=company.id), SimplePublicObjectId(id="404404")],
        ),
    )
    updated = sdk.crm.objects.batch_api.update(
        "companies",
        BatchInputSimplePublicObjectBatchInput(
            inputs=[
                SimplePublicObjectBatchInput(id=company.id, properties={"industry": "SOFTWARE"}),
                SimplePublicObjectBatchInput(id="404404", properties={"industry": "SOFTWARE"}),
            ]
        ),
    )
    # Then both are multi-status answers: the known record's result, an OBJECT_NOT_FOUND naming the other
    for answer in (read, updated):
        assert isinstance(answer, BatchResponseSimplePublicObjectWithErrors)
        assert [result.id for result in answer.results] == [company.id]
        [error] = answer.errors
        assert (error.category, error.context) == ("OBJECT_NOT_FOUND", {"ids": ["404404"]})
    assert read.results[0].properties["name"] == "Acme"
    assert served.hubspot.record("companies", company.id)["properties"]["industry"] == "SOFTWARE"  # type: ignore[index]


def test_a_batch_of_more_than_100_inputs_is_refused_whole(served: Served) -> None:
    # Given 101 contacts to create
    inputs = [SimplePublicObjectBatchInputForCreate(properties={"email": f"c{n}@example.com"}) for n in range(101)]
    # When they are sent in one batch
    with pytest.raises(ApiException) as refused:
        served.sdk().crm.objects.batch_api.create(
            "contacts", BatchInputSimplePublicObjectBatchInputForCreate(inputs=inputs)
        )
    # Then HubSpot's VALIDATION_ERROR refuses it all: nothing is created
    assert refused.value.status == 400
    body = json.loads(refused.value.body)
    assert body["status"] == "error"
    assert body["category"] == "VALIDATION_ERROR"
    assert body["correlationId"]
    assert "100" in body["message"]
    assert served.hubspot.records("contacts") == []


def test_a_property_the_portal_lacks_is_refused_by_name(served: Served) -> None:
    # When a contact is created with a property the portal does not have
    with pytest.raises(ApiException) as refused:
        served.sdk().crm.objects.basic_api.create(
            "contacts",
            SimplePublicObjectInputForCreate(properties={"email": "ana@example.com", "favourite_colour": "teal"}),
        )
    # Then HubSpot refuses it, naming the property
    assert refused.value.status == 400
    body = json.loads(refused.value.body)
    assert body["category"] == "VALIDATION_ERROR"
    assert body["message"].startswith("Property values were not valid: ")
    [invalid] = json.loads(body["message"].removeprefix("Property values were not valid: "))
    assert (invalid["name"], invalid["error"]) == ("favourite_colour", "PROPERTY_DOESNT_EXIST")
    assert body["errors"][0]["context"] == {"propertyName": ["favourite_colour"]}
    assert served.hubspot.records("contacts") == []


def test_an_invalid_value_in_a_batch_without_trace_ids_refuses_the_whole_batch(served: Served) -> None:
    # Given a batch with one invalid email and no objectWriteTraceId (HubSpot's multi-status opt-in)
    inputs = [
        SimplePublicObjectBatchInputForCreate(properties={"email": "ana@example.com"}),
        SimplePublicObjectBatchInputForCreate(properties={"email": "not-an-email"}),
    ]
    # When it is sent
    with pytest.raises(ApiException) as refused:
        served.sdk().crm.objects.batch_api.create(
            "contacts", BatchInputSimplePublicObjectBatchInputForCreate(inputs=inputs)
        )
    # Then all of it is refused, nothing applied
    assert refused.value.status == 400
    assert "INVALID_EMAIL" in json.loads(refused.value.body)["message"]
    assert served.hubspot.records("contacts") == []


def test_an_invalid_value_in_a_traced_batch_fails_alone_with_a_207(served: Served) -> None:
    # Given a batch upsert with one invalid email, each input with its objectWriteTraceId
    inputs = [
        SimplePublicObjectBatchInputUpsert(
            id="ana@example.com", id_property="email", properties={}, object_write_trace_id="a"
        ),
        SimplePublicObjectBatchInputUpsert(
            id="not-an-email", id_property="email", properties={}, object_write_trace_id="b"
        ),
    ]
    # When it is sent
    answer = served.sdk().crm.objects.batch_api.upsert(
        "contacts", BatchInputSimplePublicObjectBatchInputUpsert(inputs=inputs)
    )
    # Then the valid one is applied, the other answered by its trace id and its id
    assert isinstance(answer, BatchResponseSimplePublicUpsertObjectWithErrors)
    assert [(result.object_write_trace_id, result.new) for result in answer.results] == [("a", True)]
    [error] = answer.errors
    assert error.category == "VALIDATION_ERROR"
    assert error.context == {"objectWriteTraceId": ["b"], "ids": ["not-an-email"]}
    assert "Email address not-an-email is invalid" in error.message


def test_search_filters_on_the_modified_date_sorts_and_pages(served: Served) -> None:
    # Given four companies modified a minute apart
    sdk = served.sdk()
    ids = []
    for name in ("Acme", "Globex", "Initech", "Umbrella"):
        ids.append(
            sdk.crm.objects.basic_api.create(
                "companies", SimplePublicObjectInputForCreate(properties={"name": name})
            ).id
        )
        served.clock.advance(minutes=1)
    since = int((NOW + timedelta(seconds=30)).timestamp() * 1000)
    # When the ones modified after the first are searched, newest first, two a page
    search = PublicObjectSearchRequest(
        filter_groups=[{"filters": [{"propertyName": "hs_lastmodifieddate", "operator": "GT", "value": str(since)}]}],
        sorts=[{"propertyName": "hs_lastmodifieddate", "direction": "DESCENDING"}],
        properties=["name"],
        limit=2,
    )
    first = sdk.crm.objects.search_api.do_search("companies", search)
    search.after = first.paging.next.after
    second = sdk.crm.objects.search_api.do_search("companies", search)
    # Then the three are answered in order, over two pages
    assert isinstance(first, CollectionResponseWithTotalSimplePublicObjectForwardPaging)
    assert first.total == second.total == 3
    assert [r.properties["name"] for r in first.results + second.results] == ["Umbrella", "Initech", "Globex"]
    assert second.paging is None
    # and an IN filter and an EQ filter find by value, whatever the case
    found = sdk.crm.objects.search_api.do_search(
        "companies",
        PublicObjectSearchRequest(
            filter_groups=[
                {"filters": [{"propertyName": "name", "operator": "IN", "values": ["acme", "initech"]}]},
                {"filters": [{"propertyName": "name", "operator": "EQ", "value": "UMBRELLA"}]},
            ],
            limit=200,
        ),
    )
    assert sorted(r.id for r in found.results) == sorted([ids[0], ids[2], ids[3]])


def test_a_search_over_200_results_a_page_or_on_an_unknown_property_is_refused(served: Served) -> None:
    sdk = served.sdk()
    for search in (
        PublicObjectSearchRequest(limit=201),
        PublicObjectSearchRequest(
            filter_groups=[{"filters": [{"propertyName": "lastmodifieddate", "operator": "GT", "value": "0"}]}]
        ),
    ):
        # When the search is sent (companies have hs_lastmodifieddate, not lastmodifieddate)
        with pytest.raises(ApiException) as refused:
            sdk.crm.objects.search_api.do_search("companies", search)
        # Then HubSpot refuses it
        assert (refused.value.status, json.loads(refused.value.body)["category"]) == (400, "VALIDATION_ERROR")


def test_a_default_association_links_both_ways_and_gives_the_contact_its_company(served: Served) -> None:
    # Given a contact and a company
    sdk = served.sdk()
    person = sdk.crm.objects.basic_api.create(
        "contacts", SimplePublicObjectInputForCreate(properties={"email": "ana@example.com"})
    )
    company = sdk.crm.objects.basic_api.create(
        "companies", SimplePublicObjectInputForCreate(properties={"name": "Acme"})
    )
    # When they are associated by HubSpot's v4 default association
    answer = sdk.crm.associations.v4.basic_api.create_default("contacts", person.id, "companies", company.id)
    # Then both directions are answered and kept, and the company is the contact's primary one
    assert isinstance(answer, BatchResponsePublicDefaultAssociation)
    assert {(r._from.id, r.to.id, r.association_spec.association_type_id) for r in answer.results} == {
        (person.id, company.id, 279),
        (company.id, person.id, 280),
    }
    assert served.hubspot.associations("companies", company.id) == [("contacts", person.id, 280)]
    assert served.hubspot.record("contacts", person.id)["properties"]["associatedcompanyid"] == company.id  # type: ignore[index]
    page = sdk.crm.associations.v4.basic_api.get_page("contacts", person.id, "companies")
    assert [(r.to_object_id, r.association_types[0].type_id) for r in page.results] == [(company.id, 279)]


def test_a_token_other_than_the_private_apps_is_refused(served: Served) -> None:
    # When the SDK calls with another token
    with pytest.raises(UnauthorizedException) as refused:
        served.sdk("pat-na1-someone-else").crm.objects.basic_api.get_page("contacts")
    # Then HubSpot's 401 says so
    assert json.loads(refused.value.body)["category"] == "INVALID_AUTHENTICATION"
    # and the adapter refuses the call as a whole
    with pytest.raises(CrmRefused, match="INVALID_AUTHENTICATION"):
        served.crm("pat-na1-someone-else").write([contact("w1", "ana@example.com")])
    # and a call without a token is refused too
    answer = requests.get(f"{served.api_url}/crm/v3/objects/contacts", timeout=5)
    assert (answer.status_code, answer.json()["category"]) == (401, "INVALID_AUTHENTICATION")


# Through the hub's adapter ---------------------------------------------------------------------------------------


def test_every_api_module_the_adapter_calls_points_at_the_given_host_without_retries(served: Served) -> None:
    crm = served.crm()
    for client in crm.api_clients:
        assert client.configuration.host == served.api_url
        assert client.configuration.retries is NO_RETRY
        assert client.configuration.access_token == TOKEN


def test_the_adapter_upserts_contacts_by_email_updates_by_id_and_links_them(served: Served) -> None:
    # Given a company and a contact HubSpot has
    sdk = served.sdk()
    company = sdk.crm.objects.basic_api.create(
        "companies", SimplePublicObjectInputForCreate(properties={"name": "Acme"})
    )
    known = sdk.crm.objects.basic_api.create(
        "contacts", SimplePublicObjectInputForCreate(properties={"email": "bo@example.com"})
    )
    served.hubspot.reset_calls()
    writes = [
        OutboundWrite(
            "w1",
            "contact",
            {"firstname": "Ana", "revops_score": "87", "jobtitle": None},
            match_on=("email", "ana@example.com"),
            associate={"account": company.id},
        ),
        contact("w2", "Bo@Example.com", lastname="Bo"),
        OutboundWrite("w3", "account", {"revops_health_score": "72", "revops_health_band": "green"}, crm_id=company.id),
        OutboundWrite(
            "w4", "contact", {"revops_handoff_status": "accepted"}, crm_id=known.id, associate={"account": company.id}
        ),
    ]
    # When the adapter writes them
    results = served.crm().write(writes)
    # Then each is applied, the new contact created, the known one found by its email
    assert [(r.write_id, r.ok, r.created) for r in results] == [
        ("w1", True, True),
        ("w2", True, False),
        ("w3", True, False),
        ("w4", True, False),
    ]
    assert results[1].crm_id == known.id
    assert results[3].crm_id == known.id
    ana = served.hubspot.record("contacts", results[0].crm_id or "")
    assert ana is not None
    assert ana["properties"]["revops_score"] == "87"
    assert "jobtitle" not in ana["properties"]
    assert served.hubspot.record("companies", company.id)["properties"]["revops_health_band"] == "green"  # type: ignore[index]
    # and both contacts are linked to the company, as their primary one (type 1, back 2), in one association call
    assert served.hubspot.associations("companies", company.id) == sorted(
        [("contacts", known.id, 2), ("contacts", results[0].crm_id or "", 2)]
    )
    # in four calls: the contacts' upsert and update, the company's update, the links
    assert sorted(call["path"] for call in served.hubspot.calls()) == [
        "/crm/v3/objects/companies/batch/update",
        "/crm/v3/objects/contacts/batch/update",
        "/crm/v3/objects/contacts/batch/upsert",
        "/crm/v4/associations/contacts/companies/batch/create",
    ]


def test_a_value_hubspot_refuses_fails_that_write_alone(served: Served) -> None:
    # Given three contacts, one with an email HubSpot refuses
    writes = [contact("w1", "ana@example.com"), contact("w2", "not-an-email"), contact("w3", "cy@example.com")]
    # When the adapter writes them
    results = served.crm().write(writes)
    # Then HubSpot's 207 fails the one it refused, for good; the others are applied
    assert [(r.write_id, r.ok) for r in results] == [("w1", True), ("w2", False), ("w3", True)]
    assert results[1].retryable is False
    assert "INVALID_EMAIL" in (results[1].error or "")
    assert sorted(r["properties"]["email"] for r in served.hubspot.records("contacts")) == [
        "ana@example.com",
        "cy@example.com",
    ]
    assert served.hubspot.call_count == 1


def test_a_property_the_portal_lacks_fails_the_writes_setting_it_and_no_other(served: Served) -> None:
    # Given two companies, one setting a property the portal does not have
    sdk = served.sdk()
    ids = [
        sdk.crm.objects.basic_api.create("companies", SimplePublicObjectInputForCreate(properties={"name": n})).id
        for n in "AB"
    ]
    writes = [
        OutboundWrite("w1", "account", {"revops_health_band": "red", "churn_risk": "high"}, crm_id=ids[0]),
        OutboundWrite("w2", "account", {"revops_health_band": "green"}, crm_id=ids[1]),
    ]
    # When the adapter writes them
    results = served.crm().write(writes)
    # Then the first fails naming the property, for good; the second is applied
    assert [(r.ok, r.retryable) for r in results] == [(False, False), (True, False)]
    assert "churn_risk" in (results[0].error or "")
    assert "PROPERTY_DOESNT_EXIST" in (results[0].error or "")
    assert served.hubspot.record("companies", ids[1])["properties"]["revops_health_band"] == "green"  # type: ignore[index]
    assert "revops_health_band" not in served.hubspot.record("companies", ids[0])["properties"]  # type: ignore[index]


def test_a_batch_refused_whole_for_a_named_property_is_sent_again_without_the_writes_setting_it(
    all_or_nothing: Served,
) -> None:
    # Given HubSpot refusing a whole batch for one input's values, and three companies, one with a property the
    # portal lacks, and three contacts, one with an email that is not one
    served = all_or_nothing
    sdk = served.sdk()
    ids = [
        sdk.crm.objects.basic_api.create("companies", SimplePublicObjectInputForCreate(properties={"name": n})).id
        for n in "ABC"
    ]
    served.hubspot.reset_calls()
    writes = [
        OutboundWrite("a1", "account", {"revops_health_band": "red"}, crm_id=ids[0]),
        OutboundWrite("a2", "account", {"revops_health_band": "red", "churn_risk": "high"}, crm_id=ids[1]),
        OutboundWrite("a3", "account", {"revops_health_band": "red"}, crm_id=ids[2]),
        contact("c1", "ana@example.com"),
        contact("c2", "not-an-email"),
        contact("c3", "cy@example.com"),
    ]
    # When the adapter writes them
    results = served.crm().write(writes)
    # Then the writes the refusal names fail for good, the others are applied by a second call each
    assert [(r.write_id, r.ok, r.retryable) for r in results] == [
        ("a1", True, False),
        ("a2", False, False),
        ("a3", True, False),
        ("c1", True, False),
        ("c2", False, False),
        ("c3", True, False),
    ]
    assert "churn_risk" in (results[1].error or "")
    assert "not-an-email" in (results[4].error or "")
    assert [call["status"] for call in served.hubspot.calls()] == [400, 200, 400, 200]
    assert len(served.hubspot.records("contacts")) == 2


def test_a_batch_refused_whole_naming_no_write_is_split_until_the_refused_one_stands_alone(
    all_or_nothing: Served,
) -> None:
    # Given HubSpot refusing a whole batch for one input, and a contact it has
    served = all_or_nothing
    served.sdk().crm.objects.basic_api.create(
        "contacts", SimplePublicObjectInputForCreate(properties={"email": "dan@example.com"})
    )
    served.hubspot.reset_calls()
    # When four contacts are created, the last with that contact's email (a 409 that names no input)
    emails = ["ana@example.com", "bo@example.com", "cy@example.com", "dan@example.com"]
    results = served.crm().write([OutboundWrite(f"w{n}", "contact", {"email": e}) for n, e in enumerate(emails)])
    # Then halves are sent until the refused one stands alone: it fails, for good; the others are created
    assert [(r.ok, r.created) for r in results] == [(True, True), (True, True), (True, True), (False, False)]
    assert "Contact already exists" in (results[3].error or "")
    assert [call["status"] for call in served.hubspot.calls()] == [409, 201, 409, 201, 409]
    assert len(served.hubspot.records("contacts")) == 4


def test_an_update_of_a_record_hubspot_does_not_have_fails_alone(served: Served) -> None:
    known = served.sdk().crm.objects.basic_api.create(
        "deals", SimplePublicObjectInputForCreate(properties={"dealname": "Big"})
    )
    writes = [
        OutboundWrite("w1", "deal", {"revops_attribution_summary": "paid 60%"}, crm_id=known.id),
        OutboundWrite("w2", "deal", {"revops_attribution_summary": "organic"}, crm_id="987654"),
    ]
    results = served.crm().write(writes)
    assert [(r.ok, r.crm_id) for r in results] == [(True, known.id), (False, None)]
    assert "OBJECT_NOT_FOUND" in (results[1].error or "")
    assert results[1].retryable is False


def test_a_link_to_a_record_hubspot_does_not_have_fails_the_write_and_keeps_its_record(served: Served) -> None:
    # Given a company, and two contacts to link: one to it, one to a company HubSpot does not have
    company = served.sdk().crm.objects.basic_api.create(
        "companies", SimplePublicObjectInputForCreate(properties={"name": "Acme"})
    )
    writes = [
        OutboundWrite("w1", "contact", {}, match_on=("email", "ana@example.com"), associate={"account": company.id}),
        OutboundWrite("w2", "contact", {}, match_on=("email", "bo@example.com"), associate={"account": "424242"}),
    ]
    # When the adapter writes them
    results = served.crm().write(writes)
    # Then the first is written and linked; the second written (its id known) but failed, for good
    assert [(r.ok, r.created, r.retryable) for r in results] == [(True, True, False), (False, True, False)]
    assert results[1].crm_id is not None
    assert served.hubspot.record("contacts", results[1].crm_id) is not None
    assert "not associated with account 424242" in (results[1].error or "")
    assert served.hubspot.associations("contacts", results[0].crm_id or "") == [("companies", company.id, 1)]
    assert served.hubspot.associations("contacts", results[1].crm_id) == []


def test_more_than_100_writes_go_in_calls_of_100_and_one_record_is_never_twice_in_a_call(served: Served) -> None:
    # Given 150 contacts, and a second write to the first one
    writes = [contact(f"w{n}", f"c{n}@example.com", firstname=f"C{n}") for n in range(150)]
    writes.append(contact("again", "C0@example.com", firstname="Zero"))
    # When the adapter writes them
    results = served.crm().write(writes)
    # Then all are applied, in upserts of at most 100 inputs, the later write last
    assert all(result.ok for result in results)
    assert results[0].crm_id == results[-1].crm_id
    assert [result.created for result in results].count(True) == 150
    assert served.hubspot.call_count == 3
    assert served.hubspot.record("contacts", results[0].crm_id or "")["properties"]["firstname"] == "Zero"  # type: ignore[index]


def test_records_matched_on_a_property_are_found_by_a_search_or_created_once(served: Served) -> None:
    # Given a company HubSpot has, by domain
    sdk = served.sdk()
    acme = sdk.crm.objects.basic_api.create(
        "companies", SimplePublicObjectInputForCreate(properties={"domain": "acme.com"})
    )
    writes = [
        OutboundWrite("w1", "account", {"name": "Acme"}, match_on=("domain", "ACME.com")),
        OutboundWrite("w2", "account", {"name": "Globex"}, match_on=("domain", "globex.com")),
        OutboundWrite("w3", "account", {"name": "Globex Corp"}, match_on=("domain", "globex.com")),
    ]
    # When the adapter writes them
    results = served.crm().write(writes)
    # Then the known one is updated; the new one created once, and the second write to it updates it
    assert [(r.ok, r.created) for r in results] == [(True, False), (True, True), (True, False)]
    assert results[0].crm_id == acme.id
    assert results[1].crm_id == results[2].crm_id
    assert sorted(
        (r["properties"]["name"], r["properties"]["domain"]) for r in served.hubspot.records("companies")
    ) == [
        ("Acme", "acme.com"),
        ("Globex Corp", "globex.com"),
    ]


def test_a_rate_limit_raises_rate_limited_with_retry_after_and_nothing_retries_it(served: Served) -> None:
    # Given HubSpot's ten-second limit reached, for 7 more seconds
    served.hubspot.fail_next(1, "ratelimited", retry_after=7)
    # When the adapter writes
    with pytest.raises(RateLimited) as limited:
        served.crm().write([contact("w1", "ana@example.com")])
    # Then RateLimited says when to try again; the SDK did not retry (one call), nothing was applied
    assert limited.value.retry_after == 7
    assert "RATE_LIMIT" in str(limited.value) or "ten_secondly_rolling" in str(limited.value)
    assert [call["status"] for call in served.hubspot.calls()] == [429]
    assert served.hubspot.records("contacts") == []
    # and a read limited so raises it too
    served.hubspot.fail_next(1, "ratelimited", retry_after=3)
    with pytest.raises(RateLimited) as read_limited:
        served.crm().changed_since("contact", NOW, ["email"])
    assert read_limited.value.retry_after == 3


def test_a_rate_limit_after_part_was_applied_fails_the_rest_retryable(served: Served) -> None:
    # Given 150 contacts (two upserts), and the second call rate-limited
    writes = [contact(f"w{n}", f"c{n}@example.com") for n in range(150)]
    served.hubspot.fail_next(1, "ratelimited", retry_after=5, after=1)
    # When the adapter writes them
    results = served.crm().write(writes)
    # Then what the first call applied is reported applied, the rest failed and retryable: nothing raised
    assert [r.ok for r in results] == [True] * 100 + [False] * 50
    assert all(r.retryable for r in results[100:])
    assert len(served.hubspot.records("contacts")) == 100


def test_an_outage_or_a_5xx_raises_crm_unavailable(served: Served) -> None:
    served.hubspot.set_outage(True)
    with pytest.raises(CrmUnavailable, match="503"):
        served.crm().write([contact("w1", "ana@example.com")])
    with pytest.raises(CrmUnavailable):
        served.crm().read("contact", ["1"], ["email"])
    served.hubspot.set_outage(False)
    served.hubspot.fail_next(1, "server_error")
    with pytest.raises(CrmUnavailable, match="502"):
        served.crm().write([contact("w1", "ana@example.com")])
    assert served.crm().write([contact("w1", "ana@example.com")])[0].ok


def test_a_crm_that_does_not_answer_raises_crm_unavailable() -> None:
    # Given a port nothing listens on
    server, thread = serve(lambda environ, start_response: [])
    port = server.port
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
    # When the adapter writes to it, Then the CRM is unavailable
    with pytest.raises(CrmUnavailable, match="unreachable"):
        hubspot_crm(TOKEN, f"http://127.0.0.1:{port}{BASE_PATH}").write([contact("w1", "ana@example.com")])


def test_read_answers_the_records_hubspot_has_with_the_fields_asked(served: Served) -> None:
    sdk = served.sdk()
    ana = sdk.crm.objects.basic_api.create(
        "contacts", SimplePublicObjectInputForCreate(properties={"email": "ana@example.com", "firstname": "Ana"})
    )
    served.clock.advance(minutes=5)
    sdk.crm.objects.basic_api.update("contacts", ana.id, SimplePublicObjectInput(properties={"lastname": "Lima"}))
    [snapshot] = served.crm().read("contact", [ana.id, "999999"], ["email", "firstname", "phone"])
    assert snapshot.crm_id == ana.id
    assert snapshot.fields == {"email": "ana@example.com", "firstname": "Ana", "phone": None}
    assert snapshot.modified_at == NOW + timedelta(minutes=5)


def test_changed_since_lists_what_changed_after_a_moment_oldest_change_first(served: Served) -> None:
    # Given five contacts, each changed by a user at its own moment
    crm = served.crm()
    results = crm.write([contact(f"w{n}", f"c{n}@example.com") for n in range(5)])
    for n, minutes in enumerate((50, 10, 40, 20, 30)):
        served.hubspot.edit(
            "contacts", results[n].crm_id, {"firstname": f"C{n}"}, occurred_at=NOW + timedelta(minutes=minutes)
        )
    # When the changes after minute 15 are listed, three at most
    changed = crm.changed_since("contact", NOW + timedelta(minutes=15), ["firstname"], limit=3)
    # Then they come oldest first, with when each changed
    assert [(s.fields["firstname"], s.modified_at) for s in changed] == [
        ("C3", NOW + timedelta(minutes=20)),
        ("C4", NOW + timedelta(minutes=30)),
        ("C2", NOW + timedelta(minutes=40)),
    ]
    assert [
        s.fields["firstname"] for s in crm.changed_since("contact", NOW + timedelta(minutes=15), ["firstname"])
    ] == [
        "C3",
        "C4",
        "C2",
        "C0",
    ]


# Webhooks --------------------------------------------------------------------------------------------------------


def test_a_user_edit_fires_a_signed_webhook_the_hub_takes_as_a_contact_change(
    served: Served, receiver: Receiver
) -> None:
    # Given a contact in HubSpot
    [written] = served.crm().write([contact("w1", "ana@example.com")])
    assert served.hubspot.wait_until_delivered()
    received_before = len(receiver.received)
    # When a user changes its lifecycle stage in HubSpot's UI, a minute ago (a late change)
    answer = requests.post(
        f"{served.api_url}/_edits",
        json={
            "object": "contacts",
            "email": "ana@example.com",
            "properties": {"lifecyclestage": "marketingqualifiedlead"},
            "occurred_at": "2026-11-25T11:59:00Z",
            "user_id": 4242,
        },
        timeout=5,
    )
    # Then the record is changed at that moment
    assert answer.status_code == 200
    assert answer.json()["properties"]["lastmodifieddate"] == "2026-11-25T11:59:00.000Z"
    # and HubSpot's webhook reaches the hub, signed so that the hub's verifier accepts it
    assert served.hubspot.wait_until_delivered()
    [webhook] = receiver.received[received_before:]
    HubSpotVendor().verify(webhook, [SECRET], NOW)
    assert receiver.statuses[-1] == 202
    [event] = json.loads(webhook.body)
    assert event == {
        "eventId": event["eventId"],
        "subscriptionId": event["subscriptionId"],
        "portalId": 62515,
        "appId": served.hubspot.app_id,
        "occurredAt": int(datetime(2026, 11, 25, 11, 59, tzinfo=UTC).timestamp() * 1000),
        "subscriptionType": "contact.propertyChange",
        "attemptNumber": 0,
        "objectId": int(written.crm_id or 0),
        "changeSource": "CRM_UI",
        "sourceId": "userId:4242",
        "propertyName": "lifecyclestage",
        "propertyValue": "marketingqualifiedlead",
    }
    # and the hub reads it as the contact's change
    [published] = [e for e in receiver.gateway.publisher.published if e.vendor_event_id == str(event["eventId"])]
    assert published.event_type == EventType.CONTACT_UPSERTED
    assert published.subject.contact_id == f"hubspot:{written.crm_id}"
    assert published.data["property"] == "lifecyclestage"
    assert published.data["value"] == "marketingqualifiedlead"
    assert published.data["change_source"] == "CRM_UI"
    assert published.occurred_at == datetime(2026, 11, 25, 11, 59, tzinfo=UTC)


def test_api_writes_fire_creation_and_property_changes_from_the_integration(served: Served, receiver: Receiver) -> None:
    # When the adapter creates a contact, then changes it
    [created] = served.crm().write([contact("w1", "ana@example.com", firstname="Ana")])
    served.crm().write(
        [OutboundWrite("w2", "contact", {"firstname": "Ana", "lastname": "Lima"}, crm_id=created.crm_id)]
    )
    # Then HubSpot fires the creation and one event per property changed (none for the unchanged firstname)
    assert served.hubspot.wait_until_delivered()
    events = [event for body in receiver.bodies() for event in body]
    assert [(e["subscriptionType"], e.get("propertyName"), e.get("propertyValue")) for e in events] == [
        ("contact.creation", None, None),
        ("contact.propertyChange", "email", "ana@example.com"),
        ("contact.propertyChange", "firstname", "Ana"),
        ("contact.propertyChange", "lastname", "Lima"),
    ]
    assert {(e["changeSource"], e["sourceId"]) for e in events} == {("INTEGRATION", str(served.hubspot.app_id))}
    assert events[0]["changeFlag"] == "CREATED"
    assert all(e["objectId"] == int(created.crm_id or 0) for e in events)
    assert set(receiver.statuses) == {202}
    # and the hub takes each as a contact change (a creation too)
    published = receiver.gateway.publisher.published
    assert len(published) == 4
    assert {e.event_type for e in published} == {EventType.CONTACT_UPSERTED}
    assert {e.subject.email for e in published if e.data["property"] == "email"} == {"ana@example.com"}


def test_only_the_properties_the_app_subscribed_to_fire_property_changes() -> None:
    # Given HubSpot with the hub's app subscribed as README says (every property but the hub's own outputs)
    with serving(subscribed_properties=subscriptions_of(load_crm_mappings())) as served:
        # When the hub creates a contact with its title and score, then writes only a new score
        [created] = served.crm().write([contact("w1", "ana@example.com", jobtitle="CTO", revops_score="40")])
        served.crm().write([OutboundWrite("w2", "contact", {"revops_score": "55"}, crm_id=created.crm_id)])
        # Then the contact holds both scores in turn, but only the creation and the subscribed properties fired
        assert (
            served.sdk()
            .crm.contacts.basic_api.get_by_id(created.crm_id, properties=["revops_score"])
            .properties["revops_score"]
            == "55"
        )
        events = requests.get(f"{served.api_url}/_webhooks", timeout=10).json()["events"]
        assert [(e["subscriptionType"], e.get("propertyName")) for e in events] == [
            ("contact.creation", None),
            ("contact.propertyChange", "email"),
            ("contact.propertyChange", "jobtitle"),
        ]


def test_events_are_delivered_in_order_at_most_100_a_request(served: Served, receiver: Receiver) -> None:
    # When 60 contacts are created (each a creation and an email change: 120 events)
    served.crm().write([contact(f"w{n}", f"c{n}@example.com") for n in range(60)])
    # Then they reach the hub in order, in requests of at most 100 events
    assert served.hubspot.wait_until_delivered()
    bodies = receiver.bodies()
    assert all(len(body) <= 100 for body in bodies)
    assert len(bodies) >= 2
    assert [event["eventId"] for body in bodies for event in body] == list(range(1, 121))
    assert all(d["status"] == "delivered" for d in served.hubspot.deliveries())


def test_a_delivery_the_hub_refuses_is_retried_then_recorded_failed(served: Served, receiver: Receiver) -> None:
    # Given a hub answering 500
    receiver.failing = True
    # When a change fires an event
    served.crm().write([OutboundWrite("w1", "account", {"name": "Acme"})])
    # Then the delivery is tried three times, its attemptNumber counting up, then recorded failed
    assert served.hubspot.wait_until_delivered()
    [delivery] = served.hubspot.deliveries()
    assert (delivery["status"], delivery["attempts"], delivery["response_status"]) == ("failed", 3, 500)
    assert [body[0]["attemptNumber"] for body in receiver.bodies()] == [0, 1, 2]
    listed = requests.get(f"{served.api_url}/_webhooks", timeout=5).json()
    assert listed["deliveries"][0]["status"] == "failed"
    assert [e["subscriptionType"] for e in listed["events"]] == ["company.creation", "company.propertyChange"]


def test_without_a_webhook_url_events_are_kept_not_sent(served: Served) -> None:
    served.crm().write([OutboundWrite("w1", "deal", {"dealname": "Big", "dealstage": "closedwon"})])
    assert served.hubspot.wait_until_delivered(timeout=1)
    assert served.hubspot.deliveries() == []
    assert [e["subscriptionType"] for e in served.hubspot.events()] == ["deal.creation"] + ["deal.propertyChange"] * 2


# The stand-in's own endpoints and its bounds ------------------------------------------------------------------------


def test_calls_are_counted_and_faults_set_over_http(served: Served) -> None:
    # Given two API calls
    served.crm().write([contact("w1", "ana@example.com")])
    served.crm().read("contact", ["1"], ["email"])
    listed = requests.get(f"{served.api_url}/_calls", timeout=5).json()
    assert listed["count"] == 2
    assert [(c["method"], c["path"], c["status"]) for c in listed["calls"]] == [
        ("POST", "/crm/v3/objects/contacts/batch/upsert", 200),
        ("POST", "/crm/v3/objects/contacts/batch/read", 207),
    ]
    # When the count is reset and an outage set over HTTP
    assert requests.delete(f"{served.api_url}/_calls", timeout=5).json() == {"forgotten": 2}
    assert requests.post(f"{served.api_url}/_faults", json={"outage": True}, timeout=5).status_code == 200
    # Then every API call answers 503 until it is cleared, each counted
    assert served.post("/crm/v3/objects/contacts/search", {}).status_code == 503
    requests.post(f"{served.api_url}/_faults", json={"outage": False}, timeout=5)
    assert served.post("/crm/v3/objects/contacts/search", {}).status_code == 200
    assert served.hubspot.call_count == 2
    # and a 429 fault comes with HubSpot's body and Retry-After
    requests.post(f"{served.api_url}/_faults", json={"calls": 1, "kind": "ratelimited", "retry_after": 4}, timeout=5)
    limited = served.post("/crm/v3/objects/contacts/search", {})
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "4")
    assert limited.json()["policyName"] == "TEN_SECONDLY_ROLLING"
    assert (
        requests.get(f"{served.api_url}/_records/contacts", timeout=5).json()["records"][0]["properties"]["email"]
        == "ana@example.com"
    )


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{", 400),
        (b"[1, 2]", 400),
        (b"[" * 100_000 + b"]" * 100_000, 400),
        (b'{"inputs": "no"}', 400),
        (b'{"inputs": [1]}', 400),
        (b'{"inputs": [{"properties": {"email": {"x": 1}}}]}', 400),
        (b'{"inputs": [{"properties": []}]}', 400),
        (b'{"inputs": [{"properties": {}, "objectWriteTraceId": 5}]}', 400),
        (b'{"inputs": [{"properties": {"email": NaN}}]}', 400),
        (b"\xff\xfe\x00", 400),
        (b'{"inputs": []}' + b" " * (1024 * 1024), 413),
    ],
)
def test_bad_bodies_are_refused_hubspot_style_never_a_500(served: Served, body: bytes, status: int) -> None:
    answer = served.post("/crm/v3/objects/contacts/batch/create", data=body)
    assert answer.status_code == status
    assert answer.json()["status"] == "error"
    assert answer.json()["category"] == "VALIDATION_ERROR"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (
            "/crm/v3/objects/contacts/batch/update",
            {"inputs": [{"id": "1", "properties": {}}, {"id": "1", "properties": {}}]},
        ),
        ("/crm/v3/objects/contacts/batch/upsert", {"inputs": [{"id": "a@b.co", "properties": {}}]}),
        (
            "/crm/v3/objects/companies/batch/upsert",
            {"inputs": [{"id": "acme.com", "idProperty": "domain", "properties": {}}]},
        ),
        ("/crm/v3/objects/contacts/batch/read", {"inputs": [{"id": None}]}),
        ("/crm/v3/objects/tickets/search", {}),
        (
            "/crm/v3/objects/contacts/search",
            {"filterGroups": [{"filters": [{"propertyName": "email", "operator": "LIKE"}]}]},
        ),
        (
            "/crm/v3/objects/contacts/search",
            {"filterGroups": [{"filters": [{"propertyName": "createdate", "operator": "GT", "value": "soon"}]}]},
        ),
        ("/crm/v3/objects/contacts/search", {"after": 10_000}),
        ("/crm/v3/objects/contacts/search", {"sorts": ["createdate", "-lastmodifieddate"]}),
        (
            "/crm/v4/associations/contacts/companies/batch/associate/default",
            {"inputs": [{"from": {}, "to": {"id": "1"}}]},
        ),
    ],
)
def test_requests_hubspot_would_refuse_are_refused_with_its_validation_error(
    served: Served, path: str, body: Any
) -> None:
    answer = served.post(path, body)
    assert (answer.status_code, answer.json()["category"]) == (400, "VALIDATION_ERROR")


def test_an_edit_of_a_record_that_does_not_exist_or_with_a_refused_value_is_refused(served: Served) -> None:
    edits = f"{served.api_url}/_edits"
    assert (
        requests.post(
            edits, json={"email": "nobody@example.com", "properties": {"firstname": "X"}}, timeout=5
        ).status_code
        == 404
    )
    served.crm().write([contact("w1", "ana@example.com")])
    refused = requests.post(
        edits, json={"email": "ana@example.com", "properties": {"lifecyclestage": "vip"}}, timeout=5
    )
    assert refused.status_code == 400
    assert "INVALID_OPTION" in refused.json()["message"] or "allowed options" in refused.json()["message"]
    assert requests.post(edits, data=b"nope", timeout=5).status_code == 400


# Tasks (the hub's expansion signals) -------------------------------------------------------------------------------


def test_a_task_created_with_its_company_through_the_tasks_sdk_is_answered_and_associated_as_hubspot_does(
    served: Served,
) -> None:
    # Given a company, and HubSpot's tasks API of the SDK
    sdk = served.sdk()
    company = sdk.crm.objects.basic_api.create(
        "companies", SimplePublicObjectInputForCreate(properties={"name": "Acme"})
    )
    # When a task is created with the association HubSpot defines from a task to a company (192)
    task = sdk.crm.objects.tasks.basic_api.create(
        TaskInputForCreate(
            properties={
                "hs_timestamp": "2026-11-28T12:00:00Z",
                "hs_task_subject": "Expansion: Acme",
                "hs_task_status": "NOT_STARTED",
                "hs_task_priority": "HIGH",
                "revops_signal_id": "sig-1",
            },
            associations=[
                TaskAssociations(
                    to=TaskObjectId(id=company.id),
                    types=[TaskAssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=192)],
                )
            ],
        )
    )
    # Then the tasks API's own model reads it: an activity's creation date is hs_createdate
    assert type(task).__module__.startswith("hubspot.crm.objects.tasks")
    assert task.properties["hs_createdate"] == task.properties["hs_lastmodifieddate"]
    assert task.properties["hs_createdate"].startswith("2026-11-25T12:00:00.")
    assert task.properties["hs_object_id"] == task.id
    assert "createdate" not in task.properties
    # And it is associated both ways: task to company 192, company to task 191, as v4 lists them
    page = sdk.crm.associations.v4.basic_api.get_page("tasks", task.id, "companies")
    assert [(r.to_object_id, r.association_types[0].type_id) for r in page.results] == [(company.id, 192)]
    assert served.hubspot.associations("companies", company.id) == [("tasks", task.id, 191)]
    # And found by the hub's idempotency key, through the tasks search
    found = sdk.crm.objects.tasks.search_api.do_search(
        TaskSearchRequest(
            filter_groups=[
                TaskFilterGroup(filters=[TaskFilter(property_name="revops_signal_id", operator="IN", values=["sig-1"])])
            ],
            properties=["revops_signal_id", "hs_task_subject"],
        )
    )
    assert [(r.id, r.properties["hs_task_subject"]) for r in found.results] == [(task.id, "Expansion: Acme")]


def test_a_task_without_its_due_date_or_with_a_status_hubspot_lacks_is_refused_naming_the_property(
    served: Served,
) -> None:
    # Given HubSpot's SDK
    sdk = served.sdk()
    # When tasks are batch created, one without hs_timestamp and one with a status HubSpot does not have
    traced = BatchInputSimplePublicObjectBatchInputForCreate(
        inputs=[
            SimplePublicObjectBatchInputForCreate(properties={"hs_task_subject": "no date"}, object_write_trace_id="0"),
            SimplePublicObjectBatchInputForCreate(
                properties={"hs_timestamp": "1764072000000", "hs_task_status": "DONE"}, object_write_trace_id="1"
            ),
            SimplePublicObjectBatchInputForCreate(
                properties={"hs_timestamp": "1764072000000", "hs_task_status": "COMPLETED"}, object_write_trace_id="2"
            ),
        ]
    )
    answer = sdk.crm.objects.batch_api.create("tasks", traced)
    # Then the valid one is created and each refused one is named, with HubSpot's validation error
    assert isinstance(answer, BatchResponseSimplePublicObjectWithErrors)
    assert [r.object_write_trace_id for r in answer.results] == ["2"]
    refused = {e.context["objectWriteTraceId"][0]: e.message for e in answer.errors}
    assert set(refused) == {"0", "1"}
    assert "hs_timestamp is required to create a task" in refused["0"]
    assert "DONE was not one of the allowed options" in refused["1"]
    assert len(served.hubspot.records("tasks")) == 1


def test_tasks_fire_no_webhooks_as_hubspot_has_no_task_subscriptions(served: Served) -> None:
    # Given a company (whose creation fires its events)
    sdk = served.sdk()
    sdk.crm.objects.basic_api.create("companies", SimplePublicObjectInputForCreate(properties={"name": "Acme"}))
    before = len(served.hubspot.events())
    # When a task is created and changed, by the API and by a user
    task = sdk.crm.objects.basic_api.create(
        "tasks", SimplePublicObjectInputForCreate(properties={"hs_timestamp": "1764072000000"})
    )
    served.hubspot.edit("tasks", task.id, {"hs_task_status": "COMPLETED"})
    # Then no event is fired
    assert len(served.hubspot.events()) == before
    assert served.hubspot.record("tasks", task.id)["properties"]["hs_task_status"] == "COMPLETED"  # type: ignore[index]


def test_the_adapter_creates_a_task_with_its_company_in_one_call_and_finds_it_again_by_its_signal(
    served: Served,
) -> None:
    # Given a company, and an expansion's write as the hub sends it (HubSpot's task, matched on the signal's id)
    sdk = served.sdk()
    company = sdk.crm.objects.basic_api.create(
        "companies", SimplePublicObjectInputForCreate(properties={"name": "Acme"})
    )
    write = OutboundWrite(
        "expansion:sig-1",
        "expansion",
        {"revops_signal_id": "sig-1", "hs_task_subject": "Expansion: Acme", "hs_timestamp": "2026-11-28T12:00:00Z"},
        match_on=("revops_signal_id", "sig-1"),
        associate={"account": company.id},
        crm_object="tasks",
    )
    crm = served.crm()
    served.hubspot.reset_calls()
    # When the adapter writes it
    [created] = crm.write([write])
    # Then the task is created, linked to its company inline: a search for it, then one create, no association call
    assert (created.ok, created.created) == (True, True)
    assert [(c["method"], c["path"]) for c in served.hubspot.calls()] == [
        ("POST", "/crm/v3/objects/tasks/search"),
        ("POST", "/crm/v3/objects/tasks/batch/create"),
    ]
    assert served.hubspot.associations("tasks", created.crm_id or "") == [("companies", company.id, 192)]
    # When the same write comes again without the task's id (the hub lost the answer)
    [again] = crm.write([write])
    # Then the search finds the task by its signal: updated, still one task, still linked once
    assert (again.ok, again.created, again.crm_id) == (True, False, created.crm_id)
    assert len(served.hubspot.records("tasks")) == 1
    assert served.hubspot.associations("tasks", created.crm_id or "") == [("companies", company.id, 192)]


def test_expansions_made_deals_are_created_with_their_signal_and_notes_and_found_again_by_the_signal(
    served: Served,
) -> None:
    # Given a company, and an expansion's write as the hub sends it when expansions are deals (README: the portal's
    # deals get a revops_signal_id property; their notes go to HubSpot's own deal description)
    sdk = served.sdk()
    company = sdk.crm.objects.basic_api.create(
        "companies", SimplePublicObjectInputForCreate(properties={"name": "Acme"})
    )
    fields = {
        "revops_signal_id": "sig-2",
        "dealname": "Expansion: Acme is ready to expand",
        "dealstage": "appointmentscheduled",
        "closedate": "2026-12-03T03:15:00Z",
        "description": "Acme became ready to expand.",
    }
    write = OutboundWrite(
        "expansion:sig-2",
        "expansion",
        fields,
        match_on=("revops_signal_id", "sig-2"),
        associate={"account": company.id},
        crm_object="deals",
    )
    crm = served.crm()
    # When the adapter writes it, and again without its id (the hub lost the answer)
    [created] = crm.write([write])
    [again] = crm.write([write])
    # Then one deal holds the signal's id and notes, linked to its company, found again by the signal
    assert (created.ok, created.created) == (True, True)
    assert (again.ok, again.created, again.crm_id) == (True, False, created.crm_id)
    [deal] = served.hubspot.records("deals")
    assert (deal["properties"]["revops_signal_id"], deal["properties"]["description"]) == (
        "sig-2",
        "Acme became ready to expand.",
    )
    assert [(t, i) for t, i, _ in served.hubspot.associations("deals", created.crm_id or "")] == [
        ("companies", company.id)
    ]
