"""Committing a change to a synced record that other functions commit to at once: the change is made to the
record as stored and committed at its version; a commit that lost to another reads the record again and
makes the change again."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from shared.crm.ports import Link, StaleRecord
from shared.crm.records import SyncedRecord
from shared.crm.store import SyncStore

ATTEMPTS = 4  # reads and decides again this often when another writer stored the record first


def commit_change(
    store: SyncStore,
    key: str,
    change: Callable[[SyncedRecord], SyncedRecord],
    links: Sequence[Link],
    applied: str | None = None,
) -> SyncedRecord:
    """`change` made to the record stored at `key` and committed with the `links` not stored yet (and `applied`,
    the bus event it decided, recorded with it): the record as committed. StaleRecord: the record is gone, or
    other writers kept storing it first."""
    for attempt in range(ATTEMPTS):
        record = store.record(key)
        if record is None:
            raise StaleRecord(key)
        stored_links = [link for link in links if store.linked(link.crm, link.kind, link.crm_id) != key]
        try:
            return store.commit(change(record), links=stored_links, applied=applied)
        except StaleRecord:
            if attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")
