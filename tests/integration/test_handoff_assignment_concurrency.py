"""Assignment is atomic (issue 10): concurrent handoffs never double-assign a lead, never exceed a rep's
capacity, and round-robin stays exact. Proven with threads on the DynamoDB adapter over moto, and on the fake.

The routing engine is not used here: each thread runs the smallest assignment loop the store must make safe.
It reads every rep's load, picks the rep with the fewest assignments (ties in team order; it does not look at
capacity, which is the store's to enforce), commits the handoff with the lead's claim and a `RepDelta`
conditioned on the load's version as read, and on `HandoffConflict` reads again and decides again.

How the threads talk to moto, and why that is honest: moto's in-process AWS (`mock_aws`), patched as the
local hub runs it (`local_runtime/moto_patches.py`, installed by conftest), through one botocore client that
all threads share (botocore clients are thread-safe) with botocore's retries off, so any moto error fails
the test instead of being retried away. Each request runs on its caller's thread; the patches' lock makes
moto serve one DynamoDB request at a time, so a TransactWriteItems is atomic and isolated as in DynamoDB
(unpatched, moto's dict tables fail concurrent requests with 500s: that is moto's limit, not a race to
test). The race under test is between requests: between a thread's read of the loads and its commit, any
number of other threads commit. To make that race certain rather than likely, every worker's first attempt
waits on a barrier between its read and its commit, so all of them commit from the same read at least once;
the tests assert those conflicts happened. No sleeps.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws

from local_runtime.provision import table_definition
from shared.adapters.dynamodb_handoffs import DynamoDbHandoffRepository
from shared.catalog import physical_name
from shared.catalog.handoffs import HANDOFFS
from shared.handoffs.model import Handoff, HandoffKind, HandoffStatus, HistoryEntry, Priority, RepLoad
from shared.handoffs.ports import HandoffChange, HandoffConflict, HandoffRepository, LeadLock, RepDelta
from tests.handoff_fakes import InMemoryHandoffRepository
from tests.integration.conftest import STAGE

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
TABLE = physical_name(STAGE, HANDOFFS.name)
TEAM = ("ana", "bo", "cy")
NO_RETRIES = Config(retries={"total_max_attempts": 1})
MOST_ATTEMPTS = 500  # a loop that never settles fails the test instead of hanging it
BARRIER_TIMEOUT = 20.0

Job = tuple[str, str, int]  # handoff id, lead id, its place (seconds after T0 it was requested)


@pytest.fixture(params=["dynamodb", "in-memory"])
def repo(request: pytest.FixtureRequest) -> Iterator[HandoffRepository]:
    if request.param == "in-memory":
        yield InMemoryHandoffRepository()
        return
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1", config=NO_RETRIES)
        client.create_table(**table_definition(HANDOFFS, STAGE))
        yield DynamoDbHandoffRepository(client, TABLE)


@dataclass
class Attempt:
    """How one handoff request ended: the rep it was assigned to (None: it was not), and what it met."""

    handoff_id: str
    rep_id: str | None
    conflicts: list[str]
    at_capacity: bool = False
    lead_held_by: str | None = None


def handoff(handoff_id: str, lead_id: str, rep_id: str | None, n: int = 0) -> Handoff:
    at = T0 + timedelta(seconds=n)
    status = HandoffStatus.REQUESTED if rep_id is None else HandoffStatus.ASSIGNED
    return Handoff(
        handoff_id=handoff_id,
        lead_id=lead_id,
        kind=HandoffKind.LEAD,
        priority=Priority.STANDARD,
        status=status,
        team="emea",
        requested_at=at,
        rep_id=rep_id,
        strategy="round_robin",
        assigned_at=None if rep_id is None else at,
        history=(HistoryEntry(at, status, "hub", "lead.handoff_requested", rep_id),),
        version=1,
    )


def assign(repo: HandoffRepository, job: Job, capacity: int | None, before_commit: Callable[[], None]) -> Attempt:
    """The minimal assignment loop: read, pick the fewest assignments, commit conditioned on what was read."""
    handoff_id, lead_id, n = job
    attempt = Attempt(handoff_id, None, [])
    for _ in range(MOST_ATTEMPTS):
        loads = repo.rep_loads()
        load = min((loads.get(rep, RepLoad(rep)) for rep in TEAM), key=lambda x: (x.assignments, TEAM.index(x.rep_id)))
        delta = RepDelta(load.rep_id, load.version, open_delta=1, assignment_delta=1, capacity=capacity)
        before_commit()
        try:
            repo.commit(HandoffChange(handoff(handoff_id, lead_id, load.rep_id, n), LeadLock.CLAIM, (delta,)))
        except HandoffConflict as conflict:
            attempt.conflicts.append(str(conflict))
            now = repo.rep_loads()
            if capacity is not None and all(now.get(rep, RepLoad(rep)).open_handoffs >= capacity for rep in TEAM):
                attempt.at_capacity = True  # the team is full: the handoff would wait in the queue
                return attempt
            continue
        attempt.rep_id = load.rep_id
        return attempt
    raise AssertionError(f"{handoff_id} did not settle in {MOST_ATTEMPTS} attempts: {attempt.conflicts[-3:]}")


def first_attempt_waits(barrier: threading.Barrier) -> Callable[[], Callable[[], None]]:
    """A per-worker hook: its first call waits for every worker to have read, later calls return at once."""

    def for_worker() -> Callable[[], None]:
        waited = False

        def before_commit() -> None:
            nonlocal waited
            if not waited:
                waited = True
                barrier.wait(timeout=BARRIER_TIMEOUT)

        return before_commit

    return for_worker


def run(workers: int, jobs: list[Any], work: Callable[[Any, Callable[[], None]], Attempt]) -> list[Attempt]:
    """Runs the jobs on `workers` threads, each worker taking every `workers`-th job in turn."""
    hook = first_attempt_waits(threading.Barrier(workers))

    def worker(index: int) -> list[Attempt]:
        before_commit = hook()
        return [work(job, before_commit) for job in jobs[index::workers]]

    with ThreadPoolExecutor(workers) as pool:
        return [attempt for attempts in pool.map(worker, range(workers)) for attempt in attempts]


def stored(repo: HandoffRepository) -> list[Handoff]:
    page = repo.handoffs(limit=1000)
    assert page.next_cursor is None
    return page.items


def test_sixty_concurrent_handoffs_to_a_team_of_three_give_twenty_each(repo: HandoffRepository) -> None:
    # Given a team of three reps with no load, and 60 handoffs for 60 leads
    jobs: list[Job] = [(f"h{n:02d}", f"lead-{n:02d}", n) for n in range(60)]

    # When 12 threads assign them at once, round-robin, each worker's first commit racing all the others
    attempts = run(12, jobs, lambda job, hook: assign(repo, job, None, hook))

    # Then every handoff was assigned once, and round-robin is exact: 20 each, in the loads and in storage
    assert len(attempts) == 60
    assert Counter(a.rep_id for a in attempts) == {"ana": 20, "bo": 20, "cy": 20}
    loads = repo.rep_loads()
    assert {rep: (x.assignments, x.open_handoffs) for rep, x in loads.items()} == dict.fromkeys(TEAM, (20, 20))
    handoffs = stored(repo)
    assert sorted(h.handoff_id for h in handoffs) == [job[0] for job in jobs]
    assert Counter(h.rep_id for h in handoffs) == {"ana": 20, "bo": 20, "cy": 20}
    assert {a.handoff_id: a.rep_id for a in attempts} == {h.handoff_id: h.rep_id for h in handoffs}
    assert all(repo.open_handoff_of(lead) == handoff_id for handoff_id, lead, _ in jobs)
    # And each load moved once per assignment: no write was lost or applied twice
    assert {x.version for x in loads.values()} == {20}
    # And the threads really raced: all 12 committed from the same read once, so at least 11 were refused
    conflicts = [message for a in attempts for message in a.conflicts]
    assert len(conflicts) >= 11
    assert all("load is at version" in message for message in conflicts)


def test_twenty_concurrent_handoffs_for_one_lead_open_exactly_one(repo: HandoffRepository) -> None:
    # Given 20 handoff requests for the same lead (no rep yet: only the lead's lock decides)
    jobs = [f"h{n:02d}" for n in range(20)]

    def open_handoff(handoff_id: str, before_commit: Callable[[], None]) -> Attempt:
        attempt = Attempt(handoff_id, None, [])
        while (holder := repo.open_handoff_of("lead-1")) is None:
            before_commit()
            try:
                repo.commit(HandoffChange(handoff(handoff_id, "lead-1", None), LeadLock.CLAIM))
            except HandoffConflict as conflict:
                attempt.conflicts.append(str(conflict))
        attempt.lead_held_by = holder
        return attempt

    # When 20 threads open them at once, all having seen the lead free
    attempts = run(20, jobs, open_handoff)

    # Then exactly one was stored, it holds the lead, and all 20 see it as the lead's open handoff
    [winner] = [h.handoff_id for h in stored(repo)]
    assert repo.open_handoff_of("lead-1") == winner
    assert {a.lead_held_by for a in attempts} == {winner}
    # And the 19 others were each refused once, naming the handoff that holds the lead
    assert sorted(len(a.conflicts) for a in attempts) == [0] + [1] * 19
    assert {message for a in attempts for message in a.conflicts} == {f"lead lead-1 is held by open handoff {winner}"}


def test_thirty_concurrent_handoffs_to_three_reps_of_capacity_five_assign_fifteen(repo: HandoffRepository) -> None:
    # Given three reps of capacity 5 with no load, and 30 handoffs for 30 leads
    jobs: list[Job] = [(f"h{n:02d}", f"lead-{n:02d}", n) for n in range(30)]

    # When 30 threads assign them at once
    attempts = run(30, jobs, lambda job, hook: assign(repo, job, 5, hook))

    # Then exactly 15 were assigned, 5 to each rep, and no rep is above its capacity
    assigned = [a for a in attempts if a.rep_id is not None]
    assert Counter(a.rep_id for a in assigned) == {"ana": 5, "bo": 5, "cy": 5}
    loads = repo.rep_loads()
    assert {rep: (x.open_handoffs, x.assignments) for rep, x in loads.items()} == dict.fromkeys(TEAM, (5, 5))
    # And the other 15 found the team at capacity, wrote nothing, and left their leads free
    refused = [a for a in attempts if a.rep_id is None]
    assert len(refused) == 15
    assert all(a.at_capacity and a.conflicts for a in refused)
    assert sorted(h.handoff_id for h in stored(repo)) == sorted(a.handoff_id for a in assigned)
    leads = {handoff_id: lead for handoff_id, lead, _ in jobs}
    assert all(repo.open_handoff_of(leads[a.handoff_id]) is None for a in refused)
    assert all(repo.open_handoff_of(leads[a.handoff_id]) == a.handoff_id for a in assigned)
