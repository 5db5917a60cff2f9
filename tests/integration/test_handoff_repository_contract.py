"""One contract, two handoff repositories: the DynamoDB adapter (over moto) and the in-memory fake behave alike.

The contract is `shared.handoffs.ports.HandoffRepository`. Where its docstrings are silent, these tests pin
what both implementations do: a `RELEASE` of a lead held by another handoff (or by none) leaves the lock as
it is and is no conflict; listings are newest first by requested_at, ties by handoff id descending, and
without a status or rep list every handoff; `requested_between` is oldest first; details come back as
DynamoDB keeps JSON (lists, and numbers as int when whole, else Decimal).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.adapters.dynamodb_handoffs import DynamoDbHandoffRepository
from shared.catalog import physical_name
from shared.catalog.handoffs import HANDOFFS
from shared.errors import InvalidInput, TooLarge
from shared.handoffs.model import (
    EntryState,
    FirstTouch,
    Handoff,
    HandoffKind,
    HandoffStatus,
    HistoryEntry,
    Priority,
    RepLoad,
    Skip,
    SkipReason,
    SlaKind,
    TouchChannel,
)
from shared.handoffs.ports import HandoffChange, HandoffConflict, HandoffRepository, LeadLock, RepDelta
from tests.handoff_fakes import InMemoryHandoffRepository
from tests.integration.conftest import STAGE, only_table
from tests.integration.dynamodb_doubles import SmallPages, counted_calls

T0 = datetime(2026, 11, 25, 12, 0, 0, 123456, tzinfo=UTC)
TABLE = physical_name(STAGE, HANDOFFS.name)
REQUESTED, QUEUED, ASSIGNED = HandoffStatus.REQUESTED, HandoffStatus.QUEUED, HandoffStatus.ASSIGNED
ACCEPTED, COMPLETED = HandoffStatus.ACCEPTED, HandoffStatus.COMPLETED
STANDARD, PRIORITY, IMMEDIATE = Priority.STANDARD, Priority.PRIORITY, Priority.IMMEDIATE


@pytest.fixture
def handoffs_table() -> Iterator[Any]:
    with only_table(HANDOFFS) as client:
        yield client


@pytest.fixture(params=["dynamodb", "in-memory"])
def repo(request: pytest.FixtureRequest) -> Iterator[HandoffRepository]:
    if request.param == "in-memory":
        yield InMemoryHandoffRepository()
        return
    yield DynamoDbHandoffRepository(request.getfixturevalue("handoffs_table"), TABLE)


@pytest.fixture
def dynamo(handoffs_table: Any) -> tuple[DynamoDbHandoffRepository, Any]:
    return DynamoDbHandoffRepository(handoffs_table, TABLE), handoffs_table


def new(
    handoff_id: str,
    lead_id: str | None = None,
    *,
    at: datetime = T0,
    status: HandoffStatus = REQUESTED,
    rep_id: str | None = None,
    priority: Priority = STANDARD,
) -> Handoff:
    """A handoff as first stored (version 1)."""
    return Handoff(
        handoff_id=handoff_id,
        lead_id=lead_id or f"lead-{handoff_id}",
        kind=HandoffKind.LEAD,
        priority=priority,
        status=status,
        team="emea-sales",
        requested_at=at,
        rep_id=rep_id,
        history=(HistoryEntry(at, status, "hub", "lead.handoff_requested", rep_id),),
        version=1,
    )


def then(handoff: Handoff, **changes: Any) -> Handoff:
    """The handoff's next version."""
    return replace(handoff, version=handoff.version + 1, **changes)


def commit(repo: HandoffRepository, handoff: Handoff, lock: LeadLock | None = None, *reps: RepDelta) -> None:
    repo.commit(HandoffChange(handoff, lock, tuple(reps)))


def refused(repo: HandoffRepository, handoff: Handoff, lock: LeadLock | None = None, *reps: RepDelta) -> str:
    """Commit, expecting a conflict; its message."""
    with pytest.raises(HandoffConflict) as conflict:
        commit(repo, handoff, lock, *reps)
    return str(conflict.value)


def stored(repo: HandoffRepository, handoff_id: str) -> Handoff:
    found = repo.handoff(handoff_id)
    assert found is not None
    return found


def load(repo: HandoffRepository, rep_id: str) -> RepLoad:
    return repo.rep_loads().get(rep_id, RepLoad(rep_id))


def ids(handoffs: list[Handoff] | Iterator[Handoff]) -> list[str]:
    return [h.handoff_id for h in handoffs]


# ------------------------------------------------------------------------------------------------ round trip

_zones = st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))])
moments = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=_zones)
words = st.text(min_size=1, max_size=16)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**30), 10**30)
    | st.decimals(min_value=-(10**12), max_value=10**12, places=6, allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(min_size=1, max_size=8), inner, max_size=4),
    max_leaves=12,
)
entry_states = st.builds(
    EntryState,
    team=st.text(max_size=16),
    priority=st.sampled_from(Priority),
    queue=st.none() | words,
    rule_id=st.none() | words,
    sla_due_at=st.none() | moments,
    first_touch_due_at=st.none() | moments,
)
history_entries = st.builds(
    HistoryEntry,
    at=moments,
    status=st.sampled_from(HandoffStatus),
    actor=words,
    cause=st.text(max_size=40),
    rep_id=st.none() | words,
    event=st.none() | words,
    previous_rep_id=st.none() | words,
    sla=st.none() | st.sampled_from(SlaKind),
    state=st.none() | entry_states,
    cause_event_id=st.none() | words,
)
first_touches = st.builds(
    FirstTouch,
    at=moments,
    channel=st.sampled_from(TouchChannel),
    actor=words,
    rep_id=st.none() | words,
    note=st.none() | st.text(max_size=40),
)


def test_every_history_field_is_drawn() -> None:
    """A field added to HistoryEntry and not drawn above would go untested by the round trip (it once was)."""
    from dataclasses import fields

    assert {f.name for f in fields(HistoryEntry)} == {
        "at", "status", "actor", "cause", "rep_id", "event", "previous_rep_id", "sla", "state", "cause_event_id"
    }  # fmt: skip
    assert {f.name for f in fields(EntryState)} == {
        "team", "priority", "queue", "rule_id", "sla_due_at", "first_touch_due_at"
    }  # fmt: skip
    assert {f.name for f in fields(FirstTouch)} == {"at", "channel", "actor", "rep_id", "note"}


_drawn_fields: dict[str, st.SearchStrategy[Any]] = {
    "handoff_id": words,
    "lead_id": words,
    "kind": st.sampled_from(HandoffKind),
    "priority": st.sampled_from(Priority),
    "status": st.sampled_from(HandoffStatus),
    "team": words,
    "requested_at": moments,
    "rep_id": st.none() | words,
    "queue": st.none() | words,
    "rule_id": st.none() | words,
    "strategy": st.none() | words,
    "assigned_at": st.none() | moments,
    "accepted_at": st.none() | moments,
    "sla_due_at": st.none() | moments,
    "first_touch_due_at": st.none() | moments,
    "first_touch": st.none() | first_touches,
    "reassignments": st.integers(0, 10**6),
    "excluded_reps": st.lists(words, max_size=3).map(tuple),
    "skips": st.lists(st.builds(Skip, words, st.sampled_from(SkipReason)), max_size=4).map(tuple),
    "history": st.lists(history_entries, max_size=5).map(tuple),
    "cause_event_id": st.none() | words,
    "customer_id": st.none() | words,
    "details": st.dictionaries(st.text(min_size=1, max_size=12), json_values, max_size=5),
    "announced": st.integers(0, 10**6),
    "version": st.just(1),
}
drawn_handoffs = st.builds(Handoff, **_drawn_fields)


def test_the_round_trip_draws_every_field_of_a_handoff() -> None:
    # A field added to Handoff and not drawn below would round-trip as its default only, stored or not.
    assert set(_drawn_fields) == {field.name for field in fields(Handoff)}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=drawn_handoffs)
def test_a_handoff_round_trips_every_field(repo: HandoffRepository, drawn: Handoff) -> None:
    # Given any handoff: unicode, every enum, optional fields or not, history, skips, nested JSON details
    handoff = replace(drawn, handoff_id=f"{drawn.handoff_id}-{uuid.uuid4().hex}")
    # When it is stored and read back
    commit(repo, handoff)
    # Then it is equal field for field
    assert stored(repo, handoff.handoff_id) == handoff
    assert repo.handoff(f"missing-{uuid.uuid4().hex}") is None


def test_datetimes_come_back_as_the_same_instant_and_details_as_dynamodb_keeps_json(repo: HandoffRepository) -> None:
    # Given a handoff requested at an offset time, with details of every JSON kind, floats and tuples included
    at = datetime(2026, 3, 29, 1, 59, 59, 999999, tzinfo=timezone(timedelta(hours=2)))
    details = {
        "stakeholders": [{"name": "Zoë", "role": "CFO", "primary": True}],
        "goals": ("expand to 日本", None),
        "seats": 250,
        "arr": 12.34,
        "ratio": 2.0,
        "discount": Decimal("0.150"),
        "big": 2**70,
    }
    commit(repo, replace(new("h1", at=at), details=details, sla_due_at=at + timedelta(hours=4)))
    # When it is read back
    back = stored(repo, "h1")
    # Then its instants are equal and aware, in UTC
    assert back.requested_at == at
    assert back.requested_at.tzinfo is UTC
    assert back.sla_due_at == at + timedelta(hours=4)
    assert back.history[0].at == at
    # And its details are what DynamoDB keeps: lists for sequences, whole numbers as int, others as Decimal
    assert back.details == {
        "stakeholders": [{"name": "Zoë", "role": "CFO", "primary": True}],
        "goals": ["expand to 日本", None],
        "seats": 250,
        "arr": Decimal("12.34"),
        "ratio": 2,
        "discount": Decimal("0.15"),
        "big": 2**70,
    }
    assert [type(back.details[name]) for name in ("seats", "arr", "ratio", "big")] == [int, Decimal, int, int]


@pytest.mark.parametrize("value", [float("nan"), float("inf"), datetime(2026, 1, 1, tzinfo=UTC), {1: "x"}, {"s"}])
def test_details_that_are_not_json_are_refused_before_anything_is_written(repo: HandoffRepository, value: Any) -> None:
    with pytest.raises(ValueError, match=r"details\.bad"):
        commit(repo, replace(new("h1"), details={"bad": value}), LeadLock.CLAIM)
    assert repo.handoff("h1") is None
    assert repo.open_handoff_of("lead-h1") is None


def test_naive_datetimes_are_refused(repo: HandoffRepository) -> None:
    with pytest.raises(ValueError, match="naive"):
        commit(repo, new("h1", at=datetime(2026, 1, 1)))
    assert repo.handoff("h1") is None
    with pytest.raises(ValueError, match="naive"):
        repo.requested_between(datetime(2026, 1, 1), T0)


# ---------------------------------------------------------------------------------------------- versions


def test_each_write_is_conditioned_on_the_version_before_it(repo: HandoffRepository) -> None:
    # Given a handoff stored at version 1, then moved to version 2
    v1 = new("h1")
    commit(repo, v1)
    v2 = then(v1, status=ASSIGNED, rep_id="r1", assigned_at=T0 + timedelta(minutes=1))
    commit(repo, v2)
    assert stored(repo, "h1") == v2
    # When someone who read version 1 writes their version 2, or a version 4 is written after version 2
    stale = refused(repo, then(v1, status=QUEUED, queue="fallback"))
    skipping = refused(repo, replace(v2, version=4, status=ACCEPTED))
    # Then both are refused, saying why, and the stored handoff is still version 2
    assert stale == "handoff h1 is at version 2, not 1 as read"
    assert skipping == "handoff h1 is at version 2, not 3 as read"
    assert stored(repo, "h1") == v2


def test_a_handoff_is_created_once_and_never_updated_into_existence(repo: HandoffRepository) -> None:
    # Given a stored handoff
    commit(repo, new("h1"))
    # When another creation of the same id is committed, or a version 2 of one never stored
    twice = refused(repo, replace(new("h1"), team="other"))
    ghost = refused(repo, then(new("h2")))
    # Then both are refused and nothing changed
    assert twice == "handoff h1 exists already (version 1)"
    assert ghost == "handoff h2 does not exist (it was read at version 1)"
    assert stored(repo, "h1").team == "emea-sales"
    assert repo.handoff("h2") is None


@pytest.mark.parametrize("version", [0, -1])
def test_a_stored_version_is_one_or_more(repo: HandoffRepository, version: int) -> None:
    with pytest.raises(ValueError, match="1 or more"):
        commit(repo, replace(new("h1"), version=version))


# -------------------------------------------------------------------------------------------- lead locks


def test_a_lead_is_held_by_one_open_handoff_at_a_time(repo: HandoffRepository) -> None:
    # Given handoff h1 claimed lead L
    h1 = new("h1", "L")
    commit(repo, h1, LeadLock.CLAIM)
    assert repo.open_handoff_of("L") == "h1"
    # When h1 claims it again with its next version (idempotent) and h2 tries to claim it
    h1 = then(h1, status=ASSIGNED, rep_id="r1")
    commit(repo, h1, LeadLock.CLAIM)
    message = refused(repo, new("h2", "L"), LeadLock.CLAIM)
    # Then h1 still holds it and h2 was not written at all
    assert message == "lead L is held by open handoff h1"
    assert repo.open_handoff_of("L") == "h1"
    assert repo.handoff("h2") is None
    # And once h1 releases it, h2 can claim it
    commit(repo, then(h1, status=COMPLETED), LeadLock.RELEASE)
    assert repo.open_handoff_of("L") is None
    commit(repo, new("h2", "L"), LeadLock.CLAIM)
    assert repo.open_handoff_of("L") == "h2"
    assert repo.open_handoff_of("other") is None


def test_an_onboarding_is_remembered_with_its_change_and_the_latest_one_wins(repo: HandoffRepository) -> None:
    # Given customer C's handoff h1, never accepted
    h1 = new("h1", "customer:C")
    commit(repo, h1, LeadLock.CLAIM)
    assert repo.onboarded_by("customer:C") is None
    # When a change of h1 onboarding C is refused (a stale version), and then one is committed
    with pytest.raises(HandoffConflict):
        repo.commit(HandoffChange(replace(h1, version=5, status=ACCEPTED), onboarded=True))
    assert repo.onboarded_by("customer:C") is None
    h1 = then(h1, status=ACCEPTED, rep_id="r1")
    repo.commit(HandoffChange(h1, onboarded=True))
    # Then C is onboarded by h1, no one else is, and a later onboarding of C takes its place
    assert repo.onboarded_by("customer:C") == "h1"
    assert repo.onboarded_by("customer:D") is None
    repo.commit(HandoffChange(then(h1, status=COMPLETED), LeadLock.RELEASE))
    assert repo.onboarded_by("customer:C") == "h1"  # a change that onboards no one leaves it
    repo.commit(HandoffChange(new("h2", "customer:C"), LeadLock.CLAIM, onboarded=True))
    assert repo.onboarded_by("customer:C") == "h2"


def test_releasing_a_lead_held_by_another_handoff_leaves_it_held(repo: HandoffRepository) -> None:
    # Given h2 holds lead L, and h1 (same lead) is an older handoff that holds nothing
    h1 = new("h1", "L")
    commit(repo, h1)
    commit(repo, new("h2", "L"), LeadLock.CLAIM)
    # When h1 is closed with a release of the lead
    commit(repo, then(h1, status=COMPLETED), LeadLock.RELEASE)
    # Then h1 is saved and h2 still holds the lead
    assert stored(repo, "h1").status is COMPLETED
    assert repo.open_handoff_of("L") == "h2"
    # And a release of a lead nobody holds is no conflict either
    commit(repo, new("h3", "M", status=COMPLETED), LeadLock.RELEASE)
    assert repo.open_handoff_of("M") is None
    assert stored(repo, "h3").version == 1


# -------------------------------------------------------------------------------------------- rep loads


def test_rep_deltas_move_the_load_under_its_version(repo: HandoffRepository) -> None:
    # Given no load stored for r1
    assert repo.rep_loads() == {}
    # When two handoffs are assigned to r1, each computed from the load as read
    commit(repo, new("h1", status=ASSIGNED, rep_id="r1"), LeadLock.CLAIM, RepDelta("r1", 0, 1, 1))
    commit(repo, new("h2", status=ASSIGNED, rep_id="r1"), LeadLock.CLAIM, RepDelta("r1", 1, 1, 1))
    # Then the load counts both, at version 2
    assert repo.rep_loads() == {"r1": RepLoad("r1", open_handoffs=2, assignments=2, version=2)}
    # When h1 is reassigned to r2: r1 loses an open handoff, r2 gains one and an assignment
    commit(
        repo,
        then(new("h1", status=ASSIGNED, rep_id="r1"), rep_id="r2", reassignments=1),
        None,
        RepDelta("r1", 2, open_delta=-1),
        RepDelta("r2", 0, open_delta=1, assignment_delta=1),
    )
    # Then both loads moved, each to its next version
    assert repo.rep_loads() == {
        "r1": RepLoad("r1", open_handoffs=1, assignments=2, version=3),
        "r2": RepLoad("r2", open_handoffs=1, assignments=1, version=1),
    }


def test_a_deltas_rotation_is_stored_with_the_load_and_a_delta_without_one_keeps_it(repo: HandoffRepository) -> None:
    # Given r1 assigned by a round robin that moved them to rotation 720720
    commit(repo, new("h1", status=ASSIGNED, rep_id="r1"), LeadLock.CLAIM, RepDelta("r1", 0, 1, 1, rotation=720_720))
    assert repo.rep_loads()["r1"].rotation == 720_720
    # When a release (no rotation) and an assignment by another strategy (none either) follow
    commit(repo, then(new("h1", status=ASSIGNED, rep_id="r1"), status=COMPLETED), None, RepDelta("r1", 1, -1))
    commit(repo, new("h2", status=ASSIGNED, rep_id="r1"), LeadLock.CLAIM, RepDelta("r1", 2, 1, 1))
    # Then the rotation stays; the next round robin pick moves it on; overrides leave it alone
    assert repo.rep_loads()["r1"] == RepLoad("r1", open_handoffs=1, assignments=2, rotation=720_720, version=3)
    commit(repo, new("h3", status=ASSIGNED, rep_id="r1"), LeadLock.CLAIM, RepDelta("r1", 3, 1, 1, rotation=1_441_440))
    assert repo.set_rep_overrides("r1", False, None, "v1").rotation == 1_441_440
    assert repo.rep_loads()["r1"].rotation == 1_441_440


def test_a_delta_computed_from_a_stale_load_is_refused(repo: HandoffRepository) -> None:
    # Given r1's load at version 1
    commit(repo, new("h1", status=ASSIGNED, rep_id="r1"), None, RepDelta("r1", 0, 1, 1))
    # When a change computed from version 0 (read before h1) or from a version never reached is committed
    stale = refused(repo, new("h2", status=ASSIGNED, rep_id="r1"), None, RepDelta("r1", 0, 1, 1))
    future = refused(repo, new("h3", status=ASSIGNED, rep_id="r1"), None, RepDelta("r1", 5, 1, 1))
    # Then both are refused and the load is as h1 left it
    assert stale == "rep r1's load is at version 1, not 0 as read"
    assert future == "rep r1's load is at version 1, not 5 as read"
    assert load(repo, "r1") == RepLoad("r1", open_handoffs=1, assignments=1, version=1)
    assert repo.handoff("h2") is None


def test_a_delta_that_would_pass_the_capacity_is_refused(repo: HandoffRepository) -> None:
    # Given r1 with 2 open handoffs
    commit(repo, new("h1"), None, RepDelta("r1", 0, 1, 1))
    commit(repo, new("h2"), None, RepDelta("r1", 1, 1, 1))
    # When a third is assigned under capacity 2, from the load as it is
    message = refused(repo, new("h3"), LeadLock.CLAIM, RepDelta("r1", 2, 1, 1, capacity=2))
    # Then it is refused as at capacity, and nothing of it is written
    assert message == "rep r1 is at capacity: 2 open handoffs +1 would pass 2"
    assert (repo.handoff("h3"), repo.open_handoff_of("lead-h3")) == (None, None)
    assert load(repo, "r1").open_handoffs == 2
    # And under capacity 3 it fits exactly
    commit(repo, new("h3"), None, RepDelta("r1", 2, 1, 1, capacity=3))
    assert load(repo, "r1") == RepLoad("r1", open_handoffs=3, assignments=3, version=3)
    # And under capacity 1, closing one of the three still leaves r1 over it: refused with that capacity,
    # committed without one
    closing = then(new("h1"), status=COMPLETED)
    message = refused(repo, closing, None, RepDelta("r1", 3, -1, capacity=1))
    assert message == "rep r1 is at capacity: 3 open handoffs -1 would pass 1"
    commit(repo, closing, None, RepDelta("r1", 3, -1))
    assert load(repo, "r1") == RepLoad("r1", open_handoffs=2, assignments=3, version=4)


@pytest.mark.parametrize(("capacity", "fits"), [(0, False), (1, True)])
def test_the_capacity_of_a_rep_never_assigned_counts_no_open_handoffs(
    repo: HandoffRepository, capacity: int, fits: bool
) -> None:
    # Given r1 has no stored load
    # When a first handoff is assigned to r1 under a capacity
    change = HandoffChange(new("h1", rep_id="r1"), None, (RepDelta("r1", 0, 1, 1, capacity=capacity),))
    if fits:
        repo.commit(change)
    else:
        with pytest.raises(HandoffConflict, match="rep r1 is at capacity: 0 open handoffs \\+1 would pass 0"):
            repo.commit(change)
    # Then it is assigned exactly when one open handoff fits
    assert (repo.handoff("h1") is not None) is fits
    assert load(repo, "r1").open_handoffs == int(fits)


def test_a_change_is_all_or_nothing(repo: HandoffRepository) -> None:
    # Given r2's load at version 1
    commit(repo, new("h0"), None, RepDelta("r2", 0, 1, 1))
    # When a new handoff claims its lead and moves r1 (fine) and r2 (from a stale read) in one change
    message = refused(
        repo, new("h1", "L", status=ASSIGNED, rep_id="r1"), LeadLock.CLAIM, RepDelta("r1", 0, 1, 1), RepDelta("r2", 0)
    )
    # Then the conflict names r2, and neither the handoff, nor the lock, nor r1's load was written
    assert message == "rep r2's load is at version 1, not 0 as read"
    assert repo.handoff("h1") is None
    assert repo.open_handoff_of("L") is None
    assert set(repo.rep_loads()) == {"r2"}
    assert load(repo, "r2").version == 1


def test_every_failed_condition_is_named(repo: HandoffRepository) -> None:
    # Given h1 holds lead L, and r1 is at version 1
    commit(repo, new("h1", "L"), LeadLock.CLAIM, RepDelta("r1", 0, 1, 1))
    # When h1 is created again, claiming L, with a stale delta for r1
    message = refused(repo, new("h1", "L"), LeadLock.CLAIM, RepDelta("r1", 0, 1, 1))
    # Then every failed condition is in the message, in the change's order
    assert message == "handoff h1 exists already (version 1); rep r1's load is at version 1, not 0 as read"
    # (the lock passed: h1 holds it)


def test_one_delta_per_rep(repo: HandoffRepository) -> None:
    with pytest.raises(ValueError, match="one delta per rep"):
        commit(repo, new("h1"), None, RepDelta("r1", 0, 1), RepDelta("r1", 0, 0, 1))
    assert repo.handoff("h1") is None


def test_overrides_replace_the_previous_ones_and_leave_the_counts(repo: HandoffRepository) -> None:
    # Given r1 with 1 open handoff and 1 assignment
    commit(repo, new("h1"), None, RepDelta("r1", 0, 1, 1))
    # When r1 is made unavailable with capacity 3 under routing file version v7
    set_once = repo.set_rep_overrides("r1", False, 3, "v7")
    # Then the load shows the overrides, the counts are untouched, and the version moved
    assert set_once == RepLoad("r1", 1, 1, available=False, capacity=3, overrides_version="v7", version=2)
    assert repo.rep_loads()["r1"] == set_once
    # And a change computed before the overrides conflicts
    assert "rep r1's load is at version 2, not 1" in refused(repo, new("h2"), None, RepDelta("r1", 1, 1, 1))
    # When the overrides are cleared under v8
    cleared = repo.set_rep_overrides("r1", None, None, "v8")
    # Then the file decides again: no override, the counts still as they were
    assert cleared == RepLoad("r1", 1, 1, available=None, capacity=None, overrides_version="v8", version=3)
    assert repo.rep_loads() == {"r1": cleared}


def test_overrides_of_a_rep_never_assigned_start_its_load(repo: HandoffRepository) -> None:
    # When a rep with no load is given a capacity only
    started = repo.set_rep_overrides("r9", None, 0, "v1")
    # Then its load exists at version 1 with no handoffs
    assert started == RepLoad("r9", 0, 0, available=None, capacity=0, overrides_version="v1", version=1)
    # And a delta must now be computed from that version
    assert "not 0 as read" in refused(repo, new("h1"), None, RepDelta("r9", 0, 1, 1))
    commit(repo, new("h1"), None, RepDelta("r9", 1, 1, 1))
    assert load(repo, "r9") == replace(started, open_handoffs=1, assignments=1, version=2)


def test_a_negative_capacity_is_invalid_input(repo: HandoffRepository) -> None:
    with pytest.raises(InvalidInput):
        repo.set_rep_overrides("r1", True, -1, "v1")
    assert repo.rep_loads() == {}


def test_rep_loads_reads_every_rep(repo: HandoffRepository) -> None:
    # Given 150 reps, each with one assignment
    for n in range(150):
        commit(repo, new(f"h{n}"), None, RepDelta(f"r{n:03d}", 0, 1, 1))
    # When every load is read
    loads = repo.rep_loads()
    # Then each rep is there once
    assert sorted(loads) == [f"r{n:03d}" for n in range(150)]
    assert {(x.open_handoffs, x.assignments, x.version) for x in loads.values()} == {(1, 1, 1)}


# ---------------------------------------------------------------------------------------------- listings

# h00..h11, one a minute: (status, rep, priority)
_ROWS = [
    (REQUESTED, None, STANDARD),
    (ASSIGNED, "r2", PRIORITY),
    (ACCEPTED, "r1", IMMEDIATE),
    (COMPLETED, "r1", STANDARD),
    (REQUESTED, None, PRIORITY),
    (ASSIGNED, "r2", IMMEDIATE),
    (ACCEPTED, "r1", STANDARD),
    (COMPLETED, "r1", PRIORITY),
    (QUEUED, None, IMMEDIATE),
    (ASSIGNED, "r1", STANDARD),
    (ACCEPTED, "r2", PRIORITY),
    (COMPLETED, "r1", IMMEDIATE),
]
LISTED = [
    new(f"h{n:02d}", at=T0 + timedelta(minutes=n), status=status, rep_id=rep_id, priority=priority)
    for n, (status, rep_id, priority) in enumerate(_ROWS)
]
# and two at the same instant as h05
TIED = [new(name, at=T0 + timedelta(minutes=5), status=ASSIGNED, rep_id="r2") for name in ("h05a", "h05b")]


def _listing_fixture(repo: HandoffRepository) -> None:
    for handoff in [*LISTED, *TIED]:
        commit(repo, handoff)


def test_handoffs_of_a_status_newest_first(repo: HandoffRepository) -> None:
    _listing_fixture(repo)
    page = repo.handoffs(status=ASSIGNED)
    assert ids(page.items) == ["h09", "h05b", "h05a", "h05", "h01"]
    assert page.next_cursor is None


def test_handoffs_of_a_rep_newest_first_with_status_and_priority_filters(repo: HandoffRepository) -> None:
    _listing_fixture(repo)
    assert ids(repo.handoffs(rep_id="r1").items) == ["h11", "h09", "h07", "h06", "h03", "h02"]
    assert ids(repo.handoffs(rep_id="r2").items) == ["h10", "h05b", "h05a", "h05", "h01"]
    assert ids(repo.handoffs(rep_id="r1", status=ACCEPTED).items) == ["h06", "h02"]
    assert ids(repo.handoffs(rep_id="r1", priority=PRIORITY).items) == ["h07"]
    assert ids(repo.handoffs(rep_id="r1", status=COMPLETED, priority=IMMEDIATE).items) == ["h11"]
    assert repo.handoffs(rep_id="nobody").items == []


def test_every_handoff_newest_first_without_status_or_rep(repo: HandoffRepository) -> None:
    _listing_fixture(repo)
    everything = [f"h{n:02d}" for n in range(11, 5, -1)] + ["h05b", "h05a", "h05", "h04", "h03", "h02", "h01", "h00"]
    assert ids(repo.handoffs().items) == everything
    assert ids(repo.handoffs(priority=STANDARD).items) == ["h09", "h06", "h05b", "h05a", "h03", "h00"]
    assert ids(repo.handoffs(status=REQUESTED, priority=STANDARD).items) == ["h00"]


_FILTERS: list[dict[str, Any]] = [
    {},
    {"status": ASSIGNED},
    {"rep_id": "r1"},
    {"rep_id": "r2", "status": ASSIGNED},
    {"priority": IMMEDIATE},
    {"status": COMPLETED, "priority": IMMEDIATE},
]


@pytest.mark.parametrize("limit", [1, 2, 3, 50])
@pytest.mark.parametrize("filters", _FILTERS, ids=lambda f: "-".join(str(v) for v in f.values()) or "all")
def test_pages_follow_one_another_without_gaps_or_repeats(
    repo: HandoffRepository, limit: int, filters: dict[str, Any]
) -> None:
    # Given the listed handoffs, and the whole listing in one page
    _listing_fixture(repo)
    whole = repo.handoffs(limit=100, **filters)
    assert whole.next_cursor is None
    # When the listing is read page by page
    seen, cursor, pages = [], None, 0
    while True:
        page = repo.handoffs(limit=limit, cursor=cursor, **filters)
        pages += 1
        assert 0 < len(page.items) <= limit
        seen += ids(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    # Then the pages hold the whole listing, in order, and the last page says nothing follows
    assert seen == ids(whole.items)
    assert pages == -(-len(seen) // limit)


def test_a_handoff_moves_between_listings_as_it_changes(repo: HandoffRepository) -> None:
    # Given a requested handoff
    h1 = new("h1")
    commit(repo, h1)
    assert ids(repo.handoffs(status=REQUESTED).items) == ["h1"]
    # When it is assigned to r1, then reassigned to r2
    h1 = then(h1, status=ASSIGNED, rep_id="r1")
    commit(repo, h1)
    assert (ids(repo.handoffs(status=REQUESTED).items), ids(repo.handoffs(rep_id="r1").items)) == ([], ["h1"])
    commit(repo, then(h1, rep_id="r2", reassignments=1))
    # Then it is listed under its status and rep now only, once
    assert ids(repo.handoffs(status=ASSIGNED).items) == ["h1"]
    assert ids(repo.handoffs(rep_id="r1").items) == []
    assert ids(repo.handoffs(rep_id="r2").items) == ["h1"]
    assert ids(repo.handoffs().items) == ["h1"]


@pytest.mark.parametrize(
    "cursor",
    ["not-a-cursor!", "", "e30=", "eyJhZnRlciI6MX0=", "bnVsbA==", "-1", "eyJhZnRlciI6ICJ4IiwgInN0YXR1cyI6bnVsbH0="],
)
def test_a_cursor_the_repository_did_not_issue_is_invalid_input(repo: HandoffRepository, cursor: str) -> None:
    _listing_fixture(repo)
    with pytest.raises(InvalidInput):
        repo.handoffs(limit=2, cursor=cursor)


def test_a_cursor_from_a_listing_with_other_filters_is_invalid_input(repo: HandoffRepository) -> None:
    _listing_fixture(repo)
    cursor = repo.handoffs(status=ASSIGNED, limit=2).next_cursor
    assert cursor is not None
    for filters in (
        {},
        {"status": ACCEPTED},
        {"status": ASSIGNED, "rep_id": "r2"},
        {"status": ASSIGNED, "priority": STANDARD},
    ):
        with pytest.raises(InvalidInput, match="other filters"):
            repo.handoffs(limit=2, cursor=cursor, **filters)
    assert ids(repo.handoffs(status=ASSIGNED, limit=2, cursor=cursor).items) == ["h05a", "h05"]


def test_a_listing_asked_oldest_first_comes_in_ascending_order(repo: HandoffRepository) -> None:
    # Given the listed handoffs (three assigned at h05's instant, tied by id)
    _listing_fixture(repo)
    # When listings are asked oldest first
    # Then they come in the newest-first order reversed, ties by handoff id ascending, filters as ever
    assert ids(repo.handoffs(status=ASSIGNED, oldest_first=True).items) == ["h01", "h05", "h05a", "h05b", "h09"]
    assert ids(repo.handoffs(rep_id="r1", status=ACCEPTED, oldest_first=True).items) == ["h02", "h06"]
    assert ids(repo.handoffs(priority=STANDARD, oldest_first=True).items) == [
        "h00",
        "h03",
        "h05a",
        "h05b",
        "h06",
        "h09",
    ]
    for filters in _FILTERS:
        newest = ids(repo.handoffs(limit=100, **filters).items)
        assert ids(repo.handoffs(limit=100, oldest_first=True, **filters).items) == newest[::-1], filters


@pytest.mark.parametrize("limit", [1, 2, 3])
@pytest.mark.parametrize("filters", _FILTERS, ids=lambda f: "-".join(str(v) for v in f.values()) or "all")
def test_oldest_first_pages_follow_one_another_without_gaps_or_repeats(
    repo: HandoffRepository, limit: int, filters: dict[str, Any]
) -> None:
    # Given the listed handoffs, and the whole oldest-first listing in one page
    _listing_fixture(repo)
    whole = ids(repo.handoffs(limit=100, oldest_first=True, **filters).items)
    # When it is read page by page
    seen: list[str] = []
    cursor: str | None = None
    while True:
        page = repo.handoffs(limit=limit, cursor=cursor, oldest_first=True, **filters)
        seen += ids(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    # Then the pages hold it all, in order
    assert seen == whole


def test_a_cursor_of_the_other_order_is_invalid_input(repo: HandoffRepository) -> None:
    _listing_fixture(repo)
    newest = repo.handoffs(status=ASSIGNED, limit=2).next_cursor
    oldest = repo.handoffs(status=ASSIGNED, limit=2, oldest_first=True).next_cursor
    assert newest is not None
    assert oldest is not None
    with pytest.raises(InvalidInput, match="other order"):
        repo.handoffs(status=ASSIGNED, limit=2, cursor=newest, oldest_first=True)
    with pytest.raises(InvalidInput, match="other order"):
        repo.handoffs(status=ASSIGNED, limit=2, cursor=oldest)
    assert ids(repo.handoffs(status=ASSIGNED, limit=2, cursor=oldest, oldest_first=True).items) == ["h05a", "h05b"]


def test_a_page_needs_room_for_one_handoff(repo: HandoffRepository) -> None:
    with pytest.raises(InvalidInput):
        repo.handoffs(limit=0)


# ------------------------------------------------------------------------------------ unannounced changes


def test_a_commit_leaving_a_transition_unannounced_is_listed_until_one_records_it_announced(
    repo: HandoffRepository,
) -> None:
    # Given two handoffs committed with their transitions not announced yet, and one announced
    pending, other, done = new("h1"), new("h2"), new("h3")
    for handoff in (pending, other):
        commit(repo, handoff)
    commit(repo, replace(done, announced=len(done.history)))
    assert sorted(ids(repo.unannounced())) == ["h1", "h2"]
    assert len(repo.unannounced(limit=1)) == 1
    # When h1 is recorded announced, and h2 changes again (a new transition, unannounced)
    commit(repo, then(pending, announced=len(pending.history)))
    commit(repo, then(other, status=ASSIGNED, rep_id="r1"))
    # Then only h2 is listed, as it is now
    [listed] = repo.unannounced()
    assert (listed.handoff_id, listed.status, listed.version) == ("h2", ASSIGNED, 2)
    # And a listing needs room for one
    with pytest.raises(InvalidInput):
        repo.unannounced(limit=0)


def test_an_unannounced_marker_whose_handoff_is_gone_is_dropped(dynamo: tuple[DynamoDbHandoffRepository, Any]) -> None:
    repo, client = dynamo
    # Given an unannounced handoff whose item was erased (privacy), its marker left behind
    commit(repo, new("h1"))
    client.delete_item(TableName=TABLE, Key={"pk": {"S": "HANDOFF#h1"}, "sk": {"S": "STATE"}})
    # When the sweep lists what is unannounced
    assert repo.unannounced() == []
    # Then the marker is gone: the next listing reads nothing of it
    markers = client.scan(
        TableName=TABLE, FilterExpression="entity = :e", ExpressionAttributeValues={":e": {"S": "unannounced"}}
    )
    assert markers["Items"] == []


# ----------------------------------------------------------------------------------- speed-to-lead reads


def test_requested_between_reads_the_range_across_days_oldest_first(repo: HandoffRepository) -> None:
    # Given handoffs around two UTC midnights, one at the very end of a day
    day = datetime(2026, 11, 24, tzinfo=UTC)
    times = {
        "before": day - timedelta(microseconds=1),
        "first": day,
        "late": day + timedelta(hours=23, minutes=59, seconds=59, microseconds=999999),
        "next-day": day + timedelta(days=1),
        "third-day": day + timedelta(days=2, hours=6),
        "at-end": day + timedelta(days=2, hours=12),
        "after": day + timedelta(days=3),
    }
    for name, at in times.items():
        commit(repo, new(name, at=at))
    # When the range [day 00:00, day+2 12:00) is read, its start given in another zone
    start = day.astimezone(timezone(timedelta(hours=5, minutes=30)))
    found = repo.requested_between(start, times["at-end"])
    # Then every handoff requested from the start, and before the end, comes oldest first
    assert ids(found) == ["first", "late", "next-day", "third-day"]
    # And a range within one day, and an empty one, read as such
    assert ids(repo.requested_between(times["late"], times["next-day"] + timedelta(seconds=1))) == [
        "late",
        "next-day",
    ]
    assert ids(repo.requested_between(times["at-end"], times["first"])) == []
    assert ids(repo.requested_between(times["first"], times["first"])) == []


# ------------------------------------------------------------------------------ DynamoDB specifics only


def _item(client: Any, pk: str, sk: str) -> dict[str, Any] | None:
    return client.get_item(TableName=TABLE, Key={"pk": {"S": pk}, "sk": {"S": sk}}).get("Item")


def test_the_item_layout_follows_the_catalog(dynamo: tuple[DynamoDbHandoffRepository, Any]) -> None:
    repo, client = dynamo
    # Given a handoff requested late on the 24th (+02:00), i.e. on the 24th in UTC, assigned to r1
    at = datetime(2026, 11, 25, 1, 30, tzinfo=timezone(timedelta(hours=2)))
    h1 = replace(new("h1", "L", at=at, status=ASSIGNED, rep_id="r1"), details={"n": 1})
    commit(repo, h1, LeadLock.CLAIM, RepDelta("r1", 0, 1, 1))
    # Then the handoff item carries the three index keys on the UTC date and instant
    state = _item(client, "HANDOFF#h1", "STATE")
    assert state is not None
    sort = "2026-11-24T23:30:00.000000+00:00#h1"
    assert {name: state[name] for name in ("status_partition", "rep_partition", "day_partition", "requested_sort")} == {
        "status_partition": {"S": "STATUS#assigned"},
        "rep_partition": {"S": "REP#r1"},
        "day_partition": {"S": "DAY#2026-11-24"},
        "requested_sort": {"S": sort},
    }
    assert (state["version"], state["details"], state["requested_at"]) == (
        {"N": "1"},
        {"M": {"n": {"N": "1"}}},
        {"S": "2026-11-24T23:30:00.000000+00:00"},
    )
    assert state["history"]["L"][0]["M"]["status"] == {"S": "assigned"}
    # And the lock and the load sit where the catalog says
    assert _item(client, "LEAD#L", "OPEN_HANDOFF")["handoff_id"] == {"S": "h1"}  # type: ignore[index]
    rep = _item(client, "REPS", "REP#r1")
    assert rep is not None
    assert {name: rep[name] for name in ("open_handoffs", "assignments", "version")} == {
        "open_handoffs": {"N": "1"},
        "assignments": {"N": "1"},
        "version": {"N": "1"},
    }
    assert "available" not in rep
    assert "capacity" not in rep
    # And a handoff with no rep is in no rep's partition; released, the lock item is gone
    commit(repo, then(h1, status=QUEUED, rep_id=None, queue="fallback"), LeadLock.RELEASE)
    state = _item(client, "HANDOFF#h1", "STATE")
    assert state is not None
    assert "rep_partition" not in state
    assert state["status_partition"] == {"S": "STATUS#queued"}
    assert _item(client, "LEAD#L", "OPEN_HANDOFF") is None


def test_a_history_entry_stored_before_entries_kept_their_state_reads_back_without_one(
    dynamo: tuple[DynamoDbHandoffRepository, Any],
) -> None:
    repo, client = dynamo
    # Given a handoff whose history entry was stored before entries kept the handoff's fields (no `state`, no
    # `cause_event_id` in its map), and one stored now with both
    due = T0 + timedelta(minutes=30)
    kept = EntryState("sdr-amer", PRIORITY, None, "amer-inbound", due, None)
    entry = HistoryEntry(T0, ASSIGNED, "hub", "assigned", "r1", "handoff.assigned", state=kept, cause_event_id="e-1")
    commit(repo, replace(new("h1", status=ASSIGNED, rep_id="r1"), history=(entry,)))
    stored_entry = _item(client, "HANDOFF#h1", "STATE")["history"]["L"][0]["M"]  # type: ignore[index]
    assert stored_entry["state"]["M"]["sla_due_at"] == {"S": "2026-11-25T12:30:00.123456+00:00"}
    assert stored_entry["cause_event_id"] == {"S": "e-1"}
    client.update_item(
        TableName=TABLE,
        Key={"pk": {"S": "HANDOFF#h1"}, "sk": {"S": "STATE"}},
        UpdateExpression="REMOVE history[0].#state, history[0].cause_event_id",
        ExpressionAttributeNames={"#state": "state"},
    )
    # When it is read back
    back = stored(repo, "h1")
    # Then the entry reads as it always did: no state (its events report the handoff's fields), no cause
    assert back.history == (replace(entry, state=None, cause_event_id=None),)


def test_aws_calls_per_method(dynamo: tuple[DynamoDbHandoffRepository, Any]) -> None:
    repo, client = dynamo
    _, count = counted_calls(client)
    h1 = new("h1", status=ASSIGNED, rep_id="r1")
    deltas = (RepDelta("r1", 0, 1, 1, capacity=5), RepDelta("r2", 0))
    # a whole change (handoff, lock, loads) is one transaction; a release reads who holds the lead first
    assert count(lambda: repo.commit(HandoffChange(h1, LeadLock.CLAIM, deltas))) == ["TransactWriteItems"]
    assert count(lambda: commit(repo, then(h1, status=COMPLETED), LeadLock.RELEASE)) == [
        "GetItem",
        "TransactWriteItems",
    ]
    assert count(lambda: repo.handoff("h1")) == ["GetItem"]
    assert count(lambda: repo.open_handoff_of("lead-h1")) == ["GetItem"]
    assert count(lambda: repo.rep_loads()) == ["Query"]
    assert count(lambda: repo.set_rep_overrides("r1", False, 2, "v1")) == ["UpdateItem"]
    assert count(lambda: repo.handoffs(status=ASSIGNED)) == ["Query"]
    assert count(lambda: repo.handoffs(rep_id="r1", status=ASSIGNED)) == ["Query"]
    assert count(lambda: repo.handoffs()) == ["Query"] * len(HandoffStatus)
    assert count(lambda: list(repo.requested_between(T0, T0 + timedelta(days=2)))) == ["Query"] * 3


def test_a_handoff_too_large_to_store_is_refused_before_anything_is_written(
    dynamo: tuple[DynamoDbHandoffRepository, Any],
) -> None:
    repo, _ = dynamo
    big = replace(new("h1", "L"), details={"notes": "x" * 500_000})
    with pytest.raises(
        TooLarge, match=r"handoff h1 would be \d+ bytes, over DynamoDB's item limit of 400 KB \(its `details`"
    ):
        commit(repo, big, LeadLock.CLAIM, RepDelta("r1", 0, 1, 1))
    assert (repo.handoff("h1"), repo.open_handoff_of("L"), repo.rep_loads()) == (None, None, {})


@pytest.mark.parametrize("number", [Decimal("1" * 39), Decimal("1E+130"), 10**40])
def test_numbers_dynamodb_cannot_hold_are_refused(dynamo: tuple[DynamoDbHandoffRepository, Any], number: Any) -> None:
    repo, _ = dynamo
    with pytest.raises(ValueError, match=r"details\.deal\[0\]: .* DynamoDB number"):
        commit(repo, replace(new("h1"), details={"deal": [number]}))
    assert repo.handoff("h1") is None


class _Cancelling:
    """A client whose transactions are cancelled with the given reason on the first item."""

    def __init__(self, client: Any, code: str) -> None:
        self._client, self._code = client, code

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def transact_write_items(self, TransactItems: list[dict[str, Any]], **_: Any) -> dict[str, Any]:
        response: Any = {
            "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
            "CancellationReasons": [{"Code": self._code}] + [{"Code": "None"}] * (len(TransactItems) - 1),
        }
        raise ClientError(response, "TransactWriteItems")


def test_a_transaction_conflict_is_a_handoff_conflict(dynamo: tuple[DynamoDbHandoffRepository, Any]) -> None:
    _, client = dynamo
    repo = DynamoDbHandoffRepository(_Cancelling(client, "TransactionConflict"), TABLE)
    with pytest.raises(HandoffConflict, match="handoff h1 is being written by another transaction"):
        commit(repo, new("h1"))


@pytest.mark.parametrize("code", ["ValidationError", "ThrottlingError"])
def test_other_cancellations_propagate(dynamo: tuple[DynamoDbHandoffRepository, Any], code: str) -> None:
    _, client = dynamo
    repo = DynamoDbHandoffRepository(_Cancelling(client, code), TABLE)
    with pytest.raises(ClientError, match="TransactionCanceledException"):
        commit(repo, new("h1"))


def test_reads_follow_every_page_dynamodb_returns(dynamo: tuple[DynamoDbHandoffRepository, Any]) -> None:
    repo, client = dynamo
    # Given the listed handoffs, and 5 reps with loads
    _listing_fixture(repo)
    for n in range(5):
        commit(repo, new(f"x{n}", at=T0 - timedelta(days=1)), None, RepDelta(f"r{n}", 0, 1, 1))
    # When everything is read again through a client whose query pages hold 2 items at most
    paged = SmallPages(client)
    small = DynamoDbHandoffRepository(paged, TABLE)
    # Then every read gives what one page gives
    assert small.rep_loads() == repo.rep_loads()
    for filters in _FILTERS:
        assert small.handoffs(limit=4, **filters) == repo.handoffs(limit=4, **filters)
    assert ids(small.requested_between(T0 - timedelta(days=2), T0 + timedelta(days=1))) == ids(
        repo.requested_between(T0 - timedelta(days=2), T0 + timedelta(days=1))
    )
    assert len(ids(small.requested_between(T0 - timedelta(days=2), T0 + timedelta(days=1)))) == 19
    assert paged.queries > 30
