"""The handoff use cases: a handoff request becomes an assignment to the rep the rules pick (or a wait in a
queue), an assignee accepts or rejects it, a deadline passes and the hub reassigns or escalates, and reps'
availability changes at run time.

Every transition is one atomic commit (the handoff at the version it was read, the lead's one-open-handoff
lock, the reps' loads at the versions read and within capacity); a commit that loses a race is decided again
from fresh reads. Events are published after the commit, derived from the stored transition (deterministic
ids): a retry after a failed publish finds the transition stored and publishes the same events again, and
sets the same timers again (their names are deterministic too).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from shared.events.handoff_events import HandoffEvent, HandoffEventType
from shared.handoffs.customer_handoffs import (
    ConflictingHandoff,
    CustomerHandoffRequest,
    details_of,
    differing_fields,
    routing_facts,
)
from shared.handoffs.expansion_handoffs import SOURCE as EXPANSION_SOURCE
from shared.handoffs.expansion_handoffs import ExpansionSignal, expansion_subject
from shared.handoffs.gates import GateDecision, gate
from shared.handoffs.model import (
    Handoff,
    HandoffKind,
    HandoffStatus,
    HistoryEntry,
    LeadFacts,
    Priority,
    RepLoad,
    RoutingDecision,
)
from shared.handoffs.ports import (
    HandoffChange,
    HandoffConflict,
    HandoffRepository,
    LeadLock,
    RepDelta,
    Timer,
    TimerKind,
    TimerScheduler,
)
from shared.handoffs.routing import Router, route
from shared.handoffs.sla import accept_due, first_touch_due, reminder_times, should_escalate
from shared.handoffs.success_plans import SuccessPlanTemplate, load_success_plan
from shared.webhooks.ports import EventPublisher

MAX_ATTEMPTS = 8
HUB = "hub"
_HANDOFF_IDS = uuid.UUID("2f8d6c4e-1a3b-4c5d-9e7f-0a1b2c3d4e5f")


class HandoffNotFound(LookupError):
    pass


class NotAllowed(PermissionError):
    """The caller may not do this to this handoff (not its assignee, nor a manager or admin)."""


class WrongState(ValueError):
    """The handoff is not in a state that allows this (accepting a handoff that was reassigned, ...)."""


class Clock(Protocol):
    def now(self) -> datetime: ...


class LeadDirectory(Protocol):
    def facts(self, lead_id: str) -> LeadFacts | None:
        """What routing reads about the lead and its account; None when the hub does not know the lead."""
        ...

    def account_facts(self, account_id: str) -> LeadFacts | None:
        """What routing reads about an account (its firmographics and owner); None when the hub does not know it."""
        ...


@dataclass(frozen=True)
class Actor:
    """Who acts through the API or Slack: a rep id when the caller is one of the routing file's reps, the
    user's name, and whether they may act on anyone's handoff (managers and admins)."""

    name: str
    rep_id: str | None = None
    is_manager: bool = False


@dataclass(frozen=True)
class Outcome:
    handoff: Handoff | None
    events: tuple[HandoffEvent, ...] = ()
    note: str = ""


RouterSource = Callable[[], Router]


class HandoffService:
    def __init__(
        self,
        repository: HandoffRepository,
        router: RouterSource,
        leads: LeadDirectory,
        publisher: EventPublisher,
        timers: TimerScheduler,
        clock: Clock,
        success_plan: Callable[[], SuccessPlanTemplate] = load_success_plan,
    ) -> None:
        self.repository = repository
        self._router = router
        self._leads = leads
        self._publisher = publisher
        self._timers = timers
        self._clock = clock
        self._success_plan = success_plan

    @property
    def router(self) -> Router:
        return self._router()

    def now(self) -> datetime:
        return self._clock.now()

    @property
    def leads(self) -> LeadDirectory:
        return self._leads

    # --- requests ------------------------------------------------------------------------------------------

    def request(self, lead_id: str, priority: Priority, reason: str, cause_event_id: str | None) -> Outcome:
        """A lead.handoff_requested: gate it, then assign it (or raise the priority of the lead's open handoff)."""
        facts = self._leads.facts(lead_id)
        if facts is None:
            return Outcome(None, note=f"lead {lead_id} is not known to the hub")
        facts = replace(facts, priority=priority)
        handoff_id = self.handoff_id_for(lead_id, cause_event_id or f"{priority.value}:{reason}")
        existing = self.repository.handoff(handoff_id)
        if existing is not None:  # a retry: announce what is stored and not announced yet
            return self._announce(existing, note="already handled")
        decision = gate(self.router.config, facts)
        if decision.outcome == GateDecision.AWAIT_IDENTIFICATION:
            return Outcome(None, note=decision.reason)
        return self._retrying(lambda: self._open(handoff_id, facts, reason, cause_event_id, decision))

    def _open(
        self, handoff_id: str, facts: LeadFacts, reason: str, cause_event_id: str | None, decision: GateOutcomeLike
    ) -> Outcome:
        open_id = self.repository.open_handoff_of(facts.lead_id)
        if open_id is not None:
            return self._raise_priority(open_id, facts.priority, reason, cause_event_id)
        now = self._clock.now()
        requested = Handoff(
            handoff_id=handoff_id,
            lead_id=facts.lead_id,
            kind=facts.kind,
            priority=facts.priority,
            status=HandoffStatus.REQUESTED,
            team="",
            requested_at=now,
            cause_event_id=cause_event_id,
            history=(HistoryEntry(now, HandoffStatus.REQUESTED, HUB, reason),),
        )
        if decision.outcome == GateDecision.QUALIFY:
            queued = self._queued(requested, self.router.config.gates.qualification_queue, "", None, decision.reason)
            return self._commit(HandoffChange(replace(queued, version=1), LeadLock.CLAIM))
        return self._assign_new(requested, facts, reason)

    def _raise_priority(self, handoff_id: str, priority: Priority, reason: str, cause: str | None) -> Outcome:
        current = self._flushed(self._must(handoff_id))
        if priority.rank >= current.priority.rank:
            return Outcome(current, note=f"the lead already has open handoff {handoff_id} at {current.priority}")
        now = self._clock.now()
        entry = HistoryEntry(
            now,
            current.status,
            HUB,
            f"priority raised to {priority.value}: {reason}",
            current.rep_id,
            HandoffEventType.PRIORITY_RAISED.value,
        )
        raised = replace(current, priority=priority, history=(*current.history, entry), version=current.version + 1)
        if raised.status is HandoffStatus.ASSIGNED and raised.rep_id and raised.assigned_at:
            rep = self.router.rep(raised.rep_id)
            raised = replace(raised, sla_due_at=accept_due(self.router.config, priority, rep, now))
        return self._commit(HandoffChange(raised))

    # --- sales -> customer success ------------------------------------------------------------------------

    def customer_handoff(
        self, request: CustomerHandoffRequest, actor: str, cause_event_id: str | None = None
    ) -> Outcome:
        """A won customer handed to success: assigned to a CSM by the routing file's customer rules, with the
        success plan started from the template and the baseline captured. Idempotent per customer and deal (the
        same request again answers the stored handoff, note `existing`); a different request for the same deal,
        or any for a customer whose handoff of another deal is open, is a ConflictingHandoff saying why. A won
        deal of a customer a CSM already took (not a request through the API) opens no second onboarding."""
        handoff_id = self.handoff_id_for(request.subject, f"deal:{request.deal_id}")

        def attempt() -> Outcome:
            existing = self.repository.handoff(handoff_id)
            if existing is not None:
                differing = differing_fields(existing.details.get("request", {}), request)
                if differing and request.source == "api":
                    raise ConflictingHandoff(
                        f"customer {request.customer_id} was handed off for deal {request.deal_id} already, with "
                        f"other {', '.join(differing)}; the stored handoff is {handoff_id}"
                    )
                return self._announce(existing, note="existing")
            onboarded_by = self.repository.onboarded_by(request.subject) if request.source != "api" else None
            if onboarded_by is not None:
                note = (
                    f"customer {request.customer_id} was onboarded by handoff {onboarded_by} already: deal "
                    f"{request.deal_id} opens no second onboarding"
                )
                return Outcome(None, note=note)
            open_id = self.repository.open_handoff_of(request.subject)
            if open_id is not None:
                held = self._must(open_id)
                raise ConflictingHandoff(
                    f"customer {request.customer_id} has an open handoff {open_id} for deal "
                    f"{held.details.get('request', {}).get('deal_id')} ({held.status.value}); complete it first"
                )
            now = self._clock.now()
            facts = routing_facts(request.subject, request.customer_id, request.record())
            requested = Handoff(
                handoff_id=handoff_id,
                lead_id=request.subject,
                kind=HandoffKind.CUSTOMER,
                priority=Priority.STANDARD,
                status=HandoffStatus.REQUESTED,
                team="",
                requested_at=now,
                cause_event_id=cause_event_id,
                customer_id=request.customer_id,
                details=details_of(request, self._success_plan(), now),
                history=(HistoryEntry(now, HandoffStatus.REQUESTED, actor, f"deal {request.deal_id} won"),),
            )
            return self._assign_new(requested, facts)

        return self._retrying(attempt)

    # --- customer success -> sales -----------------------------------------------------------------------

    def expansion_handoff(self, signal: ExpansionSignal) -> Outcome:
        """An account ready to expand, handed to sales: to the person the routing file's expansion rules pick
        (its owner first), with the evidence. One per signal (a redelivery answers the stored handoff); while the
        account has one open, a new signal adds none."""
        handoff_id = self.handoff_id_for(signal.subject, signal.event_id)

        def attempt() -> Outcome:
            existing = self.repository.handoff(handoff_id)
            if existing is not None:
                return self._announce(existing, note="already handled")
            open_id = self.repository.open_handoff_of(signal.subject)
            if open_id is not None:
                note = f"account {signal.account_id} has open expansion handoff {open_id}"
                return Outcome(self._must(open_id), note=note)
            facts = self._leads.account_facts(signal.account_id)
            if facts is None:
                return Outcome(None, note=f"account {signal.account_id} is not known to the hub")
            now = self._clock.now()
            facts = replace(
                facts,
                lead_id=signal.subject,
                kind=HandoffKind.EXPANSION,
                product_interest=signal.suggestions or facts.product_interest,
            )
            requested = Handoff(
                handoff_id=handoff_id,
                lead_id=signal.subject,
                kind=HandoffKind.EXPANSION,
                priority=Priority.STANDARD,
                status=HandoffStatus.REQUESTED,
                team="",
                requested_at=now,
                cause_event_id=signal.event_id,
                customer_id=signal.account_id,
                details=signal.details(),
                history=(HistoryEntry(now, HandoffStatus.REQUESTED, EXPANSION_SOURCE, signal.why),),
            )
            return self._assign_new(requested, facts)

        return self._retrying(attempt)

    def account_deal_won(self, account_id: str, deal_id: str, cause_event_id: str) -> Outcome:
        """A deal of the account was won: its open expansion handoff, if any, is complete."""
        return self._complete(expansion_subject(account_id), f"deal {deal_id} won", cause_event_id)

    def customer_handoff_of(self, customer_id: str) -> Handoff | None:
        """The customer's open success handoff, if any."""
        open_id = self.repository.open_handoff_of(f"customer:{customer_id}")
        return self.repository.handoff(open_id) if open_id else None

    # --- decisions of people -------------------------------------------------------------------------------

    def accept(self, handoff_id: str, actor: Actor, cause_event_id: str | None = None) -> Outcome:
        def attempt() -> Outcome:
            current = self._flushed(self._must(handoff_id))
            self._check_actor(current, actor)
            if current.status is HandoffStatus.ACCEPTED:
                return Outcome(current, note="already accepted")  # a second accept is idempotent
            if current.status is not HandoffStatus.ASSIGNED:
                raise WrongState(f"handoff {handoff_id} is {current.status.value}, not assigned: it cannot be accepted")
            now = self._clock.now()
            entry = HistoryEntry(
                now, HandoffStatus.ACCEPTED, actor.name, "accepted", current.rep_id, HandoffEventType.ACCEPTED.value
            )
            accepted = replace(
                current,
                status=HandoffStatus.ACCEPTED,
                accepted_at=now,
                sla_due_at=None,
                history=(*current.history, entry),
                version=current.version + 1,
            )
            outcome = self._commit(HandoffChange(accepted, onboarded=current.kind is HandoffKind.CUSTOMER))
            self._timers.cancel(self._timers_of(current))
            return outcome

        return self._retrying(attempt)

    def reject(self, handoff_id: str, actor: Actor, reason: str, recycle: bool = False) -> Outcome:
        """The assignee (or a manager) turns it down: it goes to the next eligible rep, never back to them; or,
        with `recycle` (not ready for sales), the lead goes back to marketing nurture and the handoff closes."""

        def attempt() -> Outcome:
            current = self._flushed(self._must(handoff_id))
            self._check_actor(current, actor)
            if current.status not in (HandoffStatus.ASSIGNED, HandoffStatus.ACCEPTED if recycle else None):
                verb = "recycled" if recycle else "rejected"
                raise WrongState(f"handoff {handoff_id} is {current.status.value}: it cannot be {verb}")
            now = self._clock.now()
            if recycle:
                recycled = self._transition(current, HandoffStatus.RECYCLED, actor.name, f"recycled: {reason}", now)
                recycled = replace(recycled, sla_due_at=None, version=current.version + 1)
                outcome = self._commit(HandoffChange(recycled, LeadLock.RELEASE, self._release(current, self._loads())))
                self._timers.cancel(self._timers_of(current))
                return outcome
            rejected = self._transition(current, HandoffStatus.REJECTED, actor.name, f"rejected: {reason}", now)
            return self._reassign(current, rejected, now, f"rejected by {current.rep_id}: {reason}", escalate=False)

        return self._retrying(attempt)

    def lead_progressed(self, lead_id: str, stage: str, cause_event_id: str) -> Outcome:
        """The lead moved past sales acceptance (an opportunity, a customer): its open handoff is completed, the
        lead freed and the rep's load lightened."""
        return self._complete(lead_id, f"the lead became {stage}", cause_event_id)

    def _complete(self, subject: str, cause: str, cause_event_id: str) -> Outcome:
        """The subject's open handoff is completed, the subject freed and the rep's load lightened."""

        def attempt() -> Outcome:
            open_id = self.repository.open_handoff_of(subject)
            if open_id is None:
                return Outcome(None, note=f"{subject} has no open handoff")
            current = self._flushed(self._must(open_id))
            now = self._clock.now()
            completed = self._transition(current, HandoffStatus.COMPLETED, HUB, cause, now)
            completed = replace(completed, sla_due_at=None, version=current.version + 1)
            release = self._release(current, self._loads()) if current.status is not HandoffStatus.QUEUED else ()
            onboarded = current.kind is HandoffKind.CUSTOMER
            outcome = self._commit(HandoffChange(completed, LeadLock.RELEASE, release, onboarded=onboarded))
            self._timers.cancel(self._timers_of(current))
            return outcome

        return self._retrying(attempt)

    def sweep_queues(self, limit: int = 200) -> list[Outcome]:
        """Handoffs waiting in a fallback queue (no rep was eligible) go to a rep who is eligible now: one who came
        back, was given capacity, or started their working day. The qualification queue is left to people."""
        outcomes: list[Outcome] = []
        cursor: str | None = None
        qualification = self.router.config.gates.qualification_queue
        while len(outcomes) < limit:
            page = self.repository.handoffs(HandoffStatus.QUEUED, None, None, min(50, limit), cursor)
            for queued in page.items:
                if queued.queue != qualification:  # every kind: a customer or an account waits like a lead
                    outcomes.append(self._retry_queued(queued.handoff_id))
            cursor = page.next_cursor
            if cursor is None:
                break
        return [outcome for outcome in outcomes if outcome.events]

    def _retry_queued(self, handoff_id: str) -> Outcome:
        def attempt() -> Outcome:
            current = self._flushed(self._must(handoff_id))
            if current.status is not HandoffStatus.QUEUED:
                return Outcome(current, note="no longer queued")
            now = self._clock.now()
            facts = self._facts_of(current)
            loads = self._loads()
            decision = route(self.router, facts, loads, now, exclude=current.excluded_reps)
            if decision.rep_id is None:
                return Outcome(current, note="still no eligible rep")
            applied = self._apply(
                current, decision, loads, now, HUB, f"left {current.queue}", HandoffEventType.ASSIGNED
            )
            return self._commit(
                HandoffChange(replace(applied.handoff, version=current.version + 1), None, applied.reps)
            )

        return self._retrying(attempt)

    # --- timers ----------------------------------------------------------------------------------------------

    def timer_fired(self, handoff_id: str, kind: TimerKind, assignment: int) -> Outcome:
        """A one-time schedule came due. A timer of an earlier assignment, or of a handoff accepted since, is
        stale and does nothing (deleting it on accept is best effort)."""

        def attempt() -> Outcome:
            stored = self.repository.handoff(handoff_id)
            current = self._flushed(stored) if stored is not None else None
            if current is None or current.status is not HandoffStatus.ASSIGNED or current.reassignments != assignment:
                return Outcome(current, note="stale timer")
            now = self._clock.now()
            if kind is TimerKind.REMINDER:
                entry = HistoryEntry(
                    now,
                    current.status,
                    HUB,
                    "reminder: not accepted yet",
                    current.rep_id,
                    HandoffEventType.REMINDED.value,
                )
                reminded = replace(current, history=(*current.history, entry), version=current.version + 1)
                return self._commit(HandoffChange(reminded))
            breached = self._transition(
                current,
                HandoffStatus.ASSIGNED,
                HUB,
                f"SLA breached: not accepted by {current.sla_due_at}",
                now,
                HandoffEventType.SLA_BREACHED,
            )
            return self._reassign(current, breached, now, f"{current.rep_id} did not accept in time", escalate=True)

        return self._retrying(attempt)

    # --- run-time rep state ------------------------------------------------------------------------------------

    def set_rep(self, rep_id: str, available: bool | None, capacity: int | None) -> RepLoad:
        self.router.rep(rep_id)  # KeyError names an unknown rep
        return self.repository.set_rep_overrides(rep_id, available, capacity, self.router.config.version)

    # --- mechanics -------------------------------------------------------------------------------------------

    @staticmethod
    def handoff_id_for(lead_id: str, cause: str) -> str:
        return uuid.uuid5(_HANDOFF_IDS, f"{lead_id}:{cause}").hex

    def _reassign(self, current: Handoff, moved: Handoff, now: datetime, reason: str, *, escalate: bool) -> Outcome:
        excluded = tuple(dict.fromkeys((*current.excluded_reps, *([current.rep_id] if current.rep_id else []))))
        moved = replace(moved, excluded_reps=excluded, reassignments=current.reassignments + 1)
        loads = self._loads()
        release = self._release(current, loads)
        if escalate and should_escalate(self.router.config, moved.reassignments):
            manager = self.router.manager_of(current.team)
            decision = RoutingDecision(
                current.rule_id, current.team, "escalation", manager.rep_id, None, (), f"escalated to {manager.name}"
            )
            event = HandoffEventType.ESCALATED
        else:
            facts = self._facts_of(current)
            decision = route(self.router, facts, _after(loads, release), now, exclude=excluded)
            event = HandoffEventType.ASSIGNED
        applied = self._apply(moved, decision, _after(loads, release), now, HUB, reason, event)
        reps = _merge(release, applied.reps)
        outcome = self._commit(HandoffChange(replace(applied.handoff, version=current.version + 1), None, reps))
        self._timers.cancel(self._timers_of(current))
        return outcome

    def _assign_new(self, requested: Handoff, facts: LeadFacts, reason: str = "") -> Outcome:
        """A new handoff routed and assigned (or queued in the team's fallback), stored with its subject's
        one-open-handoff lock and the rep's load in one commit."""
        now, loads = requested.requested_at, self._loads()
        routed = route(self.router, facts, loads, now)
        assigned = self._apply(requested, routed, loads, now, HUB, reason, HandoffEventType.ASSIGNED)
        return self._commit(HandoffChange(replace(assigned.handoff, version=1), LeadLock.CLAIM, assigned.reps))

    def _facts_of(self, handoff: Handoff) -> LeadFacts:
        """What routing reads to route the handoff again: a customer's from its request, as first routed; an
        account's or a lead's as they are now (blank when the hub no longer knows them)."""
        facts: LeadFacts | None
        if handoff.kind is HandoffKind.CUSTOMER and handoff.customer_id is not None:
            facts = routing_facts(handoff.lead_id, handoff.customer_id, handoff.details.get("request", {}))
        elif handoff.kind is HandoffKind.EXPANSION and handoff.customer_id is not None:
            facts = self._leads.account_facts(handoff.customer_id)
        else:
            facts = self._leads.facts(handoff.lead_id)
        facts = facts or LeadFacts(lead_id=handoff.lead_id)
        return replace(facts, lead_id=handoff.lead_id, priority=handoff.priority, kind=handoff.kind)

    @dataclass(frozen=True)
    class _Applied:
        handoff: Handoff
        reps: tuple[RepDelta, ...]

    def _apply(
        self,
        handoff: Handoff,
        decision: RoutingDecision,
        loads: dict[str, RepLoad],
        now: datetime,
        actor: str,
        reason: str,
        event: HandoffEventType,
    ) -> HandoffService._Applied:
        if decision.rep_id is None:
            queued = self._queued(handoff, decision.queue or "unrouted", decision.team, decision, decision.explanation)
            return self._Applied(queued, ())
        rep = self.router.rep(decision.rep_id)
        load = loads.get(rep.rep_id, RepLoad(rep.rep_id))
        capacity = None if event is HandoffEventType.ESCALATED else self.router.capacity_of(rep, load)
        entry = HistoryEntry(
            now,
            HandoffStatus.ASSIGNED,
            actor,
            f"{reason}; {decision.explanation}" if reason else decision.explanation,
            rep.rep_id,
            event.value,
            handoff.rep_id,
        )
        details = handoff.details
        if handoff.kind is HandoffKind.LEAD:  # seed 004: the first follow-up task, due by the first-touch SLA
            due = first_touch_due(self.router.config, handoff.priority, rep, now)
            task = {"title": f"First touch: {handoff.lead_id}", "owner": rep.rep_id, "due_at": due.isoformat()}
            details = {**details, "follow_up_task": task}
        assigned = replace(
            handoff,
            details=details,
            status=HandoffStatus.ASSIGNED,
            rep_id=rep.rep_id,
            team=decision.team,
            queue=None,
            rule_id=decision.rule_id,
            strategy=decision.strategy,
            assigned_at=now,
            sla_due_at=accept_due(self.router.config, handoff.priority, rep, now),
            skips=decision.skips,
            history=(*handoff.history, entry),
        )
        delta = RepDelta(rep.rep_id, load.version, open_delta=1, assignment_delta=1, capacity=capacity)
        return self._Applied(assigned, (delta,))

    def _queued(
        self, handoff: Handoff, queue: str, team: str, decision: RoutingDecision | None, reason: str
    ) -> Handoff:
        now = self._clock.now()
        entry = HistoryEntry(
            now, HandoffStatus.QUEUED, HUB, reason, None, HandoffEventType.QUEUED.value, handoff.rep_id
        )
        return replace(
            handoff,
            status=HandoffStatus.QUEUED,
            rep_id=None,
            queue=queue,
            team=team or handoff.team,
            rule_id=decision.rule_id if decision else None,
            strategy=decision.strategy if decision else None,
            sla_due_at=None,
            skips=decision.skips if decision else (),
            history=(*handoff.history, entry),
        )

    def _transition(
        self,
        current: Handoff,
        status: HandoffStatus,
        actor: str,
        cause: str,
        now: datetime,
        event: HandoffEventType | None = None,
    ) -> Handoff:
        kind = event or HandoffEventType(f"handoff.{status.value}")
        entry = HistoryEntry(now, status, actor, cause, current.rep_id, kind.value)
        return replace(current, status=status, history=(*current.history, entry))

    def _release(self, current: Handoff, loads: dict[str, RepLoad]) -> tuple[RepDelta, ...]:
        if current.rep_id is None:
            return ()
        load = loads.get(current.rep_id, RepLoad(current.rep_id))
        return (RepDelta(current.rep_id, load.version, open_delta=-1),)

    def _loads(self) -> dict[str, RepLoad]:
        return self.repository.rep_loads()

    def _must(self, handoff_id: str) -> Handoff:
        handoff = self.repository.handoff(handoff_id)
        if handoff is None:
            raise HandoffNotFound(f"no handoff {handoff_id}")
        return handoff

    def _check_actor(self, handoff: Handoff, actor: Actor) -> None:
        if actor.is_manager or (actor.rep_id is not None and actor.rep_id == handoff.rep_id):
            return
        raise NotAllowed(
            f"only the assignee ({handoff.rep_id}) or a manager or admin may do this; you are {actor.name}"
        )

    def _timers_of(self, handoff: Handoff) -> list[Timer]:
        if handoff.status is not HandoffStatus.ASSIGNED or handoff.rep_id is None or handoff.assigned_at is None:
            return []
        rep = self.router.rep(handoff.rep_id)
        timers = [
            Timer(handoff.handoff_id, TimerKind.REMINDER, at, handoff.reassignments)
            for at in reminder_times(self.router.config, handoff.priority, rep, handoff.assigned_at)
        ]
        if handoff.sla_due_at is not None:
            timers.append(Timer(handoff.handoff_id, TimerKind.SLA_ACCEPT, handoff.sla_due_at, handoff.reassignments))
        return timers

    def _commit(self, change: HandoffChange) -> Outcome:
        self.repository.commit(change)
        return self._announce(change.handoff)

    def _flushed(self, handoff: Handoff) -> Handoff:
        """The handoff with every stored transition announced (a crash or a bus failure after an earlier
        commit left some unannounced): what a use case decides from."""
        if handoff.announced >= len(handoff.history):
            return handoff
        outcome = self._announce(handoff)
        assert outcome.handoff is not None
        return outcome.handoff

    def _announce(self, handoff: Handoff, note: str = "") -> Outcome:
        """Publishes the events of the transitions not announced yet and sets the timers of the handoff's state
        (both idempotent), then records them as announced. Losing that last write to a concurrent change is
        harmless: whoever changed it announces again, with the same event ids and timer names."""
        events = self.events_of(handoff, since=handoff.announced)
        if events:
            failed = self._publisher.publish(events).failed
            if failed:
                raise RuntimeError(f"the bus refused {len(failed)} handoff event(s): {next(iter(failed.values()))}")
        self._timers.set(self._timers_of(handoff))
        if handoff.announced >= len(handoff.history):
            return Outcome(handoff, tuple(events), note)
        marked = replace(handoff, announced=len(handoff.history), version=handoff.version + 1)
        try:
            self.repository.commit(HandoffChange(marked))
        except HandoffConflict:
            return Outcome(handoff, tuple(events), note)
        return Outcome(marked, tuple(events), note)

    def events_of(self, handoff: Handoff, since: int = 0) -> list[HandoffEvent]:
        """The events of the transitions from `since` on: each its own, and the nurture pause on a lead's first
        assignment (seed 004: nurture pauses, the sales sequence starts)."""
        events = []
        for position in range(since, len(handoff.history)):
            entry = handoff.history[position]
            if entry.event is None:
                continue
            kind = HandoffEventType(entry.event)
            events.append(self._event(handoff, kind, position, entry))
            first_assignment = kind is HandoffEventType.ASSIGNED and entry.previous_rep_id is None
            if first_assignment and handoff.kind is HandoffKind.LEAD:
                events.append(self._event(handoff, HandoffEventType.NURTURE_PAUSED, position, entry))
            if first_assignment and handoff.kind is HandoffKind.CUSTOMER:
                for follower in (HandoffEventType.CUSTOMER_HANDOFF_COMPLETED, HandoffEventType.SUCCESS_PLAN_CREATED):
                    events.append(self._event(handoff, follower, position, entry))
        return events

    def _event(self, handoff: Handoff, kind: HandoffEventType, position: int, entry: HistoryEntry) -> HandoffEvent:
        return HandoffEvent(
            event_id=HandoffEvent.id_for(handoff.handoff_id, kind, str(position)),
            event_type=kind,
            occurred_at=entry.at,
            handoff_id=handoff.handoff_id,
            kind=handoff.kind.value,
            lead_id=handoff.lead_id,
            customer_id=handoff.customer_id,
            priority=handoff.priority.value,
            status=entry.status.value,
            rep_id=entry.rep_id,
            previous_rep_id=entry.previous_rep_id,
            team=handoff.team,
            queue=handoff.queue,
            rule_id=handoff.rule_id,
            sla_due_at=handoff.sla_due_at,
            reassignments=handoff.reassignments,
            actor=entry.actor,
            reason=entry.cause,
            cause_event_id=handoff.cause_event_id,
        )

    def _retrying(self, attempt: Callable[[], Outcome]) -> Outcome:
        for _ in range(MAX_ATTEMPTS - 1):
            try:
                return attempt()
            except HandoffConflict:
                continue
        return attempt()


class GateOutcomeLike(Protocol):
    @property
    def outcome(self) -> GateDecision: ...

    @property
    def reason(self) -> str: ...


def _after(loads: dict[str, RepLoad], deltas: Sequence[RepDelta]) -> dict[str, RepLoad]:
    """Loads as they will be once `deltas` commit (routing after a release sees the freed capacity)."""
    moved = dict(loads)
    for delta in deltas:
        load = moved.get(delta.rep_id, RepLoad(delta.rep_id))
        moved[delta.rep_id] = replace(
            load,
            open_handoffs=load.open_handoffs + delta.open_delta,
            assignments=load.assignments + delta.assignment_delta,
        )
    return moved


def _merge(first: Sequence[RepDelta], second: Sequence[RepDelta]) -> tuple[RepDelta, ...]:
    """One delta per rep (a transaction may touch an item once): a reassignment back to the same rep nets out."""
    merged: dict[str, RepDelta] = {}
    for delta in (*first, *second):
        if delta.rep_id in merged:
            before = merged[delta.rep_id]
            delta = RepDelta(
                delta.rep_id,
                before.expected_version,
                before.open_delta + delta.open_delta,
                before.assignment_delta + delta.assignment_delta,
                delta.capacity if delta.capacity is not None else before.capacity,
            )
        merged[delta.rep_id] = delta
    return tuple(merged.values())
