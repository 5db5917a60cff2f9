"""One contract, two health stores: the DynamoDB adapter (over moto) and the in-memory fake behave alike.

The contract is `shared.success.ports.HealthStore`: an account's signal log, the usage reports kept under
their message id, the account's latest health snapshot and the listing of the accounts that have one. Where
its docstrings are silent, these tests pin what both implementations do: datetimes come back in UTC; a signal
is the same signal when its id and its time are (the same id at another time is another signal); `signals`
is strictly after `since`; a reported signal already kept without its message's marker (it came as an event
too) is written before: the answer is the caller's own digest and no marker is left; a health snapshot saved
at any version but the stored one (0: none) is StaleHealth; `tenants` lists each account with a snapshot once,
its cursor None exactly when nothing follows, a cursor it did not make InvalidInput naming `cursor`, a limit
under 1 InvalidInput; a signal over DynamoDB's 400 KB item limit is TooLargeToStore, nothing written.
"""

from __future__ import annotations

import zlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from shared.adapters.dynamodb_success import WRITE_ATTEMPTS, DynamoDbHealthStore, WriteConflict
from shared.adapters.dynamodb_success_items import shard_of
from shared.catalog.success import TENANT_SHARDS
from shared.errors import InvalidInput
from shared.events.success_events import SuccessEvent, SuccessEventType
from shared.leads.ports import TooLargeToStore
from shared.success.interventions import Intervention
from shared.success.model import PlaybookTrigger
from shared.success.ports import HealthStore, StaleHealth, StoredHealth
from shared.success.signals import Signal, SignalKind
from tests.integration import success_store_fixtures as fixtures
from tests.integration.dynamodb_doubles import CancelledTransactions, SmallPages, WithoutItems, counted_calls
from tests.integration.success_store_fixtures import ACME, EAST, TABLE, all_pages, cursor_of, stored_item

# The success store's fixtures: `store` (both stores), `dynamo` (the adapter and its client), `no_backoff`.
success_table, store, dynamo, no_backoff = fixtures.success_table, fixtures.store, fixtures.dynamo, fixtures.no_backoff

T0 = datetime(2026, 11, 20, 15, 30, 0, 123456, tzinfo=UTC)


# ------------------------------------------------------------------------------------------------- builders


def usage(signal_id: str, at: datetime = T0, **values: Any) -> Signal:
    read = values or {"active_users": 12, "licensed_seats": 20, "features": {"reports": 4, "exports": 0}}
    return Signal(signal_id, SignalKind.USAGE, at, read)


def ticket(signal_id: str, at: datetime = T0, priority: str | None = "high") -> Signal:
    return Signal(signal_id, SignalKind.TICKET_OPENED, at, {"ticket_id": f"zendesk:{signal_id}", "priority": priority})


def snapshot(tenant_id: str = ACME, version: int = 0, **changes: Any) -> StoredHealth:
    fields: dict[str, Any] = {
        "tenant_id": tenant_id,
        "as_of": T0,
        "model_version": "health-v1",
        "score_hundredths": 7250,
        "band": "healthy",
        "at_risk": False,
        "version": version,
    }
    return StoredHealth(**{**fields, **changes})


def everything(store: HealthStore, tenant_id: str = ACME) -> list[Signal]:
    return store.signals(tenant_id, datetime(2000, 1, 1, tzinfo=UTC))


def every_tenant(store: HealthStore, limit: int) -> tuple[list[str], list[int]]:
    """Every account the listing gives, page by page, and each page's size."""
    return all_pages(lambda cursor: store.tenants(cursor, limit), lambda page: page.tenant_ids)


# -------------------------------------------------------------------------------------------------- signals


def test_a_signal_is_kept_once(store: HealthStore) -> None:
    # Given a signal kept in the account's log
    signal = usage("evt-1")
    assert store.append_signal(ACME, signal) is True
    # When the same signal (same id, same time) is appended again, even with other values
    again = store.append_signal(ACME, usage("evt-1", active_users=99))
    # Then nothing is written: the log holds it once, as first kept
    assert again is False
    assert everything(store) == [signal]


def test_dropped_signals_leave_the_log_and_absent_ones_are_no_error(store: HealthStore) -> None:
    # Given a log of two signals
    first, second = usage("evt-1"), ticket("evt-2", T0 + timedelta(seconds=1))
    store.append_signal(ACME, first)
    store.append_signal(ACME, second)
    # When the first is dropped, with one never kept
    store.drop_signals(ACME, [first, ticket("never")])
    # Then only the second is left, and the first can be kept again
    assert everything(store) == [second]
    assert store.append_signal(ACME, first) is True


def test_the_same_id_at_another_time_is_another_signal(store: HealthStore) -> None:
    # Given a signal kept
    store.append_signal(ACME, ticket("evt-1"))
    # When a signal of the same id at another time is appended
    later = ticket("evt-1", T0 + timedelta(seconds=1))
    kept = store.append_signal(ACME, later)
    # Then it is kept beside the first
    assert kept is True
    assert everything(store) == [ticket("evt-1"), later]


def test_signals_after_since_oldest_first_with_their_values_exact(store: HealthStore) -> None:
    # Given an account's signals appended out of order: one before `since`, one at it, two at the same later
    # instant, one in another zone, and another account's signal
    since = T0
    values = {
        "active_users": 10**12,
        "licensed_seats": 0,
        "api_calls": None,
        "features": {"reports": 3, "exports": 0, "señal ✓": 7},
        "note": 'café — "quoted" \\ \n text',
    }
    before = ticket("evt-before", since - timedelta(microseconds=1))
    at_since = ticket("evt-at-since", since)
    tie_b = usage("evt-b", since + timedelta(hours=1), **values)
    tie_a = Signal("evt-a", SignalKind.NPS, since + timedelta(hours=1), {"nps": 9})
    zoned = ticket("evt-east", (since + timedelta(minutes=5)).astimezone(EAST), priority=None)
    latest = Signal("evt-last", SignalKind.TOUCH, since + timedelta(days=3), {"kind": "meeting_booked"})
    empty = Signal("evt-empty", SignalKind.PAYMENT_FAILED, since + timedelta(days=2), {})
    for signal in (latest, tie_b, before, zoned, at_since, empty, tie_a):
        assert store.append_signal(ACME, signal) is True
    store.append_signal("acct-other", ticket("evt-elsewhere", since + timedelta(hours=2)))

    # When the account's signals since `since` are read
    found = store.signals(ACME, since)

    # Then only those strictly after it come, oldest first, ties by signal id
    assert [signal.signal_id for signal in found] == ["evt-east", "evt-a", "evt-b", "evt-empty", "evt-last"]
    # And each comes back as it was kept: its kind, its values exactly (big integers, None, the nested features,
    # text), its time in UTC
    assert found == [zoned, tie_a, tie_b, empty, latest]
    assert found[2].values == values
    assert type(found[2].values["active_users"]) is int
    assert found[2].values["features"] == {"reports": 3, "exports": 0, "señal ✓": 7}
    assert found[0].values == {"ticket_id": "zendesk:evt-east", "priority": None}
    assert found[3].values == {}
    assert all(signal.at.tzinfo == UTC for signal in found)
    assert all(isinstance(signal.kind, SignalKind) for signal in found)
    # And a `since` in another zone is the same instant
    assert store.signals(ACME, since.astimezone(EAST)) == found
    assert store.signals("acct-nobody", since) == []


def test_a_signal_too_large_to_store_is_refused_before_writing(store: HealthStore) -> None:
    # Given a signal whose values hold a huge text
    huge = usage("evt-huge", note="x" * 500_000)

    # When it is appended, or reported under a message id
    with pytest.raises(TooLargeToStore) as appended:
        store.append_signal(ACME, huge)
    with pytest.raises(TooLargeToStore):
        store.append_reported(ACME, huge, "msg-huge", "digest-huge")

    # Then the refusal names the signal and the limit, and nothing is written (the message id is still unused)
    assert "evt-huge" in str(appended.value)
    assert "400 KB" in str(appended.value)
    assert everything(store) == []
    assert store.append_reported(ACME, usage("evt-small"), "msg-huge", "digest-small") is None


def test_a_naive_time_is_refused(store: HealthStore) -> None:
    # Given a signal whose time has no zone; When it is appended; Then it is a ValueError, nothing written
    with pytest.raises(ValueError, match="naive"):
        store.append_signal(ACME, usage("evt-naive", datetime(2026, 11, 20, 15, 30)))
    with pytest.raises(ValueError, match="naive"):
        store.signals(ACME, datetime(2026, 11, 20))
    assert everything(store) == []


@pytest.mark.parametrize("value", [T0, float("nan"), {1, 2}])
def test_values_json_cannot_hold_are_refused(store: HealthStore, value: Any) -> None:
    # Given a signal whose values hold something that is not an integer, text, None or a map of them
    odd = usage("evt-odd", odd=value)
    # When it is appended or reported; Then a ValueError naming the signal, nothing written
    with pytest.raises(ValueError, match="signal evt-odd: values are"):
        store.append_signal(ACME, odd)
    with pytest.raises(ValueError, match="signal evt-odd: values are"):
        store.append_reported(ACME, odd, "msg-1", "d1")
    assert everything(store) == []
    assert store.append_reported(ACME, usage("evt-1"), "msg-1", "d2") is None


# ------------------------------------------------------------------------------------------------ reported


def test_a_reported_message_is_kept_once_and_answers_with_its_digest(store: HealthStore) -> None:
    # Given a usage report kept under its message id
    report = usage("evt-report")
    first = store.append_reported(ACME, report, "msg-1", "digest-1")
    assert first is None
    assert everything(store) == [report]

    # When the same message id comes again with the same body
    same = store.append_reported(ACME, report, "msg-1", "digest-1")
    # Then the answer is the stored digest, nothing written
    assert same == "digest-1"
    assert everything(store) == [report]

    # When the same message id comes with another body (another signal)
    other = store.append_reported(ACME, usage("evt-other", T0 + timedelta(hours=1)), "msg-1", "digest-2")
    # Then the answer is still the stored digest, nothing written
    assert other == "digest-1"
    assert everything(store) == [report]


def test_a_message_id_is_the_accounts_own(store: HealthStore) -> None:
    # Given a message id used by one account
    assert store.append_reported(ACME, usage("evt-1"), "msg-1", "digest-1") is None
    # When another account reports under the same message id
    answer = store.append_reported("acct-other", usage("evt-2"), "msg-1", "digest-2")
    # Then it is kept: message ids are per account
    assert answer is None
    assert everything(store, "acct-other") == [usage("evt-2")]


def test_the_marker_is_not_left_when_the_signal_is_kept_already(store: HealthStore) -> None:
    # Given a signal kept from an event, without any message's marker
    signal = usage("evt-1")
    assert store.append_signal(ACME, signal) is True

    # When the same signal (same id and time) is reported under a message id
    answer = store.append_reported(ACME, usage("evt-1", active_users=1), "msg-1", "digest-1")

    # Then it was written before: the answer is the caller's own digest and the log is unchanged
    assert answer == "digest-1"
    assert everything(store) == [signal]
    # And no marker was left: the message id is still unused, a report under it is written
    later = usage("evt-2", T0 + timedelta(hours=1))
    assert store.append_reported(ACME, later, "msg-1", "digest-2") is None
    assert everything(store) == [signal, later]
    assert store.append_reported(ACME, later, "msg-1", "digest-3") == "digest-2"


def test_a_success_plan_and_a_milestones_completion_are_kept_as_said_the_completion_once(store: HealthStore) -> None:
    # Given a success plan (its milestones a list of objects, a sponsor) kept from a handoff's announcement
    plan = Signal(
        "evt-plan",
        SignalKind.SUCCESS_PLAN,
        T0,
        {
            "handoff_id": "h-1",
            "starts_on": "2026-11-20",
            "sponsor_email": "vic@acme.example",
            "milestones": [
                {"milestone_id": "kickoff", "name": "Kickoff", "owner": "csm", "due_on": "2026-11-27"},
                {"milestone_id": "first-value", "name": "First value", "owner": None, "due_on": "2027-01-04"},
            ],
        },
    )
    assert store.append_signal(ACME, plan) is True
    # When a CSM completes the kickoff, then again an hour later (the completion's marker id has blanks)
    done = Signal("milestone:h-1:kickoff", SignalKind.MILESTONE_COMPLETED, T0 + timedelta(days=2), {"m": "kickoff"})
    later = Signal("milestone:h-1:kickoff", SignalKind.MILESTONE_COMPLETED, T0 + timedelta(days=2, hours=1), {})
    first = store.append_reported(ACME, done, "milestone h-1 kickoff", done.signal_id)
    second = store.append_reported(ACME, later, "milestone h-1 kickoff", later.signal_id)
    # Then the plan comes back exactly as kept, and the completion once, at its first time
    assert (first, second) == (None, done.signal_id)
    assert everything(store) == [plan, done]


def test_a_reported_signal_is_kept_as_a_signal(store: HealthStore) -> None:
    # Given a reported signal
    report = usage("evt-1")
    store.append_reported(ACME, report, "msg-1", "digest-1")
    # When the same signal then arrives as an event
    again = store.append_signal(ACME, report)
    # Then it is kept already
    assert again is False
    assert everything(store) == [report]


# -------------------------------------------------------------------------------------------------- health


def test_health_moves_one_version_at_a_time(store: HealthStore) -> None:
    # Given an account without a snapshot
    assert store.health(ACME) is None

    # When one is saved as read at version 0
    first = store.save_health(snapshot(version=0))
    # Then it is stored at version 1, as saved
    assert first == snapshot(version=1)
    assert store.health(ACME) == first

    # When another writer saves as read at version 0 too
    with pytest.raises(StaleHealth, match="exists already"):
        store.save_health(snapshot(version=0, score_hundredths=1))
    # Then nothing changed
    assert store.health(ACME) == first

    # When it is saved as read at version 1
    told: dict[str, Any] = {"at_risk": True, "expansion_ready": True, "renewal_at_risk_told": "2027-02-01"}
    second = store.save_health(snapshot(version=1, score_hundredths=3125, band="at_risk", **told))
    # Then it is stored at version 2, with what was told (a churn risk, an expansion, a renewal at risk)
    assert second == snapshot(version=2, score_hundredths=3125, band="at_risk", **told)
    assert store.health(ACME) == second

    # And saving as read at a version that is not the stored one is stale, nothing written
    for read in (1, 3):
        with pytest.raises(StaleHealth, match="at version 2"):
            store.save_health(snapshot(version=read))
    assert store.health(ACME) == second


def test_a_snapshot_never_stored_is_stale_at_any_other_version(store: HealthStore) -> None:
    # Given no snapshot; When one is saved as read at version 2; Then StaleHealth, nothing written
    with pytest.raises(StaleHealth, match="does not exist"):
        store.save_health(snapshot(version=2))
    assert store.health(ACME) is None
    assert store.tenants().tenant_ids == []


def test_health_without_score_or_band_round_trips(store: HealthStore) -> None:
    # Given a snapshot without a score or a band, its time in another zone
    saved = snapshot(score_hundredths=None, band=None, at_risk=True, as_of=T0.astimezone(EAST), model_version="v2")

    # When it is saved and read back
    stored = store.save_health(saved)
    read = store.health(ACME)

    # Then it is as saved, at version 1, its time in UTC
    assert (
        read
        == stored
        == snapshot(version=1, score_hundredths=None, band=None, at_risk=True, as_of=T0, model_version="v2")
    )
    assert read is not None
    assert read.as_of.tzinfo == UTC
    assert stored.as_of.tzinfo == UTC
    # And a score of 0 is a score (not None)
    zero = store.save_health(snapshot(version=1, score_hundredths=0, band="critical"))
    assert store.health(ACME) == zero
    assert zero.score_hundredths == 0


def test_a_snapshot_keeps_its_outbox_until_it_is_emptied(store: HealthStore) -> None:
    # Given a snapshot saved with what it has to tell: a health change, a churn risk and a playbook to open
    common: dict[str, Any] = {"occurred_at": T0, "tenant_id": ACME, "model_version": "health-v1", "cause": "evt-9"}
    events = tuple(
        SuccessEvent(
            event_id=SuccessEvent.id_for(ACME, "evt-9", kind),
            event_type=kind,
            score=31.25,
            band="red",
            reasons=["turned red"],
            **common,
        )
        for kind in (SuccessEventType.HEALTH_CHANGED, SuccessEventType.CHURN_RISK_DETECTED)
    )
    playbook = Intervention(
        intervention_id="int-1",
        tenant_id=ACME,
        playbook="churn_save",
        trigger=PlaybookTrigger.CHURN_RISK,
        reason="turned red",
        opened_at=T0,
        task_title="Call Acme",
        task_due_at=T0 + timedelta(days=2),
        evaluate_at=T0 + timedelta(days=30),
        score_before=3125,
        band_before="red",
    )
    saved = store.save_health(snapshot(version=0, pending_events=events, pending_interventions=(playbook,)))

    # When it is read back
    read = store.health(ACME)

    # Then its outbox is as saved, events and intervention alike, their times in UTC
    assert read == saved == snapshot(version=1, pending_events=events, pending_interventions=(playbook,))
    assert read is not None
    assert read.pending
    # And once emptied (at the next version) it holds nothing to tell
    emptied = store.save_health(replace(read, pending_events=(), pending_interventions=()))
    assert store.health(ACME) == emptied == snapshot(version=2)
    assert emptied.pending is False


# --------------------------------------------------------------------------------------------- parked logs


def test_a_parked_signal_is_kept_with_its_logs_index_entry(store: HealthStore) -> None:
    # Given no parked log
    assert store.parked().logs == []
    # When a signal is parked under an email, with what its event named
    signal = usage("evt-p1", T0.astimezone(EAST))
    assert store.park_signal("unlinked:jane@acme.io", signal, ["typeform:r1", "jane@acme.io", "typeform:r1"]) is True
    # Then the signal is in the parked log, and the log indexed with the names (once each), its time in UTC
    assert everything(store, "unlinked:jane@acme.io") == [usage("evt-p1")]
    (entry,) = store.parked().logs
    assert (entry.log, entry.names, entry.parked_at) == ("unlinked:jane@acme.io", ("typeform:r1", "jane@acme.io"), T0)
    # And parking the same signal again writes nothing: False, the entry as it was
    assert store.park_signal("unlinked:jane@acme.io", signal, ["other"]) is False
    assert store.parked().logs == [entry]


def test_a_parked_logs_entry_is_removed_only_if_nothing_was_parked_since(store: HealthStore) -> None:
    # Given a parked log listed by the nightly
    store.park_signal("unlinked:jane@acme.io", usage("evt-p1"), ["jane@acme.io"])
    (listed,) = store.parked().logs
    # When another signal is parked in it before the nightly removes the entry
    store.park_signal("unlinked:jane@acme.io", usage("evt-p2", T0 + timedelta(seconds=1)), ["jane@acme.io"])
    # Then the removal is refused (False), the entry stays, with the latest parking
    assert store.unindex_parked(listed) is False
    (now,) = store.parked().logs
    assert (now.parked_at, now.mark != listed.mark) == (T0 + timedelta(seconds=1), True)
    # And removed as listed now, it is gone; the log itself untouched
    assert store.unindex_parked(now) is True
    assert store.parked().logs == []
    assert [s.signal_id for s in everything(store, "unlinked:jane@acme.io")] == ["evt-p1", "evt-p2"]
    assert store.unindex_parked(now) is False


def test_parked_logs_are_paged_in_log_order_with_the_adapters_cursor(store: HealthStore) -> None:
    # Given five parked logs
    logs = [f"unlinked:p{n}@acme.io" for n in (3, 1, 4, 0, 2)]
    for log in logs:
        store.park_signal(log, usage("evt-" + log), [log.removeprefix("unlinked:")])
    # When they are listed two at a time
    found, sizes = all_pages(lambda cursor: store.parked(cursor, 2), lambda page: [e.log for e in page.logs])
    # Then each comes once, in log order, the last page's cursor None
    assert (found, sizes) == (sorted(logs), [2, 2, 1])
    # And a cursor the listing did not make, or a limit under 1, is InvalidInput
    with pytest.raises(InvalidInput, match="cursor"):
        store.parked(cursor_of({"after": "x"}))
    with pytest.raises(InvalidInput, match="limit"):
        store.parked(limit=0)


# ------------------------------------------------------------------------------------------------- tenants


def test_tenants_pages_through_every_account_with_a_snapshot_once(store: HealthStore) -> None:
    # Given 25 accounts with a snapshot (across the shards) and some with signals only
    accounts = [f"acct-{n:03d}" for n in range(25)]
    for account in accounts:
        store.save_health(snapshot(account))
    store.save_health(snapshot(accounts[0], version=1))  # a second version is still one account
    for n in range(3):
        store.append_signal(f"acct-silent-{n}", usage("evt-1"))
    assert len({shard_of(account) for account in accounts}) > 1

    # When they are listed 10 at a time
    found, sizes = every_tenant(store, 10)

    # Then every account with a snapshot comes exactly once, in pages of 10, 10 and 5, the last without a cursor
    assert sorted(found) == accounts
    assert sizes == [10, 10, 5]
    # And in the listing's order: shard by shard, each in tenant id order
    assert found == sorted(accounts, key=lambda account: (shard_of(account), account))
    # And pages that end exactly with the last account have no cursor
    assert every_tenant(store, 25) == (found, [25])
    assert every_tenant(store, 5)[1] == [5, 5, 5, 5, 5]
    assert every_tenant(store, 1)[0] == found


def test_tenants_of_an_empty_store(store: HealthStore) -> None:
    # Given no snapshot; When accounts are listed; Then none, no cursor
    page = store.tenants()
    assert page.tenant_ids == []
    assert page.next_cursor is None


@pytest.mark.parametrize(
    "cursor",
    [
        *fixtures.GARBLED_CURSORS,
        cursor_of({"shard": "0", "after": "acct-000"}),
        cursor_of({"shard": 0, "after": ""}),
        cursor_of({"shard": True, "after": "acct-000"}),
        cursor_of({"shard": (shard_of("acct-000") + 1) % TENANT_SHARDS, "after": "acct-000"}),
        cursor_of({"shard": shard_of("acct-000") + TENANT_SHARDS, "after": "acct-000"}),
    ],
)
def test_a_garbled_cursor_is_invalid_input(store: HealthStore, cursor: str) -> None:
    # Given accounts with a snapshot
    store.save_health(snapshot("acct-000"))
    # When the listing is asked to continue from a cursor it did not make; Then InvalidInput naming the cursor
    with pytest.raises(InvalidInput, match="cursor"):
        store.tenants(cursor, 10)


@pytest.mark.parametrize("limit", [0, -1])
def test_a_limit_under_one_is_invalid_input(store: HealthStore, limit: int) -> None:
    with pytest.raises(InvalidInput, match="limit"):
        store.tenants(None, limit)


# ------------------------------------------------------------------------------------------ filed signals


def test_a_signal_filed_under_one_account_is_filed_nowhere_else(store: HealthStore) -> None:
    # Given an event's signal filed under an account: kept in its log with its claim
    signal = ticket("evt-f1", T0.astimezone(EAST))
    assert store.filed_under(signal) is None
    assert store.file_signal(ACME, signal) is None
    assert everything(store) == [ticket("evt-f1")]
    assert store.filed_under(signal) == ACME
    # When the same signal (same id and time) is filed under another account, even with other values
    again = store.file_signal("acct-other", ticket("evt-f1", priority="low"))
    # Then nothing is written: the answer is the account it was filed under
    assert again == ACME
    assert everything(store, "acct-other") == []
    assert everything(store) == [ticket("evt-f1")]
    # And filed again under its own account, the same answer, nothing written
    assert store.file_signal(ACME, signal) == ACME
    assert everything(store) == [ticket("evt-f1")]


def test_a_filed_signals_id_at_another_time_is_another_signal(store: HealthStore) -> None:
    # Given a signal filed under an account
    store.file_signal(ACME, ticket("evt-f1"))
    # When the same id at another time is filed under another account
    later = ticket("evt-f1", T0 + timedelta(seconds=1))
    assert store.filed_under(later) is None
    # Then it is filed there
    assert store.file_signal("acct-other", later) is None
    assert everything(store, "acct-other") == [later]
    assert store.filed_under(later) == "acct-other"


def test_a_signal_kept_before_without_its_claim_is_not_claimed_by_filing_it(store: HealthStore) -> None:
    # Given a signal kept in an account's log without a claim (kept before claims were written)
    signal = ticket("evt-f1")
    assert store.append_signal(ACME, signal) is True
    # When it is filed under the same account
    answer = store.file_signal(ACME, signal)
    # Then it was filed there before: nothing is written, no claim either
    assert answer == ACME
    assert everything(store) == [signal]
    assert store.filed_under(signal) is None


# ------------------------------------------------------------------------------------------ DynamoDB only


def test_item_layout(dynamo: tuple[DynamoDbHealthStore, Any]) -> None:
    repo, client = dynamo
    # A signal: its time fixed width in UTC, its values compact JSON text
    repo.append_signal(ACME, usage("evt-1", T0.astimezone(EAST), active_users=3, features={}))
    sk = "SIGNAL#2026-11-20T15:30:00.123456+00:00#evt-1"
    assert stored_item(client, "TENANT#acct-acme", sk) == {
        "pk": {"S": "TENANT#acct-acme"},
        "sk": {"S": sk},
        "signal_id": {"S": "evt-1"},
        "kind": {"S": "usage"},
        "at": {"S": "2026-11-20T15:30:00.123456+00:00"},
        "values": {"S": '{"active_users":3,"features":{}}'},
    }
    # A reported message's marker
    repo.append_reported(ACME, ticket("evt-2"), "msg-1", "d1")
    assert stored_item(client, "TENANT#acct-acme", "MESSAGE#msg-1") == {
        "pk": {"S": "TENANT#acct-acme"},
        "sk": {"S": "MESSAGE#msg-1"},
        "digest": {"S": "d1"},
        "signal_sk": {"S": "SIGNAL#2026-11-20T15:30:00.123456+00:00#evt-2"},
    }
    # The health snapshot, in its shard of the index; no score nor band attribute for None
    repo.save_health(snapshot(score_hundredths=None, band=None))
    assert stored_item(client, "TENANT#acct-acme", "HEALTH") == {
        "pk": {"S": "TENANT#acct-acme"},
        "sk": {"S": "HEALTH"},
        "tenant_id": {"S": ACME},
        "tenant_shard": {"S": f"SHARD#{shard_of(ACME)}"},
        "as_of": {"S": "2026-11-20T15:30:00.123456+00:00"},
        "model_version": {"S": "health-v1"},
        "at_risk": {"BOOL": False},
        "expansion_ready": {"BOOL": False},
        "version": {"N": "1"},
    }
    repo.save_health(snapshot(version=1))
    stored = stored_item(client, "TENANT#acct-acme", "HEALTH")
    assert stored["score_hundredths"] == {"N": "7250"}
    assert stored["band"] == {"S": "healthy"}
    # The shard is CRC-32 of the tenant id: stable wherever it is computed
    assert shard_of("acct-acme") == zlib.crc32(b"acct-acme") % 8 == 1
    assert {shard_of(f"acct-{n}") for n in range(200)} == set(range(TENANT_SHARDS))


def test_aws_calls_per_method(dynamo: tuple[DynamoDbHealthStore, Any]) -> None:
    repo, client = dynamo
    _, count = counted_calls(client)
    assert count(lambda: repo.append_signal(ACME, usage("evt-1"))) == ["PutItem"]
    assert count(lambda: repo.append_signal(ACME, usage("evt-1"))) == ["PutItem"]
    assert count(lambda: repo.append_reported(ACME, usage("evt-2"), "m", "d")) == ["TransactWriteItems"]
    # the stored digest comes with the cancellation: no read after it
    assert count(lambda: repo.append_reported(ACME, usage("evt-2"), "m", "d")) == ["TransactWriteItems"]
    assert count(lambda: repo.signals(ACME, T0 - timedelta(days=1))) == ["Query"]
    assert count(lambda: repo.save_health(snapshot())) == ["PutItem"]
    assert count(lambda: repo.health(ACME)) == ["GetItem"]
    with pytest.raises(TooLargeToStore):
        count(lambda: repo.append_signal(ACME, usage("evt-3", note="x" * 500_000)))
    assert count(lambda: everything(repo)) == ["Query"]
    # one query per shard, up to the page and one account more
    assert count(lambda: repo.tenants()) == ["Query"] * TENANT_SHARDS


def test_reads_follow_every_page_dynamodb_returns(dynamo: tuple[DynamoDbHealthStore, Any]) -> None:
    repo, client = dynamo
    for n in range(9):
        repo.append_signal(ACME, ticket(f"evt-{n}", T0 + timedelta(minutes=n)))
    accounts = [f"acct-{n:03d}" for n in range(25)]
    for account in accounts:
        repo.save_health(snapshot(account))
    paged = SmallPages(client)
    small = DynamoDbHealthStore(paged, TABLE)
    assert small.signals(ACME, T0) == repo.signals(ACME, T0)
    assert len(repo.signals(ACME, T0)) == 8
    assert every_tenant(small, 10) == every_tenant(repo, 10)
    assert sorted(every_tenant(small, 10)[0]) == accounts
    assert paged.queries > 2 * TENANT_SHARDS


def test_a_transaction_conflict_is_tried_again(dynamo: tuple[DynamoDbHealthStore, Any], no_backoff: None) -> None:
    repo, client = dynamo
    # Given conflicts fewer times than the attempts; When reported; Then written
    flaky = CancelledTransactions(client, "TransactionConflict", WRITE_ATTEMPTS - 1)
    assert DynamoDbHealthStore(flaky, TABLE).append_reported(ACME, usage("evt-1"), "msg-1", "d1") is None
    assert flaky.times == 0
    assert everything(repo) == [usage("evt-1")]
    # Given conflicts every time; When reported; Then WriteConflict, nothing written
    always = CancelledTransactions(client, "TransactionConflict", WRITE_ATTEMPTS)
    with pytest.raises(WriteConflict, match=r"is being written by another transaction \(4 attempts\)"):
        DynamoDbHealthStore(always, TABLE).append_reported(ACME, usage("evt-2", T0 + timedelta(1)), "msg-2", "d2")
    assert everything(repo) == [usage("evt-1")]
    assert repo.append_reported(ACME, usage("evt-2", T0 + timedelta(1)), "msg-2", "d3") is None


@pytest.mark.parametrize("code", ["ValidationError", "ThrottlingError"])
def test_other_cancellations_propagate(dynamo: tuple[DynamoDbHealthStore, Any], code: str) -> None:
    _, client = dynamo
    repo = DynamoDbHealthStore(CancelledTransactions(client, code, 1), TABLE)
    with pytest.raises(ClientError, match="TransactionCanceledException"):
        repo.append_reported(ACME, usage("evt-1"), "msg-1", "d1")


def test_a_marker_without_its_item_in_the_cancellation_is_read(dynamo: tuple[DynamoDbHealthStore, Any]) -> None:
    # Given a message kept, and a client whose cancellations carry no item (as without ALL_OLD)
    repo, client = dynamo
    repo.append_reported(ACME, usage("evt-1"), "msg-1", "d1")
    bare = WithoutItems(client)
    _, count = counted_calls(client)
    # When the same message is reported again; Then the stored digest is read (strongly consistent GetItem)
    assert count(lambda: DynamoDbHealthStore(bare, TABLE).append_reported(ACME, usage("evt-1"), "msg-1", "d2")) == [
        "TransactWriteItems",
        "GetItem",
    ]
    assert DynamoDbHealthStore(bare, TABLE).append_reported(ACME, usage("evt-1"), "msg-1", "d2") == "d1"


def test_a_filed_signals_claim_layout_and_calls(dynamo: tuple[DynamoDbHealthStore, Any]) -> None:
    repo, client = dynamo
    _, count = counted_calls(client)
    # Filing is one transaction (the signal and its claim), its answer when claimed from the cancellation
    assert count(lambda: repo.file_signal(ACME, ticket("evt-f1", T0.astimezone(EAST)))) == ["TransactWriteItems"]
    assert count(lambda: repo.file_signal("acct-other", ticket("evt-f1"))) == ["TransactWriteItems"]
    # Whether it was filed is one GetItem, wherever it was
    assert count(lambda: repo.filed_under(ticket("evt-f1"))) == ["GetItem"]
    # The claim: in the signal's own partition, its time as the signal's sort key writes it, and the account
    assert stored_item(client, "FILED#evt-f1", "2026-11-20T15:30:00.123456+00:00") == {
        "pk": {"S": "FILED#evt-f1"},
        "sk": {"S": "2026-11-20T15:30:00.123456+00:00"},
        "log": {"S": ACME},
    }


def test_a_claim_without_its_item_in_the_cancellation_is_read(dynamo: tuple[DynamoDbHealthStore, Any]) -> None:
    # Given a signal filed, and a client whose cancellations carry no item (as without ALL_OLD)
    repo, client = dynamo
    repo.file_signal(ACME, ticket("evt-f1"))
    bare = WithoutItems(client)
    _, count = counted_calls(client)
    # When it is filed under another account; Then the claim is read (strongly consistent GetItem)
    assert count(lambda: DynamoDbHealthStore(bare, TABLE).file_signal("acct-other", ticket("evt-f1"))) == [
        "TransactWriteItems",
        "GetItem",
    ]
    assert DynamoDbHealthStore(bare, TABLE).file_signal("acct-other", ticket("evt-f1")) == ACME
