"""The consent log in the lead repositories: the DynamoDB adapter (over moto) and the in-memory fake keep it
alike (appended once, read across contacts, committed with the rest of a change or not at all), and in DynamoDB
it sits in the contact's partition as `CONSENT#<record id>` items, apart from the engagement log and history."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import boto3
import pytest

from local_runtime.provision import Provisioned
from shared.adapters.dynamodb_leads import DynamoDbLeadRepository
from shared.leads.model import ConsentRecord
from shared.leads.ports import ChangeSet, ConcurrentUpdate, LeadRepository
from tests.fakes import InMemoryLeadRepository
from tests.integration.conftest import STAGE
from tests.integration.test_lead_repository_contract import T0, TABLE, _item, _sks, engagement, new_contact, save


@pytest.fixture(params=["dynamodb", "in-memory"])
def store(request: pytest.FixtureRequest) -> Iterator[LeadRepository]:
    if request.param == "in-memory":
        yield InMemoryLeadRepository()
        return
    assert request.getfixturevalue("aws").stage == STAGE
    yield DynamoDbLeadRepository(boto3.client("dynamodb", region_name="us-east-1"), TABLE, sleep=lambda _: None)


@pytest.fixture
def dynamodb(aws: Provisioned) -> tuple[DynamoDbLeadRepository, Any]:
    client = boto3.client("dynamodb", region_name="us-east-1")
    return DynamoDbLeadRepository(client, TABLE, sleep=lambda _: None), client


def consent(record_id: str, contact_id: str, granted: bool = False, minutes: int = 0, **fields: Any) -> ConsentRecord:
    record = ConsentRecord(
        record_id=record_id,
        contact_id=contact_id,
        purpose="marketing",
        granted=granted,
        at=T0 + timedelta(minutes=minutes),
        source="hubspot",
        detail="hs_email_optout = true",
        recorded_at=T0 + timedelta(minutes=minutes, seconds=1),
        event_id="5c2b3d4e-0000-4000-8000-000000000001",
    )
    return replace(record, **fields)


def log(into: LeadRepository, *records: ConsentRecord) -> None:
    into.commit(ChangeSet(consents=list(records)))


def test_a_consent_record_round_trips_and_is_appended_once(store: LeadRepository) -> None:
    repo = store
    # Given a withdrawal in a contact's log, and a capture's grant (no event id)
    first = consent("e1:marketing", "c1")
    captured = consent("capture-1:marketing", "c1", granted=True, minutes=5, source="capture", event_id=None)
    log(repo, first, captured)
    # When the same record is logged again, even with other content
    with pytest.raises(ConcurrentUpdate):
        log(repo, replace(first, granted=True))
    # Then the log holds the first copy and the capture's, every field as it was
    key = lambda r: r.record_id  # noqa: E731
    assert sorted(repo.consents(["c1"]), key=key) == sorted([first, captured], key=key)
    assert repo.consents(["c2"]) == []


def test_consent_logs_are_read_across_contacts_and_apart_from_the_engagement_log(store: LeadRepository) -> None:
    repo = store
    records = [consent(f"e{n}:marketing", "a" if n % 2 else "b", minutes=n) for n in range(12)]
    log(repo, *records, consent("x:marketing", "c"))
    save(repo, engagements=(engagement("eng-1", "a"),))
    key = lambda r: (r.contact_id, r.record_id)  # noqa: E731
    assert sorted(repo.consents(["a", "b"]), key=key) == sorted(records, key=key)
    assert [r.event_id for r in repo.engagements(["a"])] == ["eng-1"]


def test_a_consent_record_commits_with_its_contact_or_not_at_all(store: LeadRepository) -> None:
    repo = store
    # Given a stored contact, and a change computed from a stale read of it
    contact = new_contact("c1")
    save(repo, contact, create=True)
    stale = new_contact("c1")
    # When the change (the contact and a withdrawal) is committed
    with pytest.raises(ConcurrentUpdate):
        repo.commit(ChangeSet(contacts={"c1": stale}, consents=[consent("e1:marketing", "c1")]))
    # Then no consent record was written
    assert repo.consents(["c1"]) == []


def test_the_consent_log_sits_in_the_contacts_partition(dynamodb: tuple[DynamoDbLeadRepository, Any]) -> None:
    repo, client = dynamodb
    contact = new_contact("a")
    repo.commit(ChangeSet(contacts={"a": contact}, created={"a"}, consents=[consent("e1:marketing", "a")]))
    save(repo, engagements=(engagement("eng-1", "a"),))
    # Then the record is an item of the contact, named by its record id, beside the log and the profile
    assert _sks(client, "CONTACT#a") == ["CONSENT#e1:marketing", "ENG#eng-1", "PROFILE"]
    item = _item(client, "CONTACT#a", "CONSENT#e1:marketing")
    assert item["entity"] == {"S": "consent"}
    assert item["granted"] == {"BOOL": False}
    assert item["at"] == {"S": "2026-11-25T12:00:00.123456+00:00"}
    # And the history read (MERGE# .. TRANSITION#) does not reach it
    assert repo.history("a").transitions == []
