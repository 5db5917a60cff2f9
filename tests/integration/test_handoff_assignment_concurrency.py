"""Assignment is atomic (issue 10 §7): concurrent handoffs never double-assign a lead, never pass a rep's
capacity, and round-robin stays exact (60 concurrent handoffs to a team of three give 20 each). Proven end to
end on DynamoDB (moto), with threads, through the handoff router's own service.

What runs: `HandoffService` as `shared.wiring.handoff_service` builds it for the `handoff_router` function, from
that function's own environment (the catalog's), over moto: the DynamoDB handoff and lead stores, the EventBridge
publisher on the hub's bus, the Scheduler timers. Only the routing file is the test's (one team of three reps,
round robin), read by the wiring from a file as the shipped one is. Each thread is one Lambda execution
environment (its own cold start: its own service and clients, built before the threads start, as boto3's default
session must not make clients from several threads) handling one `lead.handoff_requested` event as the
handler does: `service.request(*request_from(event))`. The leads exist in the lead store (seeded through its
DynamoDB adapter), so `facts` resolves them. Effects are read back from the stores and from the bus (an
all-events tap queue).

Re-delivery, as the platform does it: when the service still loses the race after its own attempts
(`MAX_ATTEMPTS`), `request` raises `HandoffConflict` and the invocation fails. EventBridge invokes the router
asynchronously, so it is Lambda that delivers the event again: twice more (`ASYNC_RETRY_ATTEMPTS` 2 in
infra/functions.py, `LAMBDA_ASYNC_RETRIES` in the local runtime), about one and then two minutes later, before
the event goes to the router's on-failure queue, from which an operator redrives it (`make redrive`). (The
rule's own `max_retries` covers EventBridge failing to invoke the function at all, not a failed invocation.)
The tests do the same in waves: the events whose invocation failed are delivered again once the wave before is
over (a minute later, the burst is over), all at once, each on its own thread again. Past Lambda's three
deliveries a further wave stands for a redrive; at most `MOST_DELIVERIES` in all, so a test is about atomicity,
not about how many rounds a burst takes (in 60-event bursts with every first commit forced to collide, events
took at most three deliveries, close to half of them two or three).

How the threads talk to moto, and why the race is real: moto's in-process AWS (`mock_aws`), patched as the local
hub runs it (`local_runtime/moto_patches.py`, installed by conftest). Unpatched, moto 5's dict tables fail
concurrent requests ("dictionary changed size during iteration") and its TransactWriteItems deep-copies every
table it touches for rollback, which is not safe against another thread's request either; the patches serve
one DynamoDB request at a time (a lock around each request) and roll a transaction back item by item. That is
moto's limit, not the race under test, and it matches DynamoDB's own guarantee: a transaction is atomic and
isolated from other writes, a read sees committed items. The race under test is the application's: every
invocation reads the reps' loads, lets the routing engine decide, and commits the handoff, the lead's
one-open-handoff claim and the chosen rep's load conditioned on the version it read (and on capacity); between
one thread's read and its commit any number of other threads commit. To make that race certain rather than
likely, each invocation's first commit waits on a barrier until every thread has read and decided, so all of
them commit from the same read at least once (every one of them picks the same rep, and all but one are
refused); the tests assert those refusals happened. The barrier only delays a commit, it changes no decision.
No sleeps: threads are joined through their futures, and moto delivers PutEvents to the tap queue within the
call, so every event is in the queue once the threads are done.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from local_runtime.function_imports import own_environment
from local_runtime.provision import Provisioned
from shared import wiring
from shared.adapters.dynamodb_handoffs import DynamoDbHandoffRepository
from shared.adapters.dynamodb_leads import DynamoDbLeadRepository
from shared.catalog import CATALOG, HANDOFFS, LEADS, physical_name
from shared.catalog.model import timer_group
from shared.events.handoff_events import HANDOFF_EVENT_SOURCE
from shared.events.lead_events import LEAD_EVENT_SOURCE, LeadEvent, LeadEventType
from shared.function_environment import environment_of
from shared.handoffs import routing_config
from shared.handoffs.model import Handoff, HandoffStatus
from shared.handoffs.ports import HandoffChange, HandoffConflict
from shared.handoffs.requests import request_from
from shared.handoffs.service import HandoffService, Outcome
from shared.leads.model import Contact, Stage
from shared.leads.ports import ChangeSet
from tests.integration.conftest import STAGE, drain, eventbridge

REGION = "us-east-1"
ROUTER = CATALOG.function("handoff_router")
TIMERS = CATALOG.function("handoff_timers")  # the function the router's timers invoke, in their own group
TEAM = ("ana", "bo", "cy")
FALLBACK_QUEUE = "sdr-queue"
MOST_DELIVERIES = 10  # Lambda's three (the first, `LAMBDA_ASYNC_RETRIES` retries), then redrives
BARRIER_TIMEOUT = 60.0  # every thread reaches its first commit well within this, or the test fails
THREAD_TIMEOUT = 300.0  # a thread that never finishes fails the test instead of hanging it


# The routing file ------------------------------------------------------------------------------------------------


def routing_file(capacity: int) -> dict[str, Any]:
    """One team of three reps (ana, bo, cy: ties go in that order), round robin for every lead, each rep taking
    at most `capacity` open handoffs; every kind of handoff has its catch-all, as the schema requires."""
    every_hour = {"time_zone": "UTC", "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}

    def rep(rep_id: str, role: str = "SDR") -> dict[str, Any]:
        return {
            "rep_id": rep_id,
            "name": rep_id.title(),
            "email": f"{rep_id}@example.com",
            "team": "sdr",
            "role": role,
            "capacity": capacity,
            "working_hours": every_hour | {"start": "00:00", "end": "24:00"},
        }

    def catch_all(kind: str) -> dict[str, Any]:
        return {"rule_id": f"{kind}s", "applies_to": kind, "team": "sdr", "strategy": "round_robin", "when": {}}

    return {
        "version": f"concurrency-{capacity}",
        "description": "One team of three reps taking every handoff by round robin.",
        "regions": {"US": "AMER"},
        "reps": [*(rep(rep_id) for rep_id in TEAM), rep("boss", role="manager")],
        "teams": [{"team": "sdr", "members": list(TEAM), "manager": "boss", "fallback_queue": FALLBACK_QUEUE}],
        "rules": [catch_all("lead"), catch_all("customer"), catch_all("expansion")],
    }


# The hub, as far as the router sees it ---------------------------------------------------------------------------


@dataclass
class Hub:
    aws: Provisioned
    tmp_path: Path
    monkeypatch: pytest.MonkeyPatch

    def leads(self, count: int) -> list[str]:
        """`count` MQLs with an email (the gate's condition), stored through the lead store's adapter."""
        store = DynamoDbLeadRepository(boto3.client("dynamodb", region_name=REGION), physical_name(STAGE, LEADS.name))
        now = datetime.now(UTC)
        lead_ids = [f"lead-{n:02d}" for n in range(count)]
        for lead_id in lead_ids:
            contact = Contact(lead_id, created_at=now, updated_at=now, stage=Stage.MQL, stage_entered_at=now)
            profile = contact.own_profile(lead_id)
            profile.set("email", f"{lead_id}@acme.example", now)
            profile.set("country", "US", now)
            store.commit(ChangeSet(contacts={lead_id: contact}, created={lead_id}))
        return lead_ids

    def routers(self, routing: dict[str, Any], count: int) -> list[HandoffService]:
        """`count` cold starts of the handoff router: each its own service, wired from the function's own
        environment by `shared.wiring.handoff_service`, reading `routing` as its routing file."""
        path = self.tmp_path / "routing.json"
        path.write_text(json.dumps(routing))
        self.monkeypatch.setattr(routing_config, "DEFAULT_ROUTING_PATH", path)  # what `load_routing()` reads
        boto3.client("scheduler", region_name=REGION).create_schedule_group(Name=timer_group(STAGE, TIMERS))
        with own_environment(CATALOG, ROUTER, STAGE):
            environment = environment_of(ROUTER.module)
            return [wiring.handoff_service(environment) for _ in range(count)]

    @property
    def store(self) -> DynamoDbHandoffRepository:
        return DynamoDbHandoffRepository(
            boto3.client("dynamodb", region_name=REGION), physical_name(STAGE, HANDOFFS.name)
        )

    def stored(self) -> list[Handoff]:
        page = self.store.handoffs(limit=1000)
        assert page.next_cursor is None
        return page.items

    def published(self) -> list[dict[str, Any]]:
        """The handoff events on the bus (moto delivers them to the tap queue within PutEvents)."""
        return [event for event in drain(self.aws.all_events_url) if event["source"] == HANDOFF_EVENT_SOURCE]


@pytest.fixture
def hub(aws: Provisioned, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Hub:
    return Hub(aws, tmp_path, monkeypatch)


def handoff_requested(lead_id: str) -> dict[str, Any]:
    """A lead.handoff_requested as the lead processor publishes it, as EventBridge hands it to the router."""
    detail = LeadEvent(
        event_id=str(uuid.uuid4()),
        event_type=LeadEventType.HANDOFF_REQUESTED,
        occurred_at=datetime.now(UTC),
        lead_id=lead_id,
        email=f"{lead_id}@acme.example",
        stage="MQL",
        score=60,
        fit_score=40,
        engagement_score=20,
        priority="standard",
        reason="standard test request",
    )
    return eventbridge(LEAD_EVENT_SOURCE, LeadEventType.HANDOFF_REQUESTED.value, detail.model_dump(mode="json"))


# Concurrent invocations ------------------------------------------------------------------------------------------


@dataclass
class Delivered:
    """How one event ended: the router's outcome, and on which delivery (1: the first, 2 and 3: Lambda's retries,
    4 on: redrives)."""

    event: dict[str, Any]
    outcome: Outcome
    delivery: int


@dataclass
class Race:
    delivered: list[Delivered]
    undelivered: list[str]  # leads whose event failed every delivery
    refusals: list[str]  # every HandoffConflict a commit met, in any thread

    def by_lead(self) -> dict[str, Delivered]:
        return {d.event["detail"]["lead_id"]: d for d in self.delivered}

    def deliveries(self) -> dict[int, int]:
        """How many events were handled on their first delivery, their second, ..."""
        return dict(sorted(Counter(d.delivery for d in self.delivered).items()))


def invoke_concurrently(routers: list[HandoffService], events: list[dict[str, Any]]) -> Race:
    """Each event handled on its own thread by its own router (one Lambda execution environment each), all at
    once; every first invocation must reach a commit (the barrier waits for all of them). The events whose
    invocation failed with `HandoffConflict` are delivered again, as Lambda's retries do, once the invocations
    before them are over (Lambda retries a minute, then two, later: after the burst), again all at once on their
    own threads; at most `MOST_DELIVERIES` times in all."""
    assert len(routers) == len(events)
    barrier = threading.Barrier(len(events))
    refusals: list[str] = []
    for router in routers:
        first_commit_waits(router, barrier, refusals.append)

    def invoke(router: HandoffService, event: dict[str, Any]) -> Outcome | None:
        try:
            return router.request(*request_from(event))  # the handler's branch for a lead.handoff_requested
        except HandoffConflict:
            return None  # the invocation failed: Lambda delivers the event again
        except BaseException:
            barrier.abort()  # any other failure fails the test at once, not after the others time out
            raise

    delivered: list[Delivered] = []
    pending = list(zip(routers, events, strict=True))
    for delivery in range(1, MOST_DELIVERIES + 1):
        if not pending:
            break
        with ThreadPoolExecutor(len(pending)) as pool:  # returns once every thread is done
            futures = [pool.submit(invoke, router, event) for router, event in pending]
            outcomes = [future.result(timeout=THREAD_TIMEOUT) for future in futures]
        delivered += [Delivered(e, o, delivery) for (_, e), o in zip(pending, outcomes, strict=True) if o is not None]
        pending = [(router, event) for (router, event), o in zip(pending, outcomes, strict=True) if o is None]
    return Race(delivered, [event["detail"]["lead_id"] for _, event in pending], refusals)


def answer(outcome: Outcome) -> tuple[str, str | None] | None:
    """The handoff a router answered with (its id and rep), as the handler returns it."""
    return (outcome.handoff.handoff_id, outcome.handoff.rep_id) if outcome.handoff else None


def first_commit_waits(router: HandoffService, barrier: threading.Barrier, refused: Callable[[str], None]) -> None:
    """The router's first commit waits until every thread has read and decided; every refusal is noted. The
    adapter's own commit runs unchanged (the assigner and the announcer share the service's repository)."""
    repository = router.repository
    commit = repository.commit
    waited = False

    def commit_after_the_others_decided(change: HandoffChange) -> None:
        nonlocal waited
        if not waited:
            waited = True
            barrier.wait(timeout=BARRIER_TIMEOUT)
        try:
            commit(change)
        except HandoffConflict as conflict:
            refused(str(conflict))
            raise

    repository.commit = commit_after_the_others_decided  # type: ignore[method-assign]


# The tests -------------------------------------------------------------------------------------------------------


def test_sixty_concurrent_handoffs_to_a_team_of_three_give_twenty_each(hub: Hub) -> None:
    # Given a team of three reps doing round robin with room for all, and 60 known leads
    routers = hub.routers(routing_file(capacity=100), 60)
    leads = hub.leads(60)
    events = [handoff_requested(lead_id) for lead_id in leads]

    # When the 60 handoff requests reach 60 routers at once
    race = invoke_concurrently(routers, events)

    # Then there are exactly 60 handoffs, all assigned, one for each lead, each holding its lead
    handoffs = hub.stored()
    assert len(handoffs) == 60
    assert {h.status for h in handoffs} == {HandoffStatus.ASSIGNED}
    assert Counter(h.lead_id for h in handoffs) == Counter(leads)
    store = hub.store
    assert {lead: store.open_handoff_of(lead) for lead in leads} == {h.lead_id: h.handoff_id for h in handoffs}
    # And round robin is exact: 20 each
    assert Counter(h.rep_id for h in handoffs) == dict.fromkeys(TEAM, 20)
    # And each rep's stored load counts exactly the handoffs assigned to them (open and in all), and moved once
    # per assignment: no write was lost or applied twice
    per_rep = Counter(h.rep_id for h in handoffs)
    loads = store.rep_loads()
    assert {rep: (load.open_handoffs, load.assignments, load.version) for rep, load in loads.items()} == {
        rep: (count, count, count) for rep, count in per_rep.items()
    }
    # And each router answered with the handoff stored for its lead
    assert {lead: answer(d.outcome) for lead, d in race.by_lead().items()} == {
        h.lead_id: (h.handoff_id, h.rep_id) for h in handoffs
    }
    # And the bus holds exactly one handoff.assigned per handoff, naming its rep (and one nurture pause each)
    published = hub.published()
    assigned = [e["detail"] for e in published if e["detail-type"] == "handoff.assigned"]
    assert Counter(d["handoff_id"] for d in assigned) == Counter(h.handoff_id for h in handoffs)
    assert {d["handoff_id"]: d["rep_id"] for d in assigned} == {h.handoff_id: h.rep_id for h in handoffs}
    assert Counter(e["detail-type"] for e in published) == {"handoff.assigned": 60, "lead.nurture_paused": 60}
    # And the routers really raced: all 60 first committed from the same read, so at least 59 were refused
    assert len(race.refusals) >= 59
    assert race.undelivered == [], race.deliveries()


def test_twenty_concurrent_handoffs_to_three_reps_of_capacity_five_assign_fifteen_and_queue_five(hub: Hub) -> None:
    # Given a team of three reps doing round robin, each taking at most 5 open handoffs, and 20 known leads
    routers = hub.routers(routing_file(capacity=5), 20)
    leads = hub.leads(20)
    events = [handoff_requested(lead_id) for lead_id in leads]

    # When the 20 handoff requests reach 20 routers at once
    race = invoke_concurrently(routers, events)

    # Then there are exactly 20 handoffs, one for each lead: 15 assigned, 5 to each rep, and 5 in the team's queue
    handoffs = hub.stored()
    assert Counter(h.lead_id for h in handoffs) == Counter(leads)
    assert Counter(h.status for h in handoffs) == {HandoffStatus.ASSIGNED: 15, HandoffStatus.QUEUED: 5}
    assigned = [h for h in handoffs if h.status is HandoffStatus.ASSIGNED]
    queued = [h for h in handoffs if h.status is HandoffStatus.QUEUED]
    assert Counter(h.rep_id for h in assigned) == dict.fromkeys(TEAM, 5)
    assert {(h.queue, h.rep_id) for h in queued} == {(FALLBACK_QUEUE, None)}
    # And no rep is above capacity: each load counts exactly the handoffs assigned to the rep
    store = hub.store
    loads = store.rep_loads()
    assert {rep: (load.open_handoffs, load.assignments) for rep, load in loads.items()} == dict.fromkeys(TEAM, (5, 5))
    # And every handoff, queued or assigned, holds its lead, and each router answered with its lead's
    assert {lead: answer(d.outcome) for lead, d in race.by_lead().items()} == {
        h.lead_id: (h.handoff_id, h.rep_id) for h in handoffs
    }
    assert {lead: store.open_handoff_of(lead) for lead in leads} == {h.lead_id: h.handoff_id for h in handoffs}
    # And the bus holds exactly one event per handoff: handoff.assigned for the 15, handoff.queued for the 5
    published = hub.published()
    announced = Counter(
        (e["detail-type"], e["detail"]["handoff_id"]) for e in published if e["detail-type"] != "lead.nurture_paused"
    )
    assert announced == Counter(
        [("handoff.assigned", h.handoff_id) for h in assigned] + [("handoff.queued", h.handoff_id) for h in queued]
    )
    # And the routers really raced
    assert len(race.refusals) >= 19
    assert race.undelivered == [], race.deliveries()


def test_twenty_concurrent_handoff_requests_for_one_lead_open_one_handoff(hub: Hub) -> None:
    # Given one known lead, and 20 distinct handoff requests for it (20 triggers, 20 event ids)
    routers = hub.routers(routing_file(capacity=100), 20)
    [lead] = hub.leads(1)
    events = [handoff_requested(lead) for _ in range(20)]

    # When they reach 20 routers at once, all having seen the lead free
    race = invoke_concurrently(routers, events)

    # Then exactly one handoff was stored and assigned, it holds the lead, and every router answered with it
    handoffs = hub.stored()
    assert [h.lead_id for h in handoffs] == [lead]
    [handoff] = handoffs
    assert handoff.status is HandoffStatus.ASSIGNED
    store = hub.store
    assert store.open_handoff_of(lead) == handoff.handoff_id
    assert [answer(d.outcome) for d in race.delivered] == [(handoff.handoff_id, handoff.rep_id)] * 20
    # And only its rep's load moved, once
    loads = store.rep_loads()
    assert {rep: (load.open_handoffs, load.assignments) for rep, load in loads.items() if load.assignments} == {
        handoff.rep_id: (1, 1)
    }
    # And it was announced as one assignment: one event id (a router that saw the winner's handoff before its
    # announcement was recorded may publish the same event again, with the same id, as the design allows)
    published = hub.published()
    assert {(e["detail-type"], e["detail"]["handoff_id"]) for e in published} == {
        ("handoff.assigned", handoff.handoff_id),
        ("lead.nurture_paused", handoff.handoff_id),
    }
    assert len({e["detail"]["event_id"] for e in published if e["detail-type"] == "handoff.assigned"}) == 1
    # And the routers really raced: 19 were refused at least once
    assert len(race.refusals) >= 19
    assert race.undelivered == [], race.deliveries()
