"""Events applied once, in the `leads` table: the markers a change records (`ChangeSet.applied`) behave in the
DynamoDB adapter as in the fake, ride in the change's one transaction, cost a replayed event one read, and go
with the person when they are erased."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.adapters.dynamodb_leads import DynamoDbLeadRepository
from shared.adapters.dynamodb_privacy_leads import LeadsPrivacy
from shared.catalog import physical_name
from shared.catalog.leads import LEADS
from shared.events.canonical import EventType, Subject
from shared.leads.capture import LeadCapture
from shared.leads.identity import identities
from shared.leads.model import Account, Contact
from shared.leads.ports import ChangeSet, ConcurrentUpdate, LeadRepository
from shared.leads.scoring_models import ScoringModels
from shared.leads.service import LeadService
from shared.scoring.model import load_model
from tests.canonical_events import canonical_event
from tests.fakes import FixedClock, InMemoryLeadRepository
from tests.integration.conftest import STAGE, only_table
from tests.integration.dynamodb_doubles import counted_calls

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
TABLE = physical_name(STAGE, "leads")


@pytest.fixture
def client() -> Iterator[Any]:
    with only_table(LEADS) as client:
        yield client


@pytest.fixture(params=["dynamodb", "in-memory"])
def repo(request: pytest.FixtureRequest) -> LeadRepository:
    if request.param == "in-memory":
        return InMemoryLeadRepository()
    return DynamoDbLeadRepository(request.getfixturevalue("client"), TABLE, sleep=lambda _: None)


def test_a_marker_is_recorded_with_its_change_once_per_owner_and_event(repo: LeadRepository) -> None:
    # Given a change applying an event to a new contact and to an account
    contact, account = Contact("c-1", created_at=T0, updated_at=T0), Account("a-1", T0, T0)
    repo.commit(
        ChangeSet(
            contacts={"c-1": contact},
            created={"c-1"},
            accounts={"a-1": account},
            applied=[("contact", "c-1", "e-1"), ("account", "a-1", "e-2")],
        )
    )
    # Then each marker answers for its owner and event only
    assert repo.applied("contact", "c-1", "e-1")
    assert repo.applied("account", "a-1", "e-2")
    assert not repo.applied("contact", "c-1", "e-2")
    assert not repo.applied("account", "c-1", "e-1")
    assert not repo.applied("contact", "c-2", "e-1")
    # And a second change applying the same event again is refused whole: the contact was not saved again
    stored = repo.contact("c-1")
    assert stored is not None
    with pytest.raises(ConcurrentUpdate):
        repo.commit(ChangeSet(contacts={"c-1": stored}, applied=[("contact", "c-1", "e-1")]))
    again = repo.contact("c-1")
    assert again is not None
    assert again.version == stored.version


def leads_over(client: Any) -> tuple[LeadService, FixedClock]:
    clock = FixedClock(T0)
    ids = itertools.count(1)
    repo = DynamoDbLeadRepository(client, TABLE, sleep=lambda _: None)
    service = LeadService(repo, ScoringModels(load_model()), clock, lambda: f"id-{next(ids)}")
    return service, clock


def test_a_replayed_deal_event_costs_one_read_more_and_writes_nothing(client: Any) -> None:
    # Given a lead and a won deal applied over DynamoDB
    service, clock = leads_over(client)
    service.capture(LeadCapture("ada@acme.io", "web form", company="Acme", job_title="VP Sales"))
    crm = Subject(contact_id="hubspot:77", email="ada@acme.io")
    won = canonical_event(EventType.DEAL_WON, crm, {"stage": "closedwon"}, at=T0, n=1, series="applied")
    _, count = counted_calls(client)
    first = count(lambda: service.handle(won))
    # Then its marker rode in the change's one transaction
    assert first.count("TransactWriteItems") == 1
    [lead_id] = service.repository.owners(identities("ada@acme.io")).values()
    marker = client.get_item(
        TableName=TABLE, Key={"pk": {"S": f"CONTACT#{lead_id}"}, "sk": {"S": f"APPLIED#{won.event_id}"}}
    )
    assert "Item" in marker
    # When it is replayed an hour later
    clock.advance(timedelta(hours=1))
    replayed = count(lambda: service.handle(won))
    # Then the replay read who the event is about and its marker, and wrote nothing
    assert replayed == ["BatchGetItem", "GetItem"]


def test_a_replayed_account_event_costs_one_read_more_and_writes_nothing(client: Any) -> None:
    service, clock = leads_over(client)
    customer = Subject(contact_id="stripe:cus_1", account_id="stripe:cus_1")
    event = canonical_event(
        EventType.ACCOUNT_UPSERTED, customer, {"name": "Acme"}, at=T0, n=2, series="applied", vendor="stripe"
    )
    service.handle(event)
    _, count = counted_calls(client)
    clock.advance(timedelta(hours=1))
    replayed = count(lambda: service.handle(event))
    # the account's identities, the account, its marker: no write
    assert replayed == ["BatchGetItem", "GetItem", "GetItem"]


def test_an_erased_person_leaves_no_marker_behind(client: Any) -> None:
    # Given a lead with events applied to it
    service, _ = leads_over(client)
    service.capture(LeadCapture("ada@acme.io", "web form", company="Acme", job_title="VP Sales"))
    crm = Subject(contact_id="hubspot:77", email="ada@acme.io")
    for n, event_type in enumerate((EventType.DEAL_STAGE_CHANGED, EventType.DEAL_WON)):
        service.handle(canonical_event(event_type, crm, {"stage": "x"}, at=T0, n=10 + n, series="applied"))
    markers = _markers(client)
    assert len(markers) == 2
    # When the person is erased
    privacy = LeadsPrivacy(client, TABLE)
    person = privacy.person("ada@acme.io")
    assert person is not None
    privacy.erase(person)
    # Then their contact's partition is gone, markers included
    assert _markers(client) == []


def _markers(client: Any) -> list[dict[str, Any]]:
    items = client.scan(TableName=TABLE)["Items"]
    return [item for item in items if item["sk"]["S"].startswith("APPLIED#") and item["pk"]["S"].startswith("CONTACT#")]
