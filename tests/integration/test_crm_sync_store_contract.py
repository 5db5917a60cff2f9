"""One contract, two CRM sync stores: the DynamoDB adapter (over moto) and the in-memory fake behave alike.

The contract is `shared.crm.store.SyncStore`: a synced record read and stored whole at a version (a write at
any other version is StaleRecord, nothing written: neither the record nor its audit entries, conflicts or
links), the audit trail newest first in pages, conflicts by status newest first, links from CRM records, and
reconciliation checkpoints. Datetimes come back in UTC; None values survive.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from shared.adapters.dynamodb_crm_sync import DynamoDbSyncStore
from shared.catalog import physical_name
from shared.catalog.crm import CRM_SYNC
from shared.crm.audit import AuditEntry, Conflict, ConflictStatus
from shared.crm.ports import Link, StaleRecord
from shared.crm.records import CreateClaim, CrmCopy, FieldState, SyncedRecord
from shared.crm.store import InvalidCursor, SyncStore
from tests.crm_fakes import InMemorySyncStore
from tests.integration.conftest import STAGE, only_table

TABLE = physical_name(STAGE, CRM_SYNC.name)
T0 = datetime(2026, 11, 30, 9, 0, 0, 123456, tzinfo=UTC)
EAST = timezone(timedelta(hours=5, minutes=30))


@pytest.fixture(params=["dynamodb", "in-memory"])
def store(request: pytest.FixtureRequest) -> Iterator[SyncStore]:
    if request.param == "in-memory":
        yield InMemorySyncStore()
        return
    with only_table(CRM_SYNC) as client:
        yield DynamoDbSyncStore(client, TABLE)


def a_record(**fields: str | None) -> SyncedRecord:
    return SyncedRecord(
        "contact",
        "lead-1",
        {name: FieldState(value, T0, "hub", "revops.leads") for name, value in fields.items()},
        {"hubspot": CrmCopy("501", {"email": "ana@example.com"}, {"score": (("10", T0), (None, T0))}, 3)},
        {"owner": "c-1"},
        hub_told=dict(fields),
    )


def entry(field: str, at: datetime, cause: str = "ev-1") -> AuditEntry:
    return AuditEntry(
        "contact:lead-1",
        field,
        "applied",
        "last_modified_wins",
        "hubspot",
        "hubspot:userId:7",
        at,
        at,
        None,
        "x",
        None,
        cause,
    )


def conflict(conflict_id: str, at: datetime, status: ConflictStatus = ConflictStatus.OPEN) -> Conflict:
    return Conflict(
        conflict_id,
        "contact:lead-1",
        "contact",
        "lead-1",
        "email",
        "a@x.io",
        "salesforce",
        at,
        "hubspot",
        "b@x.io",
        at,
        at,
        status,
    )


def test_a_record_comes_back_whole_at_the_next_version(store: SyncStore) -> None:
    # When a new record is committed
    stored = store.commit(a_record(email="ana@example.com", phone=None))
    # Then it is stored at version 1 and reads back equal, None values and UTC times kept
    assert stored.version == 1
    assert store.record("contact:lead-1") == stored
    assert store.records(["contact:lead-1", "contact:nobody"]) == {"contact:lead-1": stored}
    assert stored.fields["phone"].value is None


def test_a_create_claim_comes_back_whole_and_only_one_writer_commits_it(store: SyncStore) -> None:
    # Given a record not in Salesforce yet, read by two writers at version 1
    read = store.commit(SyncedRecord("contact", "lead-2", {"email": FieldState("ana@newco.com", T0, "hub")}))
    # When one commits its claim on creating it (an earlier create's value kept) and the other then commits its own
    copy = CrmCopy().claiming("writer-a", "Email", "ana@oldco.com", T0, T0 + timedelta(seconds=60))
    copy = copy.claiming("writer-a", "Email", "ana@newco.com", T0.astimezone(EAST), T0 + timedelta(seconds=60))
    claimed = store.commit(read.with_copy("salesforce", copy))
    other = CrmCopy().claiming("writer-b", "Email", "ana@newco.com", T0, T0 + timedelta(seconds=60))
    with pytest.raises(StaleRecord):
        store.commit(read.with_copy("salesforce", other))
    # Then the first claim is stored whole, every value sent kept, times in UTC
    stored = store.record("contact:lead-2")
    assert stored == claimed
    assert stored is not None
    assert stored.copy_in("salesforce").creating == CreateClaim(
        "writer-a", "Email", ("ana@oldco.com", "ana@newco.com"), T0, T0 + timedelta(seconds=60)
    )
    assert stored.copy_in("salesforce").crm_id is None
    # And released, it stays with its values; answered with an id, it is gone
    released = store.commit(stored.with_copy("salesforce", stored.copy_in("salesforce").released("writer-a", T0)))
    assert store.record("contact:lead-2") == released
    assert released.copy_in("salesforce").creating == CreateClaim(
        "writer-a", "Email", ("ana@oldco.com", "ana@newco.com"), T0, T0
    )
    answered = released.copy_in("salesforce").wrote({"email": "ana@newco.com"}, 2, "00Q1", {}, T0)
    assert store.commit(released.with_copy("salesforce", answered)).copy_in("salesforce").creating is None


def test_a_commit_at_a_stale_version_writes_nothing(store: SyncStore) -> None:
    # Given a record at version 1
    first = store.commit(a_record(email="ana@example.com"))
    store.commit(first)
    # When a writer that read version 1 commits with an audit entry, a conflict and a link
    with pytest.raises(StaleRecord):
        store.commit(first, [entry("email", T0)], [conflict("c-1", T0)], [Link("hubspot", "contact", "501", first.key)])
    # Then none of them is there
    assert store.audit("contact:lead-1").entries == []
    assert store.conflict("c-1") is None
    assert store.linked("hubspot", "contact", "501") is None
    # And a new record committed over an existing one is stale too
    with pytest.raises(StaleRecord):
        store.commit(a_record(email="x@example.com"))


def test_audit_entries_conflicts_and_links_are_kept_with_their_record(store: SyncStore) -> None:
    # When a record is committed with its audit entries, a conflict and a link
    record = a_record(email="ana@example.com")
    entries = [entry("email", T0), entry("owner", T0 + timedelta(seconds=1), "ev-2")]
    store.commit(record, entries, [conflict("c-1", T0)], [Link("hubspot", "contact", "501", record.key)])
    # Then the trail reads newest first, the conflict by id and by status, the link by CRM id
    assert [e.hub_field for e in store.audit(record.key).entries] == ["owner", "email"]
    assert store.audit(record.key).entries[1] == entries[0]
    assert store.conflict("c-1") == conflict("c-1", T0)
    assert [c.conflict_id for c in store.conflicts(ConflictStatus.OPEN).conflicts] == ["c-1"]
    assert store.conflicts(ConflictStatus.RESOLVED).conflicts == []
    assert store.linked("hubspot", "contact", "501") == record.key


def test_a_resolved_conflict_moves_to_its_status(store: SyncStore) -> None:
    stored = store.commit(a_record(), conflicts=[conflict("c-1", T0), conflict("c-2", T0 + timedelta(minutes=1))])
    store.commit(stored, conflicts=[conflict("c-1", T0, ConflictStatus.RESOLVED)])
    assert [c.conflict_id for c in store.conflicts(ConflictStatus.OPEN).conflicts] == ["c-2"]
    assert [c.conflict_id for c in store.conflicts(ConflictStatus.RESOLVED).conflicts] == ["c-1"]
    assert [c.conflict_id for c in store.conflicts(None).conflicts] == ["c-2", "c-1"]


def test_the_audit_trail_pages_with_a_cursor_until_none_follows(store: SyncStore) -> None:
    # Given five entries
    record = store.commit(a_record())
    for n in range(5):
        record = store.commit(record, [entry(f"f{n}", T0 + timedelta(seconds=n), f"ev-{n}")])
    # When it is read two at a time
    seen: list[str] = []
    cursor: Any = None
    for _ in range(5):
        page = store.audit(record.key, cursor, limit=2)
        seen += [e.hub_field for e in page.entries]
        cursor = page.next_cursor
        if cursor is None:
            break
    # Then every entry comes once, newest first
    assert seen == ["f4", "f3", "f2", "f1", "f0"]
    # And a cursor it did not make is refused, naming the cursor
    with pytest.raises(InvalidCursor, match="cursor"):
        store.audit(record.key, "not-a-cursor")


def test_conflicts_of_every_status_page_with_a_cursor_until_none_follows(store: SyncStore) -> None:
    # Given five conflicts flagged a minute apart, two of them resolved (open and resolved interleaved in time)
    resolved = {"c-1", "c-3"}
    statuses = {f"c-{n}": ConflictStatus.RESOLVED if f"c-{n}" in resolved else ConflictStatus.OPEN for n in range(5)}
    record = store.commit(
        a_record(), conflicts=[conflict(c, T0 + timedelta(minutes=int(c[2:])), s) for c, s in statuses.items()]
    )
    # When every conflict is listed, whatever its status, two at a time, and the newest open one is resolved
    # between the first page and the second
    seen: list[str] = []
    cursor: Any = None
    for n in range(5):
        page = store.conflicts(None, cursor, limit=2)
        seen += [c.conflict_id for c in page.conflicts]
        if n == 0:
            record = store.commit(
                record, conflicts=[conflict("c-4", T0 + timedelta(minutes=4), ConflictStatus.RESOLVED)]
            )
        cursor = page.next_cursor
        if cursor is None:
            break
    # Then every conflict comes once, newest flagged first: a page's cursor yields the next page
    assert seen == ["c-4", "c-3", "c-2", "c-1", "c-0"]
    # And a cursor it did not make is refused, naming the cursor
    with pytest.raises(InvalidCursor, match="cursor"):
        store.conflicts(None, "not-a-cursor")


def test_checkpoints_keep_until_when_a_crm_was_compared(store: SyncStore) -> None:
    assert store.checkpoint("hubspot", "contact") is None
    store.save_checkpoint("hubspot", "contact", T0.astimezone(EAST))
    assert store.checkpoint("hubspot", "contact") == T0
    assert store.checkpoint("salesforce", "contact") is None


def test_an_event_decided_without_a_change_is_marked_at_version_0_once(store: SyncStore) -> None:
    # Given a stored record, and a bus event decided on it that changed nothing
    stored = store.commit(a_record(score="10"))
    # When it is marked as decided, twice (a redelivery racing the first)
    store.mark_decided(stored.key, "ev-same")
    store.mark_decided(stored.key, "ev-same")
    # Then it reads as decided at version 0 (nothing to tell), the record untouched, and another event is not
    assert store.record_and_applied(stored.key, "ev-same") == (stored, 0)
    assert store.applied(stored.key, "ev-same")
    assert store.record_and_applied(stored.key, "ev-other") == (stored, None)
