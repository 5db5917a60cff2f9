"""Bus events decided once, in the `crm-sync` table: the marker `commit(applied=)` records behaves in the DynamoDB
adapter as in the fake, rides in the record's transaction, is read with the record in one call, keeps the audit
trail and its reader clean, and goes with the person when they are erased."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.adapters.dynamodb_crm_sync import DynamoDbSyncStore
from shared.adapters.dynamodb_privacy_crm_sync import CrmSyncPrivacy
from shared.catalog import physical_name
from shared.catalog.crm import CRM_SYNC
from shared.crm.audit import AuditEntry
from shared.crm.ports import StaleRecord
from shared.crm.records import FieldState, SyncedRecord
from shared.crm.store import SyncStore
from shared.privacy.model import Person
from tests.crm_fakes import InMemorySyncStore
from tests.integration.conftest import STAGE, only_table
from tests.integration.dynamodb_doubles import counted_calls

TABLE = physical_name(STAGE, CRM_SYNC.name)
T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
KEY = "contact:lead-1"


@pytest.fixture
def client() -> Iterator[Any]:
    with only_table(CRM_SYNC) as client:
        yield client


@pytest.fixture(params=["dynamodb", "in-memory"])
def store(request: pytest.FixtureRequest) -> SyncStore:
    if request.param == "in-memory":
        return InMemorySyncStore()
    return DynamoDbSyncStore(request.getfixturevalue("client"), TABLE)


def a_record() -> SyncedRecord:
    return SyncedRecord("contact", "lead-1", {"score": FieldState("62.5", T0, "hub", "revops.leads")})


def an_entry(cause: str) -> AuditEntry:
    return AuditEntry(
        KEY, "score", "applied", "last_modified_wins", "hub", "revops.leads", T0, T0, None, "62.5", None, cause
    )


def test_an_event_decided_is_read_with_its_record_and_recorded_once(store: SyncStore) -> None:
    # Given nothing decided yet
    assert store.record_and_applied(KEY, "ev-1") == (None, None)
    # When a record is committed with the event it decided
    stored = store.commit(a_record(), [an_entry("ev-1")], applied="ev-1")
    # Then the event reads as decided on that record, at the version its commit stored, with the record; no
    # other event or record does
    assert store.record_and_applied(KEY, "ev-1") == (stored, stored.version)
    assert store.record_and_applied(KEY, "ev-2") == (stored, None)
    assert store.applied(KEY, "ev-1")
    assert not store.applied("contact:lead-2", "ev-1")
    # And the trail holds the decision's entry only
    assert [e.cause for e in store.audit(KEY).entries] == ["ev-1"]
    # And the same event committed again, even at the record's version, is refused whole
    with pytest.raises(StaleRecord):
        store.commit(stored, [an_entry("ev-1b")], applied="ev-1")
    assert store.record(KEY) == stored
    # And an event with nothing else to write still records it with its record; a later commit keeps the
    # version each event's commit stored
    again = store.commit(stored, applied="ev-3")
    later = store.commit(again)
    assert store.record_and_applied(KEY, "ev-3") == (later, again.version)
    assert store.record_and_applied(KEY, "ev-1") == (later, stored.version)


def test_reading_the_record_and_the_event_is_one_call_and_committing_both_one_transaction(client: Any) -> None:
    store = DynamoDbSyncStore(client, TABLE)
    _, count = counted_calls(client)
    assert count(lambda: store.record_and_applied(KEY, "ev-1")) == ["BatchGetItem"]
    assert count(lambda: store.commit(a_record(), applied="ev-1")) == ["TransactWriteItems"]
    assert count(lambda: store.applied(KEY, "ev-1")) == ["GetItem"]


def test_an_erased_persons_record_leaves_no_marker_behind(client: Any) -> None:
    # Given a synced record of the person with events decided on it
    store = DynamoDbSyncStore(client, TABLE)
    stored = store.commit(a_record(), [an_entry("ev-1")], applied="ev-1")
    store.commit(stored, applied="ev-2")
    # When the person is erased from the sync's table
    CrmSyncPrivacy(client, TABLE).erase(Person("ana@example.com", contact_ids=("lead-1",)))
    # Then the record's partition is gone, markers included
    assert client.scan(TableName=TABLE)["Items"] == []
