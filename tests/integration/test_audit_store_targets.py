"""A record reads the same whichever of its targets found it, items stored before that included; a search by an
email finds the records kept under its older (lower-cased) digest too."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest

from shared.adapters.dynamodb_audit import DynamoDbAuditStore, _items
from shared.adapters.dynamodb_items import serialize
from shared.audit.ports import AuditStore
from shared.audit.privacy import email_digest, legacy_email_digest
from shared.audit.query import AuditQuery
from shared.audit.record import Target
from shared.catalog.audit import AUDIT
from tests.audit_fakes import InMemoryAuditStore
from tests.integration.conftest import only_table
from tests.integration.test_audit_store_contract import TABLE, WIDE, record

RETENTION = timedelta(days=400)


@pytest.fixture(params=["dynamodb", "in-memory"])
def store(request: pytest.FixtureRequest) -> Iterator[AuditStore]:
    if request.param == "in-memory":
        yield InMemoryAuditStore()
        return
    with only_table(AUDIT) as client:
        yield DynamoDbAuditStore(client, TABLE, RETENTION)


def test_a_record_found_by_any_of_its_targets_lists_them_all(store: AuditStore) -> None:
    written = replace(record(1, "L-1", "L-2", "L-3"), targets_omitted=4)
    store.append(written)
    for target in ("L-1", "L-2", "L-3"):
        [(found, under)] = store.search(AuditQuery(**WIDE, target=target)).records  # type: ignore[arg-type]
        assert (found, under) == (written, target)


def test_a_further_targets_item_stored_before_items_held_all_targets_still_reads_the_whole_record() -> None:
    with only_table(AUDIT) as client:
        written = replace(record(1, "L-1", "L-2", "L-3"), targets_omitted=2)
        # Given a record stored as the store wrote records before: further targets' items without `targets`
        for item in _items(written, RETENTION):
            if "#TARGET#" in item["sk"]:
                item = {k: v for k, v in item.items() if k not in ("targets", "targets_omitted")}
            client.put_item(TableName=TABLE, Item=serialize(item))
        store = DynamoDbAuditStore(client, TABLE, RETENTION)
        # When it is found by a further target, Then it reads whole
        [(found, under)] = store.search(AuditQuery(**WIDE, target="L-3")).records  # type: ignore[arg-type]
        assert (found, under) == (written, "L-3")


def test_a_search_by_email_finds_records_under_the_older_digest_too_in_pages(store: AuditStore) -> None:
    # Given exports recorded under the lower-cased digest (before) and under the case-folded one (now)
    email = "Straße@beispiel.de"
    old, new = legacy_email_digest(email), email_digest(email)
    assert old != new
    for n, digest in enumerate((old, new, old, new), start=1):
        store.append(replace(record(n), targets=(Target("email", digest),), route="GET /api/v1/privacy/export"))
    # When the trail is searched by the email, a page of one at a time
    seen: list[tuple[str, str | None]] = []
    before = None
    while True:
        page = store.search(AuditQuery(**WIDE, target=email, limit=1, before=before))  # type: ignore[arg-type]
        seen += [(r.request_id, under) for r, under in page.records]
        if page.next_position is None:
            break
        before = page.next_position
    # Then every one is found once, newest first, under the digest it is kept as
    assert seen == [("req-004", new), ("req-003", old), ("req-002", new), ("req-001", old)]
