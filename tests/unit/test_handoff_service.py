"""The handoff use cases over in-memory fakes: a request is assigned by the shipped routing file, accepted,
rejected, breached, escalated; every transition published once with a deterministic id; nothing lost when the
bus fails after a commit."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from shared.events.handoff_events import HandoffEventType
from shared.handoffs.assignment_timers import timers_of
from shared.handoffs.expansion_handoffs import ExpansionSignal
from shared.handoffs.model import HandoffKind, HandoffStatus, LeadFacts, Priority, SlaKind, TouchChannel
from shared.handoffs.ports import HandoffChange, HandoffConflict, Timer, TimerKind
from shared.handoffs.routing import compile_routing
from shared.handoffs.routing_config import load_routing
from shared.handoffs.service import (
    ANNOUNCED_LATE,
    NOT_ANNOUNCED_YET,
    RETRY_PAUSE_SECONDS,
    Actor,
    HandoffService,
    NotAllowed,
    Outcome,
    Unsettled,
    WrongState,
)
from shared.handoffs.transition_events import events_of
from tests.fakes import FixedClock, RecordingPublisher
from tests.handoff_fakes import InMemoryHandoffRepository, RecordingTimers

# A Tuesday, 15:00 UTC: working hours in New York and Berlin alike.
T0 = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
ROUTER = compile_routing(load_routing())
AMER_SDRS = {"sdr-maya-chen", "sdr-jordan-reyes", "sdr-sam-okafor"}
EMEA_SDRS = {"sdr-lena-vogel", "sdr-tobias-brandt", "sdr-oliver-hughes"}
AES = {"ae-daniel-kim", "ae-rachel-green", "ae-markus-weber", "ae-nina-patel"}


@dataclass
class Leads:
    known: dict[str, LeadFacts] = field(default_factory=dict)
    accounts: dict[str, LeadFacts] = field(default_factory=dict)

    def facts(self, lead_id: str) -> LeadFacts | None:
        return self.known.get(lead_id)

    def account_facts(self, account_id: str) -> LeadFacts | None:
        return self.accounts.get(account_id)


@dataclass
class World:
    service: HandoffService
    repository: InMemoryHandoffRepository
    bus: RecordingPublisher
    timers: RecordingTimers
    leads: Leads
    clock: FixedClock

    def lead(self, lead_id: str, **facts: object) -> str:
        defaults: dict[str, object] = {"email": f"{lead_id}@example.com", "country": "US", "fit_score": Decimal(40)}
        self.leads.known[lead_id] = LeadFacts(lead_id=lead_id, **(defaults | facts))  # type: ignore[arg-type]
        return lead_id

    def published(self, kind: HandoffEventType | None = None) -> list[str]:
        return [e.event_type.value for e in self.bus.published if kind is None or e.event_type is kind]

    def timers_of(self, handoff_id: str, kind: TimerKind | None = None) -> list[Timer]:
        """The handoff's live timers (of `kind`), soonest first."""
        live = [t for t in self.timers.live.values() if t.handoff_id == handoff_id and kind in (None, t.kind)]
        return sorted(live, key=lambda timer: timer.due_at)

    def fire(self, timer: Timer) -> Outcome:
        """The timer's one-time schedule comes due: the timer function gets what the schedule carries."""
        return self.service.timer_fired(timer.handoff_id, timer.kind, timer.assignment, timer.due_at, timer.early)


def new_world() -> World:
    """The handoff service over in-memory fakes at T0."""
    repository, bus, timers, leads, clock = (
        InMemoryHandoffRepository(),
        RecordingPublisher(),
        RecordingTimers(),
        Leads(),
        FixedClock(T0),
    )
    service = HandoffService(repository, lambda: ROUTER, leads, bus, timers, clock, pause=lambda seconds: None)
    return World(service, repository, bus, timers, leads, clock)


@pytest.fixture
def world() -> World:
    return new_world()


def assignee(world: World, handoff_id: str) -> str:
    handoff = world.repository.handoff(handoff_id)
    assert handoff is not None
    assert handoff.rep_id is not None
    return handoff.rep_id


def as_rep(rep_id: str) -> Actor:
    return Actor(name=rep_id, rep_id=rep_id)


def test_a_demo_request_from_an_amer_icp_lead_is_assigned_within_its_sla_and_pauses_nurture(world: World) -> None:
    # Given a known US lead with an email
    lead = world.lead("lead-1")
    # When a priority handoff is requested
    outcome = world.service.request(lead, Priority.PRIORITY, "demo_request", "cause-1")
    # Then an AMER SDR has it, due within 30 working minutes, and the transition is published with the pause
    handoff = outcome.handoff
    assert handoff is not None
    assert handoff.status is HandoffStatus.ASSIGNED
    assert handoff.rep_id in AMER_SDRS
    assert handoff.team == "sdr-amer"
    assert handoff.rule_id == "amer-sdr"
    assert handoff.sla_due_at == T0 + timedelta(minutes=30)
    assert world.published() == ["handoff.assigned", "lead.nurture_paused"]
    # And its SLA deadline, two reminders and the first-touch deadline (the follow-up task's) are set
    kinds = sorted(timer.kind.value for timer in world.timers.live.values())
    assert kinds == ["first_touch", "reminder", "reminder", "sla_accept"]
    [first_touch] = world.timers_of(handoff.handoff_id, TimerKind.FIRST_TOUCH)
    assert first_touch.due_at == handoff.first_touch_due_at == T0 + timedelta(minutes=120)
    assert handoff.details["follow_up_task"]["due_at"] == first_touch.due_at.isoformat()
    # and the lead is held by it
    assert world.repository.open_handoff_of(lead) == handoff.handoff_id


def test_a_german_lead_goes_to_the_emea_team(world: World) -> None:
    lead = world.lead("lead-de", country="DE", language="de")
    handoff = world.service.request(lead, Priority.PRIORITY, "demo_request", "cause-de").handoff
    assert handoff is not None
    assert handoff.team == "sdr-emea"
    assert handoff.rep_id in EMEA_SDRS


def test_a_retried_request_publishes_nothing_new_and_opens_no_second_handoff(world: World) -> None:
    lead = world.lead("lead-2")
    first = world.service.request(lead, Priority.PRIORITY, "demo_request", "cause-2").handoff
    again = world.service.request(lead, Priority.PRIORITY, "demo_request", "cause-2").handoff
    assert first is not None
    assert again is not None
    assert again.handoff_id == first.handoff_id
    assert world.published() == ["handoff.assigned", "lead.nurture_paused"]
    assert len(world.repository.stored) == 1


def test_a_more_urgent_trigger_raises_the_open_handoff_instead_of_opening_another(world: World) -> None:
    lead = world.lead("lead-3")
    first = world.service.request(lead, Priority.STANDARD, "nurtured 14 days", "cause-a").handoff
    raised = world.service.request(lead, Priority.IMMEDIATE, "score 500", "cause-b").handoff
    lower = world.service.request(lead, Priority.PRIORITY, "pricing visit", "cause-c")
    assert first is not None
    assert raised is not None
    assert raised.handoff_id == first.handoff_id
    assert raised.priority is Priority.IMMEDIATE
    assert raised.sla_due_at == T0 + timedelta(minutes=5)
    assert "already has open handoff" in lower.note
    assert world.published(HandoffEventType.PRIORITY_RAISED) == ["handoff.priority_raised"]
    assert len(world.repository.stored) == 1


def test_the_assignee_accepts_once_and_the_accept_timers_go_but_not_the_first_touch_deadline(world: World) -> None:
    lead = world.lead("lead-4")
    handoff_id = world.service.request(lead, Priority.PRIORITY, "demo_request", "cause-4").handoff.handoff_id  # type: ignore[union-attr]
    rep = assignee(world, handoff_id)
    # When someone else tries, they are refused; the assignee accepts; a second accept changes nothing
    with pytest.raises(NotAllowed):
        world.service.accept(handoff_id, as_rep("sdr-lena-vogel"))
    accepted = world.service.accept(handoff_id, as_rep(rep)).handoff
    again = world.service.accept(handoff_id, as_rep(rep))
    assert accepted is not None
    assert accepted.status is HandoffStatus.ACCEPTED
    assert accepted.sla_due_at is None
    assert again.note == "already accepted"
    assert world.published(HandoffEventType.ACCEPTED) == ["handoff.accepted"]
    # And the reminders and the accept deadline are gone; the first touch is still owed, by the same deadline
    assert [timer.kind for timer in world.timers_of(handoff_id)] == [TimerKind.FIRST_TOUCH]
    assert world.timers_of(handoff_id)[0].due_at == accepted.first_touch_due_at
    # And a rejection after acceptance is refused as a state conflict
    with pytest.raises(WrongState):
        world.service.reject(handoff_id, as_rep(rep), "too late")


def test_a_rejection_moves_the_handoff_to_another_rep_never_back(world: World) -> None:
    lead = world.lead("lead-5")
    handoff_id = world.service.request(lead, Priority.PRIORITY, "demo_request", "cause-5").handoff.handoff_id  # type: ignore[union-attr]
    first = assignee(world, handoff_id)
    moved = world.service.reject(handoff_id, as_rep(first), "not my territory").handoff
    assert moved is not None
    assert moved.rep_id not in (None, first)
    assert moved.excluded_reps == (first,)
    assert world.published()[-2:] == ["handoff.rejected", "handoff.assigned"]
    loads = world.repository.rep_loads()
    assert loads[first].open_handoffs == 0
    assert loads[moved.rep_id].open_handoffs == 1


def test_missed_deadlines_reassign_then_escalate_to_the_manager(world: World) -> None:
    lead = world.lead("lead-6")
    handoff_id = world.service.request(lead, Priority.PRIORITY, "demo_request", "cause-6").handoff.handoff_id  # type: ignore[union-attr]
    reps = [assignee(world, handoff_id)]
    [first_deadline] = world.timers_of(handoff_id, TimerKind.SLA_ACCEPT)
    for _ in range(2):
        world.clock.advance(timedelta(minutes=31))
        [deadline] = world.timers_of(handoff_id, TimerKind.SLA_ACCEPT)
        outcome = world.fire(deadline)
        assert outcome.handoff is not None
        reps.append(outcome.handoff.rep_id)  # type: ignore[arg-type]
    # Then the first breach went to another SDR, the second (the routing file's limit of 2) to the manager
    assert reps[1] in AMER_SDRS
    assert reps[1] != reps[0]
    assert reps[2] == "mgr-priya-nair"
    assert world.published(HandoffEventType.SLA_BREACHED) == ["handoff.sla_breached"] * 2
    assert world.published(HandoffEventType.ESCALATED) == ["handoff.escalated"]
    # And a timer of an earlier assignment does nothing
    assert world.fire(first_deadline).note == "stale timer"


def test_a_reminder_reminds_once_however_often_it_is_delivered(world: World) -> None:
    # Given an assigned handoff whose first reminder came due and was sent
    handoff = world.service.request(world.lead("lead-rem"), Priority.PRIORITY, "demo_request", "cause-rem").handoff
    assert handoff is not None
    world.clock.advance(timedelta(minutes=16))
    [first, second] = world.timers_of(handoff.handoff_id, TimerKind.REMINDER)
    assert [e.event_type for e in world.fire(first).events] == [HandoffEventType.REMINDED]
    stored = world.repository.handoff(handoff.handoff_id)
    assert stored is not None
    # Then the handoff's state no longer sets it (its schedule deleted itself when it ran), only the second
    assert [t.name for t in timers_of(stored, ROUTER) if t.kind is TimerKind.REMINDER] == [second.name]
    # And when it is delivered again, nothing is sent or stored
    assert world.fire(first).note == "stale timer"
    assert world.published(HandoffEventType.REMINDED) == ["handoff.reminded"]
    assert world.repository.handoff(handoff.handoff_id) == stored


def test_a_raised_priority_replaces_the_old_timers_with_ones_counted_from_the_raise(world: World) -> None:
    # Given a standard handoff assigned at T0, with its standard reminders and one-working-day deadline set
    lead = world.lead("lead-raised")
    handoff_id = world.service.request(lead, Priority.STANDARD, "nurtured 14 days", "cause-std").handoff.handoff_id  # type: ignore[union-attr]
    rep = assignee(world, handoff_id)
    standard = world.timers_of(handoff_id)
    [old_reminder, _, old_deadline, old_first_touch] = standard
    # When ten minutes later a demo request raises it to priority
    world.clock.advance(timedelta(minutes=10))
    raised_at = world.clock.now()
    raised = world.service.request(lead, Priority.PRIORITY, "demo_request", "cause-demo").handoff
    # Then the standard timers are deleted, and the priority's are counted from the raise, not the assignment
    assert raised is not None
    assert raised.sla_due_at == raised_at + timedelta(minutes=30)
    assert {timer.name for timer in standard} <= set(world.timers.cancelled)
    assert [(t.kind, t.due_at) for t in world.timers_of(handoff_id)] == [
        (TimerKind.REMINDER, raised_at + timedelta(minutes=15)),
        (TimerKind.REMINDER, raised_at + timedelta(minutes=25)),
        (TimerKind.SLA_ACCEPT, raised_at + timedelta(minutes=30)),
        (TimerKind.FIRST_TOUCH, raised_at + timedelta(minutes=120)),
    ]
    assert raised.details["follow_up_task"]["due_at"] == (raised_at + timedelta(minutes=120)).isoformat()
    # And when the old standard timers fire anyway (a delete can race the firing), they change nothing
    world.clock.advance(timedelta(days=1))
    before, published = world.repository.handoff(handoff_id), world.published()
    assert world.fire(old_reminder).note == "stale timer"
    assert world.fire(old_deadline).note == "stale timer"
    assert world.fire(old_first_touch).note == "stale timer"
    assert world.published() == published
    assert world.repository.handoff(handoff_id) == before
    # And the assignee accepting deletes every live timer but the priority's first-touch deadline
    world.service.accept(handoff_id, as_rep(rep))
    assert [(t.kind, t.due_at) for t in world.timers_of(handoff_id)] == [
        (TimerKind.FIRST_TOUCH, raised_at + timedelta(minutes=120))
    ]


def test_a_raised_handoff_whose_old_timers_could_not_be_deleted_loses_them_on_accept(world: World) -> None:
    # Given a standard handoff raised to immediate while Scheduler refused to delete the standard timers
    lead = world.lead("lead-raised-2")
    handoff_id = world.service.request(lead, Priority.STANDARD, "nurtured 14 days", "cause-std").handoff.handoff_id  # type: ignore[union-attr]
    rep = assignee(world, handoff_id)
    world.clock.advance(timedelta(minutes=3))
    world.timers.refuse_next_cancel = 1
    with pytest.raises(RuntimeError, match="injected"):
        world.service.request(lead, Priority.IMMEDIATE, "score 500", "cause-hot")
    stored = world.repository.handoff(handoff_id)
    assert stored is not None
    assert stored.priority is Priority.IMMEDIATE
    assert len(world.timers_of(handoff_id)) == 8  # the standard four and the immediate four
    # When the assignee accepts
    world.service.accept(handoff_id, as_rep(rep))
    # Then no timer of the handoff is left, of either priority, but the immediate first-touch deadline
    [first_touch] = world.timers_of(handoff_id)
    assert (first_touch.kind, first_touch.due_at) == (TimerKind.FIRST_TOUCH, stored.first_touch_due_at)


def test_a_breach_with_nobody_to_reassign_to_escalates_to_the_manager(world: World) -> None:
    # Given a partner referral, which the `direct` rule gives to the partnerships AE alone
    lead = world.lead("lead-partner", source="partner_referral")
    handoff = world.service.request(lead, Priority.PRIORITY, "demo_request", "cause-partner").handoff
    assert handoff is not None
    assert (handoff.rule_id, handoff.rep_id) == ("partner-referrals", "ae-nina-patel")
    # When she does not accept in time
    world.clock.advance(timedelta(minutes=31))
    [deadline] = world.timers_of(handoff.handoff_id, TimerKind.SLA_ACCEPT)
    outcome = world.fire(deadline)
    # Then the breach is published and, as no other rep may take it, the AE team's manager has it
    escalated = world.repository.handoff(handoff.handoff_id)
    assert escalated is not None
    assert (escalated.status, escalated.rep_id) == (HandoffStatus.ASSIGNED, "mgr-david-cohen")
    assert escalated.excluded_reps == ("ae-nina-patel",)
    assert [e.event_type.value for e in outcome.events] == ["handoff.sla_breached", "handoff.escalated"]
    assert "no eligible rep" in escalated.history[-1].cause
    # And the load moved with it, and the manager's accept deadline is set
    loads = world.repository.rep_loads()
    assert (loads["ae-nina-patel"].open_handoffs, loads["mgr-david-cohen"].open_handoffs) == (0, 1)
    [manager_deadline] = world.timers_of(handoff.handoff_id, TimerKind.SLA_ACCEPT)
    assert manager_deadline.assignment == 1


def test_a_bus_failure_after_the_commit_is_announced_by_the_retry(world: World) -> None:
    lead = world.lead("lead-7")
    world.bus.refuse_next = 4  # both events, of the announce and of its retry in place
    with pytest.raises(RuntimeError):
        world.service.request(lead, Priority.PRIORITY, "demo_request", "cause-7")
    assert world.published() == []
    # When the invocation is retried, the stored assignment is announced with the same ids
    outcome = world.service.request(lead, Priority.PRIORITY, "demo_request", "cause-7")
    assert world.published() == ["handoff.assigned", "lead.nurture_paused"]
    assert outcome.handoff is not None
    assert outcome.handoff.announced == len(outcome.handoff.history)


def test_a_reassignment_whose_announcement_failed_is_announced_by_the_next_sweep(world: World) -> None:
    # Given an assigned handoff, and the bus refusing the next publishes (the reject's, and its retry in place)
    handoff = world.service.request(world.lead("lead-late"), Priority.PRIORITY, "demo_request", "c-late").handoff
    assert handoff is not None
    first = handoff.rep_id
    world.bus.refuse_next = 4  # the two events of the reject, twice
    # When its rep rejects it: the change is committed, and the caller hears it was not announced yet
    with pytest.raises(Unsettled) as failed:
        world.service.reject(handoff.handoff_id, as_rep(first or ""), "wrong territory")
    stored = world.repository.handoff(handoff.handoff_id)
    assert stored is not None
    assert failed.value.handoff.rep_id == stored.rep_id != first
    assert [t for t in world.timers_of(handoff.handoff_id) if t.assignment == stored.reassignments] == []
    # And a sweep right away leaves it to its caller (a change of the last minute may still be announcing)
    assert [o.handoff.handoff_id for o in world.service.sweep_queues() if o.handoff] == []
    # When the periodic sweep runs later, with nobody having opened the handoff
    world.clock.advance(timedelta(minutes=5))
    swept = world.service.sweep_queues()
    # Then the rejection and the new assignment are published, and the new assignee's timers set
    assert [(o.handoff.handoff_id, o.note) for o in swept if o.handoff] == [(handoff.handoff_id, ANNOUNCED_LATE)]
    assert world.published()[-2:] == ["handoff.rejected", "handoff.assigned"]
    live = {t.kind for t in world.timers_of(handoff.handoff_id) if t.assignment == stored.reassignments}
    assert TimerKind.SLA_ACCEPT in live
    # And it is announced once: the next sweep finds nothing
    after = world.repository.handoff(handoff.handoff_id)
    assert after is not None
    assert after.announced == len(after.history)
    assert world.service.sweep_queues() == []


def test_a_sweep_whose_announcement_fails_again_goes_on_and_tries_next_time(world: World) -> None:
    # Given a reassignment left unannounced
    handoff = world.service.request(world.lead("lead-late2"), Priority.PRIORITY, "demo_request", "c-late2").handoff
    assert handoff is not None
    world.bus.refuse_next = 4  # the two events of the reject, twice
    with pytest.raises(Unsettled):
        world.service.reject(handoff.handoff_id, as_rep(handoff.rep_id or ""), "wrong territory")
    # When the sweep runs while the bus still refuses
    world.clock.advance(timedelta(minutes=5))
    world.bus.refuse_next = 1
    [failed] = world.service.sweep_queues()
    # Then it says so, and the next sweep announces it
    assert failed.note.startswith(NOT_ANNOUNCED_YET)
    assert failed.events == ()
    [late] = world.service.sweep_queues()
    assert late.note == ANNOUNCED_LATE
    assert [e.event_type.value for e in late.events] == ["handoff.rejected", "handoff.assigned"]


def test_a_buying_signal_below_the_fit_line_goes_to_qualification(world: World) -> None:
    lead = world.lead("lead-8", fit_score=Decimal(0))
    handoff = world.service.request(lead, Priority.PRIORITY, "pricing visit", "cause-8").handoff
    assert handoff is not None
    assert handoff.status is HandoffStatus.QUEUED
    assert handoff.queue == "sdr-qualification"
    assert world.published() == ["handoff.queued"]


def test_an_unknown_lead_is_not_handed_off(world: World) -> None:
    assert world.service.request("nobody", Priority.PRIORITY, "demo_request", "c").handoff is None
    assert world.published() == []


def test_event_ids_are_deterministic_per_transition(world: World) -> None:
    lead = world.lead("lead-9")
    handoff = world.service.request(lead, Priority.PRIORITY, "demo_request", "cause-9").handoff
    assert handoff is not None
    assert [e.event_id for e in events_of(handoff)] == [e.event_id for e in world.bus.published]


def test_a_won_customer_goes_to_a_csm_with_a_plan_once_and_a_different_request_conflicts(world: World) -> None:
    from datetime import date

    from shared.handoffs.customer_handoffs import ConflictingHandoff, CustomerHandoffRequest

    # Given a won deal handed over with its contract
    request = CustomerHandoffRequest(
        customer_id="acct-1",
        deal_id="deal-1",
        contract_value=Decimal("48000"),
        currency="USD",
        starts_on=date(2026, 3, 2),
        goals=("go live",),
    )
    first = world.service.customer_handoff(request, "sales")
    # Then a CSM has it, with the template's plan counted from the start date and the three events
    assert first.handoff is not None
    assert first.handoff.team == "csm"
    assert first.handoff.details["success_plan"]["milestones"][0]["due_on"] == "2026-03-09"
    assert world.published() == ["handoff.assigned", "customer.handoff_completed", "success_plan.created"]
    # When the same request comes again it is the stored handoff; a different one for the deal conflicts
    assert world.service.customer_handoff(request, "sales").note == "existing"
    changed = CustomerHandoffRequest(customer_id="acct-1", deal_id="deal-1", goals=("other",))
    with pytest.raises(ConflictingHandoff, match="goals"):
        world.service.customer_handoff(changed, "sales")
    # And another deal of the same customer waits until the open handoff is done
    with pytest.raises(ConflictingHandoff, match="open handoff"):
        world.service.customer_handoff(CustomerHandoffRequest(customer_id="acct-1", deal_id="deal-2"), "sales")
    assert len(world.published()) == 3


def test_a_won_deal_of_a_customer_a_csm_took_opens_no_second_onboarding(world: World) -> None:
    from shared.handoffs.customer_handoffs import CustomerHandoffRequest

    # Given a customer handed to success by its first won deal, and the CSM accepted it
    first = world.service.customer_handoff(
        CustomerHandoffRequest(customer_id="acct-1", deal_id="deal-1", source="hubspot"), "hubspot deal.won"
    ).handoff
    assert first is not None
    world.service.accept(first.handoff_id, as_rep(first.rep_id or ""))
    before = world.published()
    # When a later deal of the customer is won (an upsell) and reported by the CRM
    again = world.service.customer_handoff(
        CustomerHandoffRequest(customer_id="acct-1", deal_id="deal-2", source="hubspot"), "hubspot deal.won"
    )
    # Then no handoff is opened and the note names the onboarding
    assert again.handoff is None
    assert f"onboarded by handoff {first.handoff_id} already" in again.note
    assert world.published() == before
    assert world.repository.onboarded_by("customer:acct-1") == first.handoff_id
    assert [h.handoff_id for h in world.repository.stored.values() if h.customer_id == "acct-1"] == [first.handoff_id]


def test_a_lead_that_becomes_an_opportunity_completes_its_handoff_and_frees_the_rep(world: World) -> None:
    # Given an accepted handoff, with its first follow-up task due by the first-touch SLA
    lead = world.lead("lead-10")
    handoff = world.service.request(lead, Priority.PRIORITY, "demo_request", "cause-10").handoff
    assert handoff is not None
    assert handoff.details["follow_up_task"]["owner"] == handoff.rep_id
    world.service.accept(handoff.handoff_id, as_rep(handoff.rep_id or ""))
    # When the lead becomes an opportunity
    done = world.service.lead_progressed(lead, "Opportunity", "stage-event-1").handoff
    # Then the handoff is completed, the lead is free for a later handoff and the rep's load is back to 0
    assert done is not None
    assert done.status is HandoffStatus.COMPLETED
    assert world.repository.open_handoff_of(lead) is None
    assert world.repository.rep_loads()[handoff.rep_id or ""].open_handoffs == 0
    assert world.published(HandoffEventType.COMPLETED) == ["handoff.completed"]
    assert world.service.lead_progressed(lead, "Customer", "stage-event-2").note.endswith("has no open handoff")


def test_a_lead_not_ready_for_sales_is_recycled_to_nurture(world: World) -> None:
    lead = world.lead("lead-11")
    handoff = world.service.request(lead, Priority.PRIORITY, "demo_request", "cause-11").handoff
    assert handoff is not None
    recycled = world.service.reject(handoff.handoff_id, as_rep(handoff.rep_id or ""), "student", recycle=True).handoff
    assert recycled is not None
    assert recycled.status is HandoffStatus.RECYCLED
    assert world.repository.open_handoff_of(lead) is None
    assert world.repository.rep_loads()[handoff.rep_id or ""].open_handoffs == 0
    assert world.published(HandoffEventType.RECYCLED) == ["handoff.recycled"]
    assert world.timers.live == {}


def test_a_handoff_waiting_in_a_fallback_queue_goes_to_a_rep_who_becomes_eligible(world: World) -> None:
    # Given every AMER SDR out of routing, so a request waits in the team's fallback queue
    for rep_id in AMER_SDRS:
        world.service.set_rep(rep_id, available=False, capacity=None)
    lead = world.lead("lead-12")
    queued = world.service.request(lead, Priority.PRIORITY, "demo_request", "cause-12").handoff
    assert queued is not None
    assert queued.status is HandoffStatus.QUEUED
    assert queued.queue == "sdr-amer-queue"
    assert world.service.sweep_queues() == []
    # When one of them is back and the sweep runs
    world.service.set_rep("sdr-maya-chen", available=True, capacity=None)
    [moved] = world.service.sweep_queues()
    # Then the handoff is theirs, announced as an assignment from the queue
    assert moved.handoff is not None
    assert moved.handoff.rep_id == "sdr-maya-chen"
    assert world.published()[-2:] == ["handoff.assigned", "lead.nurture_paused"]


def test_the_queue_sweep_serves_the_most_urgent_then_the_longest_waiting_lead_first(world: World) -> None:
    # Given every AMER SDR out of routing, and leads queued one after the other: two priority leads (the older
    # first), then a standard one, then a newer priority one, then more queued than one sweep tries
    for rep_id in AMER_SDRS:
        world.service.set_rep(rep_id, available=False, capacity=None)
    queued: dict[str, str] = {}
    for name, priority in [("old", Priority.PRIORITY), ("std", Priority.STANDARD), ("new", Priority.PRIORITY)]:
        handoff = world.service.request(world.lead(f"lead-{name}"), priority, "demo_request", f"c-{name}").handoff
        assert handoff is not None
        assert handoff.status is HandoffStatus.QUEUED
        queued[name] = handoff.handoff_id
        world.clock.advance(timedelta(minutes=20))
    for n in range(4):
        world.service.request(world.lead(f"lead-late{n}"), Priority.STANDARD, "nurtured 14 days", f"c-late{n}")
    # When one SDR comes back with room for exactly one more handoff, and a sweep that tries 3 runs
    world.service.set_rep("sdr-maya-chen", available=True, capacity=1)
    moved = world.service.sweep_queues(limit=3)
    # Then the oldest of the most urgent priority is assigned, not the newest lead
    assert [o.handoff.handoff_id for o in moved if o.handoff] == [queued["old"]]
    # And with room for every one, the oldest standard lead is tried before the newer ones past the limit
    world.service.set_rep("sdr-maya-chen", available=True, capacity=100)
    moved = world.service.sweep_queues(limit=2)
    assert [o.handoff.handoff_id for o in moved if o.handoff] == [queued["new"], queued["std"]]


def signal(account_id: str, event_id: str) -> ExpansionSignal:
    return ExpansionSignal(
        account_id=account_id,
        event_id=event_id,
        readiness=Decimal("84.00"),
        reasons=("seat_pressure: 0.9500", "adoption: 6"),
        suggestions=("analytics_pro",),
        health_score=Decimal("92.50"),
        band="green",
    )


def test_an_account_ready_to_expand_goes_to_its_owner_with_the_evidence_once(world: World) -> None:
    # Given an account whose owner is an AE
    world.leads.accounts["acct-1"] = LeadFacts(lead_id="acct-1", account_id="acct-1", account_owner="ae-rachel-green")
    # When its expansion signal arrives (and is delivered again)
    first = world.service.expansion_handoff(signal("acct-1", "sig-1"))
    again = world.service.expansion_handoff(signal("acct-1", "sig-1"))
    # Then the owner has it, by the expansion rule, with the evidence and an accept deadline; announced once
    handoff = first.handoff
    assert handoff is not None
    assert (handoff.kind, handoff.status, handoff.rep_id) == (
        HandoffKind.EXPANSION,
        HandoffStatus.ASSIGNED,
        "ae-rachel-green",
    )
    assert (handoff.team, handoff.rule_id, handoff.customer_id) == ("ae", "expansion-account-owner", "acct-1")
    assert handoff.details["evidence"] == ["seat_pressure: 0.9500", "adoption: 6"]
    assert handoff.details["suggested_products"] == ["analytics_pro"]
    assert handoff.history[0].actor == "revops.success"
    assert handoff.sla_due_at is not None
    assert world.published() == ["handoff.assigned"]  # no lead nurture to pause, no success plan
    assert again.handoff is not None
    assert again.handoff.handoff_id == handoff.handoff_id
    assert len(world.repository.stored) == 1
    # And a new signal while it is open opens no second one
    later = world.service.expansion_handoff(signal("acct-1", "sig-2"))
    assert later.note == f"account acct-1 has open expansion handoff {handoff.handoff_id}"
    assert len(world.repository.stored) == 1


def test_an_account_without_an_owner_goes_to_an_ae_and_a_won_deal_completes_it(world: World) -> None:
    # Given an account with no owner, handed to sales by its expansion signal
    world.leads.accounts["acct-2"] = LeadFacts(lead_id="acct-2", account_id="acct-2", country="US")
    handoff = world.service.expansion_handoff(signal("acct-2", "sig-1")).handoff
    assert handoff is not None
    assert handoff.rep_id in AES
    # When a deal of the account is won
    done = world.service.account_deal_won("acct-2", "deal-7", "won-1")
    # Then the handoff is complete, its timers cancelled and the account free for the next signal
    assert done.handoff is not None
    assert done.handoff.status is HandoffStatus.COMPLETED
    assert done.handoff.history[-1].cause == "deal deal-7 won"
    assert world.published()[-1] == "handoff.completed"
    assert set(world.timers.cancelled) >= {timer.name for timer in timers_of(handoff, world.service.router)}
    assert world.repository.open_handoff_of("expansion:acct-2") is None
    assert world.service.expansion_handoff(signal("acct-2", "sig-2")).handoff is not None
    # And a won deal of an account with no open expansion handoff changes nothing
    assert world.service.account_deal_won("acct-9", "deal-8", "won-2").handoff is None


def test_an_expansion_signal_for_an_account_the_hub_does_not_know_is_noted_not_stored(world: World) -> None:
    outcome = world.service.expansion_handoff(signal("acct-unknown", "sig-1"))
    assert outcome.handoff is None
    assert outcome.note == "account acct-unknown is not known to the hub"
    assert world.repository.stored == {}


def test_a_won_deal_of_an_account_completes_its_expansion_handoff_and_hands_the_customer_to_success(
    world: World,
) -> None:
    from shared.events.canonical import CanonicalEvent, EventType, Subject
    from shared.handoffs.won_deals import apply_won_deal

    # Given an account handed to sales as ready to expand
    world.leads.accounts["acct-3"] = LeadFacts(lead_id="acct-3", account_id="acct-3")
    expansion = world.service.expansion_handoff(signal("acct-3", "sig-1")).handoff
    assert expansion is not None

    class Directory:
        def customer_of(self, event: CanonicalEvent) -> str | None:
            return "acct-3"

    # When its expansion deal is won (a deal.won the hub places on the account)
    won = CanonicalEvent(
        event_id="won-1",
        event_type=EventType.DEAL_WON,
        occurred_at=T0,
        received_at=T0,
        source_vendor="standard",
        vendor_event_id=None,
        vendor_event_type="deal.won",
        subject=Subject(deal_id="deal-x"),
        data={"amount": "12000.00", "currency": "USD"},
        correlation_id="c",
        delivery_id="d",
    )
    outcome = apply_won_deal(world.service, Directory(), {"detail": won.model_dump(mode="json")})
    # Then the expansion handoff is complete and the customer goes to a CSM, both announced
    done = world.repository.handoff(expansion.handoff_id)
    assert done is not None
    assert done.status is HandoffStatus.COMPLETED
    assert outcome.handoff is not None
    assert outcome.handoff.kind is HandoffKind.CUSTOMER
    assert [e.event_type.value for e in outcome.events][:2] == ["handoff.completed", "handoff.assigned"]


def test_an_expansion_waiting_in_the_ae_queue_goes_to_an_ae_who_becomes_available(world: World) -> None:
    from shared.handoffs.metrics import speed_to_lead

    # Given every AE away, and an account ready to expand
    for rep_id in AES:
        world.service.set_rep(rep_id, available=False, capacity=None)
    world.leads.accounts["acct-4"] = LeadFacts(lead_id="acct-4", account_id="acct-4")
    queued = world.service.expansion_handoff(signal("acct-4", "sig-1")).handoff
    assert queued is not None
    assert (queued.status, queued.queue) == (HandoffStatus.QUEUED, "ae-queue")
    # When one comes back and the queue sweep runs
    world.service.set_rep("ae-nina-patel", available=True, capacity=None)
    world.service.sweep_queues()
    # Then the account is theirs; and speed to lead counts leads only, not this handoff
    swept = world.repository.handoff(queued.handoff_id)
    assert swept is not None
    assert (swept.status, swept.rep_id) == (HandoffStatus.ASSIGNED, "ae-nina-patel")
    assert speed_to_lead([swept], T0).handoffs == 0


def test_a_rejected_customer_handoff_is_routed_again_by_what_its_request_said(world: World) -> None:
    from shared.handoffs.customer_handoffs import CustomerHandoffRequest

    # Given a strategic customer (contract of 150M) with the CSM with the most room
    request = CustomerHandoffRequest(customer_id="acct-5", deal_id="deal-5", contract_value=Decimal("150000000"))
    first = world.service.customer_handoff(request, "sales").handoff
    assert first is not None
    assert first.rule_id == "customer-strategic"
    # When that CSM rejects it
    assert first.rep_id is not None
    again = world.service.reject(first.handoff_id, as_rep(first.rep_id), "full book").handoff
    # Then another CSM has it by the same rule (the request's contract value, not a blank lead's)
    assert again is not None
    assert again.rule_id == "customer-strategic"
    assert again.rep_id not in (None, first.rep_id)


# Queued handoffs are never stuck: the qualification queue lets a lead through once the gate does, a person can
# give a queued handoff to a rep or recycle it, and an accepted handoff can be completed.


def _qualifying(world: World, lead_id: str) -> str:
    """A lead below the fit line whose buying signal waits in the qualification queue; the handoff's id."""
    lead = world.lead(lead_id, fit_score=Decimal(0))
    handoff = world.service.request(lead, Priority.PRIORITY, "pricing visit", f"cause-{lead_id}").handoff
    assert handoff is not None
    assert (handoff.status, handoff.queue) == (HandoffStatus.QUEUED, "sdr-qualification")
    return handoff.handoff_id


def test_a_long_qualification_queue_never_takes_the_turn_of_a_fallback_queues_handoff(world: World) -> None:
    # Given a lead waiting in the AMER fallback queue (every SDR out), then three newer buying signals below the
    # fit line waiting in the qualification queue (the sweep lists the newest first)
    for rep_id in AMER_SDRS:
        world.service.set_rep(rep_id, available=False, capacity=None)
    waiting = world.service.request(world.lead("lead-f1"), Priority.PRIORITY, "demo_request", "cause-f1").handoff
    assert waiting is not None
    assert waiting.queue == "sdr-amer-queue"
    for number in range(3):
        world.clock.advance(timedelta(seconds=1))
        _qualifying(world, f"lead-fq{number}")
    # When an SDR is back and a sweep that tries two handoffs of each kind runs
    world.service.set_rep("sdr-maya-chen", available=True, capacity=None)
    [moved] = world.service.sweep_queues(limit=2)
    # Then the fallback queue's handoff is assigned: the qualification queue's did not use up its turn
    assert moved.handoff is not None
    assert (moved.handoff.handoff_id, moved.handoff.rep_id) == (waiting.handoff_id, "sdr-maya-chen")


def test_a_commit_refused_by_a_concurrent_writer_is_tried_again_after_a_growing_random_pause() -> None:
    # Given a store that refuses the first two commits, as when concurrent routers move the same rep's load
    class Contended(InMemoryHandoffRepository):
        refusals = 2

        def commit(self, change: HandoffChange) -> None:
            if self.refusals:
                self.refusals -= 1
                raise HandoffConflict("a concurrent writer moved a rep's load")
            super().commit(change)

    pauses: list[float] = []
    leads = Leads()
    leads.known["lead-c1"] = LeadFacts(lead_id="lead-c1", email="c1@example.com", country="US", fit_score=Decimal(40))
    repository = Contended()
    service = HandoffService(
        repository, lambda: ROUTER, leads, RecordingPublisher(), RecordingTimers(), FixedClock(T0), pause=pauses.append
    )
    # When a handoff is requested
    outcome = service.request("lead-c1", Priority.PRIORITY, "demo_request", "cause-c1")
    # Then it is assigned on the third try, having paused twice, each pause at most twice the one before's bound
    assert outcome.handoff is not None
    assert outcome.handoff.status is HandoffStatus.ASSIGNED
    assert len(pauses) == 2
    assert 0 <= pauses[0] <= RETRY_PAUSE_SECONDS
    assert 0 <= pauses[1] <= 2 * RETRY_PAUSE_SECONDS


def test_a_qualifying_handoff_raised_to_immediate_goes_to_a_rep_at_once(world: World) -> None:
    # Given a buying signal below the fit line, waiting in the qualification queue
    handoff_id = _qualifying(world, "lead-q1")
    # When the lead's score crosses 500 (an immediate trigger, which the fit gate does not hold)
    outcome = world.service.request("lead-q1", Priority.IMMEDIATE, "score 500", "cause-q1-hot")
    # Then the same handoff is raised and routed to an AMER SDR in one commit, with its SLA timers set
    handoff = world.repository.handoff(handoff_id)
    assert handoff is not None
    assert (handoff.status, handoff.priority, handoff.queue) == (HandoffStatus.ASSIGNED, Priority.IMMEDIATE, None)
    assert handoff.rep_id in AMER_SDRS
    assert handoff.sla_due_at == T0 + timedelta(minutes=5)
    assert [e.event_type.value for e in outcome.events] == [
        "handoff.priority_raised",
        "handoff.assigned",
        "lead.nurture_paused",
    ]
    assert world.repository.open_handoff_of("lead-q1") == handoff_id
    assert world.repository.rep_loads()[handoff.rep_id or ""].open_handoffs == 1
    assert [t.kind for t in world.timers_of(handoff_id, TimerKind.SLA_ACCEPT)] == [TimerKind.SLA_ACCEPT]
    # And the assignee can accept it
    accepted = world.service.accept(handoff_id, as_rep(handoff.rep_id or "")).handoff
    assert accepted is not None
    assert accepted.status is HandoffStatus.ACCEPTED


def test_a_qualifying_handoff_whose_lead_now_fits_is_routed_by_the_queue_sweep(world: World) -> None:
    # Given a qualifying handoff the sweep leaves alone while the lead is below the fit line
    handoff_id = _qualifying(world, "lead-q2")
    assert world.service.sweep_queues() == []
    # When the lead's fit rises above the line and the sweep runs
    world.lead("lead-q2", fit_score=Decimal(60))
    [moved] = world.service.sweep_queues()
    # Then an AMER SDR has it, announced as an assignment from the qualification queue
    stored = world.repository.handoff(handoff_id)
    assert stored is not None
    assert (stored.status, stored.queue) == (HandoffStatus.ASSIGNED, None)
    assert stored.rep_id in AMER_SDRS
    assert "left sdr-qualification" in stored.history[-1].cause
    assert [e.event_type.value for e in moved.events] == ["handoff.assigned", "lead.nurture_paused"]


def test_a_manager_gives_a_queued_handoff_to_a_named_eligible_rep(world: World) -> None:
    # Given a handoff waiting in the qualification queue
    handoff_id = _qualifying(world, "lead-q3")
    manager = Actor(name="priya", rep_id="mgr-priya-nair", is_manager=True)
    # When a rep names another rep, or a manager names a rep who is away or full, nothing changes
    with pytest.raises(NotAllowed):
        world.service.assign(handoff_id, as_rep("sdr-jordan-reyes"), "sdr-maya-chen")
    world.service.set_rep("sdr-sam-okafor", available=False, capacity=None)
    with pytest.raises(WrongState, match="now: set unavailable"):
        world.service.assign(handoff_id, manager, "sdr-sam-okafor")
    world.service.set_rep("sdr-jordan-reyes", available=None, capacity=0)
    with pytest.raises(WrongState, match="capacity"):
        world.service.assign(handoff_id, manager, "sdr-jordan-reyes")
    assert world.published() == ["handoff.queued"]
    # When the manager gives it to Maya
    outcome = world.service.assign(handoff_id, manager, "sdr-maya-chen")
    # Then it is hers, stored and announced as an assignment by the manager, with its SLA timers and her load
    stored = world.repository.handoff(handoff_id)
    assert stored is not None
    assert (stored.status, stored.rep_id, stored.team, stored.queue) == (
        HandoffStatus.ASSIGNED,
        "sdr-maya-chen",
        "sdr-amer",
        None,
    )
    assert stored.history[-1].actor == "priya"
    assert [e.event_type.value for e in outcome.events] == ["handoff.assigned", "lead.nurture_paused"]
    assert world.repository.rep_loads()["sdr-maya-chen"].open_handoffs == 1
    assert len(world.timers_of(handoff_id, TimerKind.SLA_ACCEPT)) == 1
    # And the same assignment again changes nothing; she can accept it
    assert world.service.assign(handoff_id, manager, "sdr-maya-chen").note == "already assigned"
    assert world.service.accept(handoff_id, as_rep("sdr-maya-chen")).handoff.status is HandoffStatus.ACCEPTED  # type: ignore[union-attr]


def test_a_rep_takes_a_queued_handoff_themselves(world: World) -> None:
    handoff_id = _qualifying(world, "lead-q4")
    taken = world.service.assign(handoff_id, as_rep("sdr-sam-okafor"), "sdr-sam-okafor").handoff
    assert taken is not None
    assert (taken.status, taken.rep_id) == (HandoffStatus.ASSIGNED, "sdr-sam-okafor")
    assert world.published(HandoffEventType.ASSIGNED) == ["handoff.assigned"]


def test_a_queued_handoff_is_recycled_to_nurture_by_a_manager(world: World) -> None:
    # Given a handoff waiting in the qualification queue
    handoff_id = _qualifying(world, "lead-q5")
    # When its assignee-less queue is judged by a rep, they may not; a manager recycles it
    with pytest.raises(NotAllowed):
        world.service.reject(handoff_id, as_rep("sdr-maya-chen"), "student", recycle=True)
    manager = Actor(name="priya", rep_id="mgr-priya-nair", is_manager=True)
    outcome = world.service.reject(handoff_id, manager, "student", recycle=True)
    # Then it is recycled, published, and the lead is free for a later handoff
    stored = world.repository.handoff(handoff_id)
    assert stored is not None
    assert stored.status is HandoffStatus.RECYCLED
    assert [e.event_type.value for e in outcome.events] == ["handoff.recycled"]
    assert world.repository.open_handoff_of("lead-q5") is None


def test_a_csm_completes_an_accepted_customer_handoff_and_the_api_may_hand_the_customer_off_again(
    world: World,
) -> None:
    from shared.handoffs.customer_handoffs import ConflictingHandoff, CustomerHandoffRequest

    # Given a customer handoff a CSM accepted
    first = world.service.customer_handoff(CustomerHandoffRequest(customer_id="acct-c", deal_id="deal-1"), "sales")
    assert first.handoff is not None
    csm = first.handoff.rep_id or ""
    handoff_id = first.handoff.handoff_id
    with pytest.raises(WrongState, match="not accepted"):
        world.service.complete(handoff_id, as_rep(csm))
    world.service.accept(handoff_id, as_rep(csm))
    with pytest.raises(ConflictingHandoff, match="open handoff"):
        world.service.customer_handoff(CustomerHandoffRequest(customer_id="acct-c", deal_id="deal-2"), "sales")
    # When another rep tries to complete it, they may not; the CSM completes it
    with pytest.raises(NotAllowed):
        world.service.complete(handoff_id, as_rep("sdr-maya-chen"))
    done = world.service.complete(handoff_id, as_rep(csm))
    # Then it is completed and published, the customer freed and the CSM's load lightened
    stored = world.repository.handoff(handoff_id)
    assert stored is not None
    assert stored.status is HandoffStatus.COMPLETED
    assert stored.history[-1].actor == csm
    assert [e.event_type.value for e in done.events] == ["handoff.completed"]
    assert world.repository.open_handoff_of("customer:acct-c") is None
    assert world.repository.rep_loads()[csm].open_handoffs == 0
    assert world.service.complete(handoff_id, as_rep(csm)).note == "already completed"
    # And a request through the API hands the customer off again, while a CRM's won deal still opens none
    crm = world.service.customer_handoff(
        CustomerHandoffRequest(customer_id="acct-c", deal_id="deal-3", source="hubspot"), "hubspot deal.won"
    )
    assert crm.handoff is None
    again = world.service.customer_handoff(CustomerHandoffRequest(customer_id="acct-c", deal_id="deal-2"), "sales")
    assert again.handoff is not None
    assert again.handoff.handoff_id != handoff_id
    assert again.handoff.status is HandoffStatus.ASSIGNED


def test_a_rejection_with_nobody_else_eligible_escalates_to_the_manager(world: World) -> None:
    # Given a partner referral, which the `direct` rule gives to the partnerships AE alone
    lead = world.lead("lead-partner-r", source="partner_referral")
    handoff = world.service.request(lead, Priority.PRIORITY, "demo_request", "cause-partner-r").handoff
    assert handoff is not None
    assert handoff.rep_id == "ae-nina-patel"
    # When she rejects it
    outcome = world.service.reject(handoff.handoff_id, as_rep("ae-nina-patel"), "conflict of interest")
    # Then, as no other rep may take it, the AE team's manager has it, with the load and a deadline moved
    stored = world.repository.handoff(handoff.handoff_id)
    assert stored is not None
    assert (stored.status, stored.rep_id, stored.queue) == (HandoffStatus.ASSIGNED, "mgr-david-cohen", None)
    assert [e.event_type.value for e in outcome.events] == ["handoff.rejected", "handoff.escalated"]
    loads = world.repository.rep_loads()
    assert (loads["ae-nina-patel"].open_handoffs, loads["mgr-david-cohen"].open_handoffs) == (0, 1)
    assert len(world.timers_of(handoff.handoff_id, TimerKind.SLA_ACCEPT)) == 1


# First touch: the assignee's first contact with the lead, its SLA timer (which accepting keeps) and its breach,
# which tells the manager and moves nothing.


def _accepted_lead(world: World, lead_id: str, priority: Priority = Priority.PRIORITY) -> tuple[str, str]:
    """A lead handoff its assignee accepted; (handoff id, rep id)."""
    handoff = world.service.request(world.lead(lead_id), priority, "demo_request", f"cause-{lead_id}").handoff
    assert handoff is not None
    rep = assignee(world, handoff.handoff_id)
    world.service.accept(handoff.handoff_id, as_rep(rep))
    return handoff.handoff_id, rep


def test_the_assignee_records_the_first_touch_and_its_deadline_goes(world: World) -> None:
    # Given an accepted lead handoff, its first touch due 120 working minutes after the assignment
    handoff_id, rep = _accepted_lead(world, "lead-t1")
    world.clock.advance(timedelta(minutes=40))
    # When the rep says they called the lead five minutes ago
    called = world.clock.now() - timedelta(minutes=5)
    outcome = world.service.touch(handoff_id, as_rep(rep), TouchChannel.CALL, called, "voicemail, meeting proposed")
    # Then the touch is stored for the rep, the status unchanged, the follow-up task done, and recorded in history
    stored = world.repository.handoff(handoff_id)
    assert stored is not None
    assert stored.first_touch is not None
    assert (stored.first_touch.at, stored.first_touch.channel, stored.first_touch.rep_id) == (
        called,
        TouchChannel.CALL,
        rep,
    )
    assert stored.first_touch.note == "voicemail, meeting proposed"
    assert stored.status is HandoffStatus.ACCEPTED
    assert stored.details["follow_up_task"]["done_at"] == called.isoformat()
    assert (stored.history[-1].event, stored.history[-1].actor) == ("handoff.first_touched", rep)
    assert stored.history[-1].at == world.clock.now()
    # And handoff.first_touched is published with the touch and whether it met the SLA
    [event] = outcome.events
    assert (event.event_type, event.handoff_id, event.rep_id, event.status) == (
        HandoffEventType.FIRST_TOUCHED,
        handoff_id,
        rep,
        "accepted",
    )
    assert (event.touched_at, event.channel, event.within_sla) == (called, "call", True)
    assert event.first_touch_due_at == T0 + timedelta(minutes=120)
    # And the first-touch deadline is cancelled: the handoff has no live timer left
    assert world.timers_of(handoff_id) == []


def test_a_touch_before_acceptance_leaves_the_accept_deadline_running(world: World) -> None:
    # Given an assigned handoff not accepted yet
    handoff = world.service.request(world.lead("lead-t2"), Priority.PRIORITY, "demo_request", "cause-t2").handoff
    assert handoff is not None
    rep = assignee(world, handoff.handoff_id)
    # When the rep emails the lead first
    world.service.touch(handoff.handoff_id, as_rep(rep), TouchChannel.EMAIL)
    # Then the first touch is stored, the handoff still awaits acceptance, with its reminders and deadline only
    stored = world.repository.handoff(handoff.handoff_id)
    assert stored is not None
    assert stored.status is HandoffStatus.ASSIGNED
    assert stored.first_touch is not None
    assert stored.first_touch.at == T0
    assert [t.kind for t in world.timers_of(handoff.handoff_id)] == [
        TimerKind.REMINDER,
        TimerKind.REMINDER,
        TimerKind.SLA_ACCEPT,
    ]


def test_a_second_touch_answers_the_first_and_changes_nothing(world: World) -> None:
    # Given a lead first touched by a call
    handoff_id, rep = _accepted_lead(world, "lead-t3")
    world.service.touch(handoff_id, as_rep(rep), TouchChannel.CALL)
    first, published = world.repository.handoff(handoff_id), world.published()
    # When the rep (or their manager) records another touch later
    world.clock.advance(timedelta(hours=1))
    manager = Actor(name="priya", rep_id="mgr-priya-nair", is_manager=True)
    again = world.service.touch(handoff_id, manager, TouchChannel.MEETING, note="demo held")
    # Then the stored first touch is the answer, and nothing was written or published
    assert again.note == "already touched"
    assert again.handoff == first
    assert world.repository.handoff(handoff_id) == first
    assert world.published() == published


@pytest.mark.parametrize("state", ["queued", "recycled", "completed"])
def test_a_touch_on_a_handoff_no_rep_holds_is_a_wrong_state_saying_why(world: World, state: str) -> None:
    # Given a lead handoff that is <state>
    manager = Actor(name="priya", rep_id="mgr-priya-nair", is_manager=True)
    if state == "queued":
        handoff_id = _qualifying(world, "lead-t4")
    else:
        handoff_id, rep = _accepted_lead(world, "lead-t4")
        if state == "recycled":
            world.service.reject(handoff_id, as_rep(rep), "a student", recycle=True)
        else:
            world.service.complete(handoff_id, as_rep(rep))
    before, published = world.repository.handoff(handoff_id), world.published()
    # When a manager records a first touch, Then it is refused saying the status, and nothing changes
    with pytest.raises(WrongState, match=f"is {state}, not assigned or accepted"):
        world.service.touch(handoff_id, manager, TouchChannel.CALL)
    assert world.repository.handoff(handoff_id) == before
    assert world.published() == published


def test_a_touch_by_another_rep_or_at_an_impossible_time_is_refused(world: World) -> None:
    from shared.handoffs.service import ImpossibleTouch

    handoff_id, rep = _accepted_lead(world, "lead-t5")
    before = world.repository.handoff(handoff_id)
    with pytest.raises(NotAllowed):
        world.service.touch(handoff_id, as_rep("sdr-lena-vogel"), TouchChannel.CALL)
    with pytest.raises(ImpossibleTouch, match="in the future"):
        world.service.touch(handoff_id, as_rep(rep), TouchChannel.CALL, T0 + timedelta(minutes=1))
    with pytest.raises(ImpossibleTouch, match="before the assignment"):
        world.service.touch(handoff_id, as_rep(rep), TouchChannel.CALL, T0 - timedelta(minutes=1))
    assert world.repository.handoff(handoff_id) == before


def test_a_customer_handoff_has_no_first_touch_to_record_or_time(world: World) -> None:
    from shared.handoffs.customer_handoffs import CustomerHandoffRequest

    handoff = world.service.customer_handoff(CustomerHandoffRequest(customer_id="a-1", deal_id="d-1"), "sales").handoff
    assert handoff is not None
    assert handoff.first_touch_due_at is None
    assert world.timers_of(handoff.handoff_id, TimerKind.FIRST_TOUCH) == []
    with pytest.raises(WrongState, match="customer handoff"):
        world.service.touch(handoff.handoff_id, as_rep(handoff.rep_id or ""), TouchChannel.CALL)


def test_a_missed_first_touch_is_published_and_told_to_the_manager_and_moves_nothing(world: World) -> None:
    from shared.handoffs.notices import brief_of, notices_for
    from shared.handoffs.notifications import NoticePurpose

    # Given an accepted lead handoff whose lead its rep has not touched
    handoff_id, rep = _accepted_lead(world, "lead-t6")
    accepted = world.repository.handoff(handoff_id)
    assert accepted is not None
    loads = world.repository.rep_loads()
    # When its first-touch deadline passes
    world.clock.advance(timedelta(minutes=121))
    [deadline] = world.timers_of(handoff_id, TimerKind.FIRST_TOUCH)
    outcome = world.fire(deadline)
    # Then handoff.sla_breached is published, saying which SLA and naming the rep who has the lead
    [breach] = outcome.events
    assert (breach.event_type, breach.sla, breach.rep_id, breach.status) == (
        HandoffEventType.SLA_BREACHED,
        "first_touch",
        rep,
        "accepted",
    )
    assert breach.first_touch_due_at == accepted.first_touch_due_at
    # And it is in the history, while the handoff stays as it was: the rep's, accepted, not reassigned, same load
    stored = world.repository.handoff(handoff_id)
    assert stored is not None
    assert (stored.history[-1].event, stored.history[-1].sla) == ("handoff.sla_breached", SlaKind.FIRST_TOUCH)
    assert (stored.status, stored.rep_id, stored.reassignments, stored.excluded_reps) == (
        HandoffStatus.ACCEPTED,
        rep,
        0,
        (),
    )
    assert world.repository.rep_loads() == loads
    # And the team's manager is told (the notifier's one notice for the event), not the rep
    [notice] = notices_for(breach, stored, ROUTER, brief_of(None, stored.lead_id, [], []), "https://hub.example")
    assert (notice.purpose, notice.recipient.rep_id, notice.previous_rep) == (
        NoticePurpose.FIRST_TOUCH_MISSED,
        "mgr-priya-nair",
        rep,
    )
    assert notice.due_at == accepted.first_touch_due_at
    # And the deadline is told once: its state sets it no more (a fired schedule deletes itself), and firing it
    # again does nothing
    assert timers_of(stored, ROUTER) == []
    assert world.fire(deadline).note == "stale timer"
    assert world.published(HandoffEventType.SLA_BREACHED) == ["handoff.sla_breached"]
    # And a touch recorded after that counts as late
    late = world.service.touch(handoff_id, as_rep(rep), TouchChannel.CALL, world.clock.now() - timedelta(minutes=30))
    assert [(e.event_type, e.within_sla) for e in late.events] == [(HandoffEventType.FIRST_TOUCHED, False)]


def test_an_accept_breach_says_it_is_the_accept_sla(world: World) -> None:
    handoff = world.service.request(world.lead("lead-t7"), Priority.PRIORITY, "demo_request", "cause-t7").handoff
    assert handoff is not None
    world.clock.advance(timedelta(minutes=31))
    [deadline] = world.timers_of(handoff.handoff_id, TimerKind.SLA_ACCEPT)
    breach = next(e for e in world.fire(deadline).events if e.event_type is HandoffEventType.SLA_BREACHED)
    assert (breach.sla, breach.rep_id) == ("accept", handoff.rep_id)


def test_the_first_touch_deadline_of_an_earlier_assignment_does_nothing(world: World) -> None:
    # Given a handoff its first rep rejected, so it went to another rep with a first-touch deadline of their own
    handoff = world.service.request(world.lead("lead-t8"), Priority.PRIORITY, "demo_request", "cause-t8").handoff
    assert handoff is not None
    first = assignee(world, handoff.handoff_id)
    [old_deadline] = world.timers_of(handoff.handoff_id, TimerKind.FIRST_TOUCH)
    world.clock.advance(timedelta(minutes=10))
    world.service.reject(handoff.handoff_id, as_rep(first), "not my territory")
    moved = world.repository.handoff(handoff.handoff_id)
    assert moved is not None
    assert old_deadline.name in world.timers.cancelled
    [new_deadline] = world.timers_of(handoff.handoff_id, TimerKind.FIRST_TOUCH)
    assert (new_deadline.assignment, new_deadline.due_at) == (1, moved.first_touch_due_at)
    assert moved.details["follow_up_task"]["owner"] == moved.rep_id != first
    # When the first rep's deadline fires anyway (its delete raced the firing)
    world.clock.advance(timedelta(hours=3))
    published = world.published()
    outcome = world.fire(old_deadline)
    # Then nothing changes and nothing is published
    assert outcome.note == "stale timer"
    assert world.repository.handoff(handoff.handoff_id) == moved
    assert world.published() == published


def test_completing_an_untouched_handoff_cancels_its_first_touch_deadline(world: World) -> None:
    handoff_id, rep = _accepted_lead(world, "lead-t9")
    [deadline] = world.timers_of(handoff_id, TimerKind.FIRST_TOUCH)
    world.service.complete(handoff_id, as_rep(rep))
    assert deadline.name in world.timers.cancelled
    assert world.timers_of(handoff_id) == []
    assert world.fire(deadline).note == "stale timer"


# Speed to lead: time to first touch and the first-touch SLA, beside the accept SLA


def test_metrics_measure_the_first_touch_and_its_sla_apart_from_the_accept_sla(world: World) -> None:
    from shared.handoffs.api_views import metrics_view

    # Given three priority leads, each accepted at its assignment (within the accept SLA): one touched 40 minutes
    # after it, one whose first-touch deadline passed untouched, and one assigned later, still within it
    touched, rep = _accepted_lead(world, "lead-m1")
    missed, _ = _accepted_lead(world, "lead-m2")
    world.clock.advance(timedelta(minutes=40))
    world.service.touch(touched, as_rep(rep), TouchChannel.CALL)
    world.clock.advance(timedelta(minutes=60))
    waiting, _ = _accepted_lead(world, "lead-m3")
    world.clock.advance(timedelta(minutes=21))
    [deadline] = world.timers_of(missed, TimerKind.FIRST_TOUCH)
    world.fire(deadline)
    # When the metrics are read
    now = world.clock.now()
    figures = metrics_view(world.repository.requested_between(T0, now), T0, now, now)
    # Then the touch is timed from its assignment (and from the request), and the first-touch SLA is counted per
    # priority and team (one within, one breached, one open), while the accept SLA was met by all three
    assert (figures.assigned_to_first_touch.count, figures.assigned_to_first_touch.p50_seconds) == (1, 2400.0)
    assert (figures.requested_to_first_touch.count, figures.requested_to_first_touch.p95_seconds) == (1, 2400.0)
    [row] = figures.sla
    assert (row.priority, row.team, row.handoffs) == ("priority", "sdr-amer", 3)
    assert (row.accepted_within_sla, row.breached, row.attainment) == (3, 0, 1.0)
    assert (row.touched_within_sla, row.first_touch_breached, row.awaiting_touch_within_sla) == (1, 1, 1)
    assert row.first_touch_attainment == 0.5
    assert {waiting, missed, touched} == {h.handoff_id for h in world.repository.stored.values()}


def test_a_touch_after_a_reassignment_is_timed_from_the_assignment_it_was_made_under(world: World) -> None:
    from shared.handoffs.metrics import speed_to_lead

    # Given a lead rejected by its first rep after 10 minutes, then touched by the next 15 minutes later
    handoff = world.service.request(world.lead("lead-m4"), Priority.PRIORITY, "demo_request", "cause-m4").handoff
    assert handoff is not None
    world.clock.advance(timedelta(minutes=10))
    moved = world.service.reject(handoff.handoff_id, as_rep(assignee(world, handoff.handoff_id)), "wrong region")
    assert moved.handoff is not None
    world.clock.advance(timedelta(minutes=15))
    world.service.touch(handoff.handoff_id, as_rep(moved.handoff.rep_id or ""), TouchChannel.SOCIAL)
    # When speed to lead is measured
    figures = speed_to_lead(world.repository.stored.values(), world.clock.now())
    # Then from the second assignment (15 minutes), and from the request (25 minutes)
    assert (figures.assigned_to_first_touch, figures.requested_to_first_touch) == ([900.0], [1500.0])
