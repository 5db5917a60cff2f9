"""A person erased while the writer creates their CRM record: the writer reports the new CRM id
(`erased_meanwhile`) for the handler to queue its deletion, whatever else fails in the same batch: a record whose
settle the store fails is retried on its own, and a batch that fails as a whole still hands over what it found."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.crm.erasure import ErasureNotice
from shared.crm.mappings import load_crm_mappings
from shared.crm.ports import ChangeNotice, OutboundWrite, WriteResult
from shared.crm.records import FieldState, SyncedRecord
from shared.crm.writer import CrmWriter, WriteInterrupted
from tests.crm_fakes import FakeCrm, InMemorySyncStore

AT = datetime(2026, 11, 30, 3, 15, tzinfo=UTC)


class FixedClock:
    def now(self) -> datetime:
        return AT


class FailingSettle(InMemorySyncStore):
    """The store fails (DynamoDB throttling) the commit that settles one record's create."""

    def __init__(self, failing: str) -> None:
        super().__init__()
        self.failing = failing

    def commit(self, record: SyncedRecord, *args: Any, **kwargs: Any) -> SyncedRecord:
        if record.key == self.failing and record.copy_in("hubspot").crm_id:
            raise RuntimeError("ProvisionedThroughputExceededException")
        return super().commit(record, *args, **kwargs)


class ErasingCrm(FakeCrm):
    """Lead 1 is erased from the hub while the CRM creates it."""

    store: InMemorySyncStore | None = None
    after: Exception | None = None  # raised by the call after this one

    def write(self, writes: Sequence[OutboundWrite]) -> list[WriteResult]:
        results = super().write(writes)
        assert self.store is not None
        self.store._records.pop("contact:lead-1", None)
        return results


def setup(store: InMemorySyncStore) -> tuple[ErasingCrm, list[ChangeNotice]]:
    for n in (1, 2):
        fields = {"email": FieldState(f"p{n}@example.com", AT, "hub"), "first_name": FieldState("Ana", AT, "hub")}
        store.commit(SyncedRecord("contact", f"lead-{n}", fields))
    crm = ErasingCrm("hubspot")
    crm.store = store
    return crm, [ChangeNotice("hubspot", f"contact:lead-{n}", 1) for n in (1, 2)]


def test_a_record_created_for_an_erased_person_is_reported_though_another_records_settle_fails() -> None:
    # Given two new contacts, the first erased while the CRM creates both, the second's settle failing in the store
    store = FailingSettle("contact:lead-2")
    crm, notices = setup(store)
    # When the writer writes them
    report = CrmWriter(load_crm_mappings(), store, FixedClock()).write(notices, {"hubspot": crm})
    # Then the erased person's new CRM record is reported for deletion, and the other record is retried
    made = {r["email"]: crm_id for crm_id, r in crm.records.items()}
    assert report.erased_meanwhile == [ErasureNotice("hubspot", "contact", str(made["p1@example.com"]))]
    assert [n.record_key for n in report.retry] == ["contact:lead-2"]
    assert report.unsettled
    assert "contact:lead-2" in report.unsettled[0]
    # And its retry, once the store is back, adopts the record its create made (its claim expired or released)
    store.failing = "-"
    report = CrmWriter(load_crm_mappings(), store, FixedClock()).write(notices[1:], {"hubspot": crm})
    assert report.written == {"hubspot": 1}
    assert len([r for r in crm.records.values() if r["email"] == "p2@example.com"]) == 1
    settled = store.record("contact:lead-2")
    assert settled is not None
    assert settled.copy_in("hubspot").crm_id == made["p2@example.com"]


def test_a_batch_that_fails_after_finding_an_erased_persons_record_still_hands_it_over() -> None:
    # Given the same batch, and a Salesforce client that fails unexpectedly after HubSpot's records were written
    store = InMemorySyncStore()
    crm, notices = setup(store)

    class Broken(FakeCrm):
        def write(self, writes: Sequence[OutboundWrite]) -> list[WriteResult]:
            raise KeyError("a bug")

    notices.append(ChangeNotice("salesforce", "contact:lead-2", 1))
    # When the writer writes them
    with pytest.raises(WriteInterrupted) as interrupted:
        CrmWriter(load_crm_mappings(), store, FixedClock()).write(
            notices, {"hubspot": crm, "salesforce": Broken("salesforce")}
        )
    # Then the failure carries the erased person's new CRM record, for the handler to queue its deletion
    assert [n.crm for n in interrupted.value.erased_meanwhile] == ["hubspot"]
    assert isinstance(interrupted.value.__cause__, KeyError)
