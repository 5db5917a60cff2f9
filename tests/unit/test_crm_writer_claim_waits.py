"""A notice blocked by another writer's create claim (`CreateClaim`) waits out the claim's remaining time as a new
message (`WriteReport.claimed`), spending none of the queue's receive count; one blocked too often (a claim that
never clears) is dead-lettered with the reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.adapters.sqs_change_queue import notice_body, notice_of
from shared.crm.mappings import load_crm_mappings
from shared.crm.ports import ChangeNotice
from shared.crm.records import CrmCopy, FieldState, SyncedRecord
from shared.crm.writer import CrmWriter
from tests.crm_fakes import FakeCrm, InMemorySyncStore

AT = datetime(2026, 11, 30, 3, 15, tzinfo=UTC)


class FixedClock:
    def now(self) -> datetime:
        return AT


def claimed_elsewhere(store: InMemorySyncStore, seconds: int) -> None:
    """A new contact another writer is creating in HubSpot: its claim holds `seconds` more."""
    fields = {"email": FieldState("ana@example.com", AT, "hub"), "first_name": FieldState("Ana", AT, "hub")}
    copy = CrmCopy().claiming("other-writer", "email", "ana@example.com", AT, AT + timedelta(seconds=seconds))
    store.commit(SyncedRecord("contact", "lead-1", fields, {"hubspot": copy}))


def test_a_notice_blocked_by_a_claim_comes_back_after_its_remaining_time_without_a_retry() -> None:
    # Given a record whose create another writer claimed 20 s ago (40 s left)
    store = InMemorySyncStore()
    claimed_elsewhere(store, 40)
    crm = FakeCrm("hubspot")
    notice = ChangeNotice("hubspot", "contact:lead-1", 1)
    # When this writer takes a notice of it
    report = CrmWriter(load_crm_mappings(), store, FixedClock()).write([notice], {"hubspot": crm})
    # Then it creates nothing, and the notice waits out the claim as a new message (no receive count spent)
    assert report.retry == []
    assert report.claimed == [(ChangeNotice("hubspot", "contact:lead-1", 1, claimed=1), 40.0)]
    assert crm.records == {}
    assert report.refused == []


def test_a_notice_blocked_by_claims_too_often_is_dead_lettered_with_its_reason() -> None:
    # Given a claim that never clears: the notice came back blocked as often as it may
    from shared.crm.writer import MAX_CLAIM_WAITS

    store = InMemorySyncStore()
    claimed_elsewhere(store, 60)
    notice = ChangeNotice("hubspot", "contact:lead-1", 1, claimed=MAX_CLAIM_WAITS)
    # When it is blocked once more
    report = CrmWriter(load_crm_mappings(), store, FixedClock()).write([notice], {"hubspot": FakeCrm("hubspot")})
    # Then it is refused (dead-lettered at once) with the reason, not retried
    assert report.claimed == []
    assert report.retry == []
    assert [(n, "create claim" in reason) for n, reason in report.refused] == [(notice, True)]


def test_the_claim_count_reads_back() -> None:
    notice = ChangeNotice("salesforce", "contact:lead-1", 3, claimed=4)
    assert notice_of(notice_body(notice)) == notice
