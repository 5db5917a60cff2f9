"""The handoff use cases: a handoff request becomes an assignment to the rep the rules pick (or a wait in a
queue), an assignee accepts or rejects it and first touches its lead, a deadline passes and the hub reassigns
or escalates (or, for a first touch, tells the manager), and reps' availability changes at run time.

Who a handoff goes to, and what that makes of it, is `shared.handoffs.assignment`'s to say; what the other steps
write into its record, `shared.handoffs.transitions`'; publishing a stored transition's events and setting its
timers, `shared.handoffs.announcements`'. This module decides which step to take, and commits it.

Every transition is one atomic commit (the handoff at the version it was read, the lead's one-open-handoff
lock, the reps' loads at the versions read and within capacity); a commit that loses a race is decided again
from fresh reads. Events are published after the commit, derived from the stored transition (deterministic
ids): a retry after a failed publish finds the transition stored and publishes the same events again, and
sets the same timers again (their names are deterministic too).
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from shared.events.handoff_events import HandoffEvent, HandoffEventType
from shared.handoffs.announcements import HandoffAnnouncer
from shared.handoffs.assignment import HandoffAssigner, Ineligible, held_since_escalation, with_follow_up
from shared.handoffs.assignment_timers import is_live
from shared.handoffs.customer_handoffs import (
    ConflictingHandoff,
    CustomerHandoffRequest,
    details_of,
    differing_fields,
    routing_facts,
)
from shared.handoffs.expansion_handoffs import SOURCE as EXPANSION_SOURCE
from shared.handoffs.expansion_handoffs import ExpansionSignal, expansion_subject
from shared.handoffs.first_touch import TOUCHABLE
from shared.handoffs.gates import GateDecision, GateOutcome, gate
from shared.handoffs.model import (
    HUB,
    AssignmentRef,
    FirstTouch,
    Handoff,
    HandoffKind,
    HandoffStatus,
    LeadFacts,
    Priority,
    RepLoad,
    SlaKind,
    TouchChannel,
)
from shared.handoffs.ports import (
    HandoffChange,
    HandoffConflict,
    HandoffRepository,
    LeadDirectory,
    LeadLock,
    Timer,
    TimerKind,
    TimerScheduler,
)
from shared.handoffs.rep_loads import released
from shared.handoffs.routing import Router, RouterSource
from shared.handoffs.sla import accept_due, first_touch_due
from shared.handoffs.success_plans import SuccessPlanTemplate, load_success_plan
from shared.handoffs.transitions import (
    accepted,
    first_touch_missed,
    first_touched,
    priority_raised,
    reminded,
    requested,
    restamped,
    stamped,
    transitioned,
)
from shared.handoffs.working_hours import is_working
from shared.webhooks.ports import EventPublisher

MAX_ATTEMPTS = 8
ANNOUNCE_LATE_AFTER = timedelta(minutes=1)  # the sweep leaves a change this recent to its own caller's announce
ANNOUNCED_LATE = "announced late"  # the note of an outcome the sweep announced for a failed caller
NOT_ANNOUNCED_YET = "not announced yet"  # the note's start when the sweep's announce failed too (tried again)
RETRY_PAUSE_SECONDS = 0.01  # the first retry's longest wait; each next one may wait twice as long
_HANDOFF_IDS = uuid.UUID("2f8d6c4e-1a3b-4c5d-9e7f-0a1b2c3d4e5f")
EARLY_TIMER = "early"  # the note's start when a timer was delivered before its due time (set again)


class LeadNotCaughtUp(RuntimeError):
    """The lead store is behind the lead event being handled (a retry reads it again): not the caller's error."""


class HandoffNotFound(LookupError):
    pass


class NotAllowed(PermissionError):
    """The caller may not do this to this handoff (not its assignee, nor a manager or admin)."""


class WrongState(ValueError):
    """The handoff is not in a state that allows this (accepting a handoff that was reassigned, ...)."""


class UnknownRep(LookupError):
    """A person named a rep the routing file does not have."""


class ImpossibleTouch(ValueError):
    """A first touch said to have happened when it cannot have: in the future, or before the assignment."""


class Unsettled(RuntimeError):
    """The change was committed, but what follows its commit failed (publishing its events and setting its
    timers, tried twice; or deleting the timers it ended). `handoff` is the handoff as committed: its marker
    (`HandoffRepository.unannounced`) lets the periodic sweep announce it, and a stale timer does nothing."""

    def __init__(self, handoff: Handoff, cause: BaseException) -> None:
        super().__init__(f"handoff {handoff.handoff_id} was changed, but not announced yet: {cause}")
        self.handoff = handoff


class Clock(Protocol):
    def now(self) -> datetime: ...


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
        pause: Callable[[float], None] = time.sleep,
    ) -> None:
        self.repository = repository
        self._pause = pause
        self._router = router
        self._leads = leads
        self._clock = clock
        self._success_plan = success_plan
        self._assigner = HandoffAssigner(repository, router, leads, clock.now)
        self._announcer = HandoffAnnouncer(repository, publisher, timers, router)

    @property
    def router(self) -> Router:
        return self._router()

    def now(self) -> datetime:
        return self._clock.now()

    @property
    def leads(self) -> LeadDirectory:
        return self._leads

    # --- requests ------------------------------------------------------------------------------------------

    def request(
        self,
        lead_id: str,
        priority: Priority,
        reason: str,
        cause_event_id: str | None,
        requested_at: datetime | None = None,
        requested_for: str | None = None,
    ) -> Outcome:
        """A lead.handoff_requested: gate it, then assign it (or raise the priority of the lead's open handoff).
        `requested_at` is when the request happened (the event's `occurred_at`; default now): speed to lead
        counts from it, so the time the lead waited for the router is in "requested -> assigned".

        `requested_for`: the lead's email as the request names it. The lead domain requests handoffs of
        identified leads only, so a request naming an email for a lead the store shows without one was read
        ahead of the lead's write (a commit redone after its events went out): `LeadNotCaughtUp`, retried until
        the store shows it, never dropped as waiting for an identification that already happened."""
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
            if requested_for:
                raise LeadNotCaughtUp(
                    f"lead {lead_id}: the handoff request names {requested_for!r} but the lead store shows no "
                    "email yet; retried until it does"
                )
            return Outcome(None, note=decision.reason)
        return self._retrying(lambda: self._open(handoff_id, facts, reason, cause_event_id, decision, requested_at))

    def _open(
        self,
        handoff_id: str,
        facts: LeadFacts,
        reason: str,
        cause_event_id: str | None,
        decision: GateOutcome,
        requested_at: datetime | None,
    ) -> Outcome:
        open_id = self.repository.open_handoff_of(facts.lead_id)
        if open_id is not None:
            return self._raise_priority(open_id, facts.priority, reason, cause_event_id)
        now = self._clock.now()
        new = requested(
            handoff_id,
            facts.lead_id,
            facts.kind,
            facts.priority,
            # never after now, the assignment's time: a request stamped by a clock ahead of ours waited 0 s
            at=now if requested_at is None else min(requested_at, now),
            by=HUB,
            why=reason,
            cause_event_id=cause_event_id,
        )
        if decision.outcome == GateDecision.QUALIFY:
            qualification = self.router.config.gates.qualification_queue
            waiting = self._assigner.queue(new, qualification, "", None, decision.reason)
            return self._commit(HandoffChange(replace(waiting, version=1), LeadLock.CLAIM))
        return self._assign_new(new, facts, reason, at=now)

    def _raise_priority(self, handoff_id: str, priority: Priority, reason: str, cause: str | None) -> Outcome:
        current = self._announcer.flushed(self._must(handoff_id))
        if priority.rank >= current.priority.rank:
            return Outcome(current, note=f"the lead already has open handoff {handoff_id} at {current.priority}")
        now = self._clock.now()
        raised = replace(priority_raised(current, priority, reason, now), version=current.version + 1)
        if raised.status is HandoffStatus.ASSIGNED and raised.rep_id and raised.assigned_at:
            # the SLA starts again at the raise: the new deadline and reminders count from now, and the old
            # priority's timers go (a stale one that fires anyway does nothing, see `timer_fired`)
            rep = self.router.rep(raised.rep_id)
            raised = replace(raised, sla_due_at=accept_due(self.router.config, priority, rep, now))
            if raised.kind is HandoffKind.LEAD and raised.first_touch is None:  # the first touch, too, from now
                raised = with_follow_up(raised, rep.rep_id, first_touch_due(self.router.config, priority, rep, now))
            if self._off_work_for(raised, now):
                # routing would not give an immediate handoff to a rep outside their working hours: released
                # from them and routed as a new immediate request would be (another rep, or the team's queue)
                reason = f"{raised.rep_id} is outside their working hours for an immediate handoff"
                routed = self._assigner.rerouted(current, restamped(raised), now, reason)
                change = HandoffChange(replace(routed.handoff, version=raised.version), None, routed.reps)
                return self._cancelled_after(self._commit(change), current)
        if self._qualifying(raised):  # a priority the fit gate does not hold: routed at once, as a new one
            moved = self._assigner.out_of_qualification(raised, now)
            if moved is not None:
                return self._commit(HandoffChange(replace(moved.handoff, version=raised.version), None, moved.reps))
        outcome = self._commit(HandoffChange(raised))
        return self._cancelled_after(outcome, current, keep=raised)

    def _off_work_for(self, raised: Handoff, now: datetime) -> bool:
        """Whether the handoff, raised to immediate and not accepted yet, is with a rep outside their working
        hours (whom routing skips for an immediate handoff). A handoff escalated to the manager stays theirs."""
        if raised.priority is not Priority.IMMEDIATE or raised.status is not HandoffStatus.ASSIGNED:
            return False
        if raised.rep_id is None or held_since_escalation(raised):
            return False
        plan = self.router.rep_plans.get(raised.rep_id)
        return plan is not None and not is_working(plan.schedule, now)

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
            new = requested(
                handoff_id,
                request.subject,
                HandoffKind.CUSTOMER,
                Priority.STANDARD,
                at=now,
                by=actor,
                why=f"deal {request.deal_id} won",
                cause_event_id=cause_event_id,
                customer_id=request.customer_id,
                details=details_of(request, self._success_plan(), now),
            )
            return self._assign_new(new, facts)

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
            new = requested(
                handoff_id,
                signal.subject,
                HandoffKind.EXPANSION,
                Priority.STANDARD,
                at=now,
                by=EXPANSION_SOURCE,
                why=signal.why,
                cause_event_id=signal.event_id,
                customer_id=signal.account_id,
                details=signal.details(),
            )
            return self._assign_new(new, facts)

        return self._retrying(attempt)

    def account_deal_won(self, account_id: str, deal_id: str, cause_event_id: str) -> Outcome:
        """A deal of the account was won: its open expansion handoff, if any, is complete."""
        return self._complete(expansion_subject(account_id), f"deal {deal_id} won", cause_event_id)

    def customer_handoff_of(self, customer_id: str) -> Handoff | None:
        """The customer's open success handoff, if any."""
        open_id = self.repository.open_handoff_of(f"customer:{customer_id}")
        return self.repository.handoff(open_id) if open_id else None

    # --- decisions of people -------------------------------------------------------------------------------

    def accept(
        self,
        handoff_id: str,
        actor: Actor,
        cause_event_id: str | None = None,
        about: AssignmentRef | None = None,
    ) -> Outcome:
        """The assignee (or a manager) accepts it. `cause_event_id` (a Slack click's event) is recorded with the
        acceptance, so the click delivered again is a no-op; `about` (the assignment the click's message was
        about) must be the current one, or nothing is applied (WrongState)."""

        def attempt() -> Outcome:
            current = self._announcer.flushed(self._must(handoff_id))
            if (done := _applied_already(current, cause_event_id)) is not None:
                return done
            _check_about(current, about)
            self._check_actor(current, actor)
            if current.status is HandoffStatus.ACCEPTED:
                return Outcome(current, note="already accepted")  # a second accept is idempotent
            if current.status is not HandoffStatus.ASSIGNED:
                raise WrongState(f"handoff {handoff_id} is {current.status.value}, not assigned: it cannot be accepted")
            taken = accepted(current, actor.name, self._clock.now(), cause_event_id)
            taken = replace(taken, version=current.version + 1)
            outcome = self._commit(HandoffChange(taken, onboarded=current.kind is HandoffKind.CUSTOMER))
            # the reminders and the accept deadline go; a lead's first-touch deadline stays until it is touched
            return self._cancelled_after(outcome, current, keep=taken)

        return self._retrying(attempt)

    def touch(
        self,
        handoff_id: str,
        actor: Actor,
        channel: TouchChannel,
        touched_at: datetime | None = None,
        note: str | None = None,
    ) -> Outcome:
        """The assignee (or a manager or admin) first touched the lead of an assigned or accepted lead handoff:
        the touch is stored (at `touched_at`, default now: never in the future nor before the assignment), the
        follow-up task done and the first-touch deadline cancelled; the status stays. The first touch wins: a
        later one is answered with the stored handoff (note `already touched`)."""

        def attempt() -> Outcome:
            current = self._announcer.flushed(self._must(handoff_id))
            self._check_actor(current, actor)
            if current.first_touch is not None:
                return Outcome(current, note="already touched")
            if current.kind is not HandoffKind.LEAD:
                raise WrongState(
                    f"handoff {handoff_id} is a {current.kind.value} handoff: first touches are of leads handed "
                    f"to sales"
                )
            if current.status not in TOUCHABLE:
                raise WrongState(
                    f"handoff {handoff_id} is {current.status.value}, not assigned or accepted: its lead has no "
                    f"assignee to touch it"
                )
            now = self._clock.now()
            at = touched_at or now
            if at > now:
                raise ImpossibleTouch(f"touched_at {at.isoformat()} is in the future (now is {now.isoformat()})")
            if current.assigned_at is not None and at < current.assigned_at:
                raise ImpossibleTouch(
                    f"touched_at {at.isoformat()} is before the assignment to {current.rep_id} at "
                    f"{current.assigned_at.isoformat()}"
                )
            touch = FirstTouch(at, channel, actor.name, current.rep_id, note)
            touched = replace(first_touched(current, touch, now), version=current.version + 1)
            outcome = self._commit(HandoffChange(touched))
            return self._cancelled_after(outcome, current, keep=touched)

        return self._retrying(attempt)

    def assign(self, handoff_id: str, actor: Actor, rep_id: str) -> Outcome:
        """A person takes a queued handoff (a fallback queue's, the qualification queue's) out of its queue and
        gives it to a named rep eligible now: a manager or admin to anyone, a rep to themselves. The rep's
        capacity is a condition of the same commit as any assignment's. The same assignment again is answered
        with the stored handoff (note `already assigned`)."""

        def attempt() -> Outcome:
            current = self._announcer.flushed(self._must(handoff_id))
            if not (actor.is_manager or (actor.rep_id is not None and actor.rep_id == rep_id)):
                raise NotAllowed(
                    f"only a manager or an admin may give a queued handoff to a rep (a rep may take one "
                    f"themselves); you are {actor.name}"
                )
            if current.status is HandoffStatus.ASSIGNED and current.rep_id == rep_id:
                return Outcome(current, note="already assigned")
            if current.status is not HandoffStatus.QUEUED:
                raise WrongState(f"handoff {handoff_id} is {current.status.value}, not queued: it cannot be assigned")
            try:
                assigned = self._assigner.by_hand(current, rep_id, actor.name, self._clock.now())
            except KeyError as exc:
                raise UnknownRep(exc.args[0]) from None
            except Ineligible as exc:
                raise WrongState(str(exc)) from None
            version = current.version + 1
            return self._commit(HandoffChange(replace(assigned.handoff, version=version), None, assigned.reps))

        return self._retrying(attempt)

    def complete(self, handoff_id: str, actor: Actor) -> Outcome:
        """The assignee (or a manager or admin) says an accepted handoff is done: it is completed, its subject
        freed (a customer may be handed off again through the API) and the rep's load lightened. A second
        completion is answered with the stored handoff (note `already completed`)."""

        def attempt() -> Outcome:
            current = self._announcer.flushed(self._must(handoff_id))
            self._check_actor(current, actor)
            if current.status is HandoffStatus.COMPLETED:
                return Outcome(current, note="already completed")
            if current.status is not HandoffStatus.ACCEPTED:
                raise WrongState(
                    f"handoff {handoff_id} is {current.status.value}, not accepted: it cannot be completed"
                )
            return self._completed(current, actor.name, f"completed by {actor.name}")

        return self._retrying(attempt)

    def reject(
        self,
        handoff_id: str,
        actor: Actor,
        reason: str,
        recycle: bool = False,
        cause_event_id: str | None = None,
        about: AssignmentRef | None = None,
    ) -> Outcome:
        """The assignee (or a manager) turns it down: it goes to the next eligible rep, never back to them (to
        the team's manager when nobody else may take it); or, with `recycle` (not ready for sales), the lead goes
        back to marketing nurture and the handoff closes, from its assignee or from a queue (a manager's call).
        `cause_event_id` (a Slack click's event) is recorded with the rejection: the same click delivered again
        is a no-op (note `already applied`). `about` (the assignment the click's message was about) must be the
        current one: a click on an earlier assignment's message is not applied to the next (WrongState)."""

        def attempt() -> Outcome:
            current = self._announcer.flushed(self._must(handoff_id))
            if (done := _applied_already(current, cause_event_id)) is not None:
                return done
            _check_about(current, about)
            self._check_actor(current, actor)
            recyclable = (HandoffStatus.ACCEPTED, HandoffStatus.QUEUED) if recycle else ()
            if current.status is not HandoffStatus.ASSIGNED and current.status not in recyclable:
                verb = "recycled" if recycle else "rejected"
                raise WrongState(f"handoff {handoff_id} is {current.status.value}: it cannot be {verb}")
            now = self._clock.now()
            if recycle:
                ended = replace(current, sla_due_at=None)
                recycled = transitioned(
                    ended, HandoffStatus.RECYCLED, actor.name, f"recycled: {reason}", now, cause_event_id=cause_event_id
                )
                recycled = replace(recycled, version=current.version + 1)
                outcome = self._commit(HandoffChange(recycled, LeadLock.RELEASE, released(current, self._loads())))
                return self._cancelled_after(outcome, current)
            rejected = transitioned(
                current, HandoffStatus.REJECTED, actor.name, f"rejected: {reason}", now, cause_event_id=cause_event_id
            )
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
            return self._completed(self._announcer.flushed(self._must(open_id)), HUB, cause)

        return self._retrying(attempt)

    def _completed(self, current: Handoff, actor: str, cause: str) -> Outcome:
        now = self._clock.now()
        completed = transitioned(replace(current, sla_due_at=None), HandoffStatus.COMPLETED, actor, cause, now)
        completed = replace(completed, version=current.version + 1)
        release = released(current, self._loads()) if current.status is not HandoffStatus.QUEUED else ()
        onboarded = current.kind is HandoffKind.CUSTOMER
        outcome = self._commit(HandoffChange(completed, LeadLock.RELEASE, release, onboarded=onboarded))
        return self._cancelled_after(outcome, current)

    def announce_late(self, limit: int = 100) -> list[Outcome]:
        """Announces the handoffs whose commit was left unannounced (`repository.unannounced`) by a failure
        after it (the bus, the scheduler, a crash): their events published and their timers set, e.g. a new
        assignee's notice and accept deadline after an API call's announce failed. A change of the last minute
        is left to its own caller, still announcing it. Outcomes noted `ANNOUNCED_LATE`."""
        now = self._clock.now()
        outcomes = []
        for handoff in self.repository.unannounced(limit):
            if handoff.history and now - handoff.history[-1].at < ANNOUNCE_LATE_AFTER:
                continue
            try:
                announced = self._announcer.announce(handoff)
            except Exception as exc:  # still marked: the next sweep tries again; the others go on
                outcomes.append(Outcome(handoff, (), f"{NOT_ANNOUNCED_YET}: {exc}"))
                continue
            outcomes.append(Outcome(announced.handoff, announced.events, ANNOUNCED_LATE))
        return outcomes

    def sweep_queues(self, limit: int = 200) -> list[Outcome]:
        """What the periodic sweep does: first what failures left unannounced is announced (`announce_late`;
        outcomes noted `ANNOUNCED_LATE`, or `NOT_ANNOUNCED_YET` when it failed again, first in the list), then
        handoffs waiting in a fallback queue (no rep was eligible) go to a rep who is eligible now: one who came
        back, was given capacity, or started their working day. One waiting in the qualification queue stays
        there for people while the fit gate holds it; once the gate lets it through (its lead's fit rose) it is
        routed like a new one.

        `limit` bounds the tries of each kind apart: a qualification queue of people's work (it can grow long,
        and most of it stays) never takes the turn of a fallback queue's handoff, whose lead waits for a rep.

        The most urgent priority first, and in each the longest waiting first: a rep with room for one more
        takes the lead that waited longest, and however long the queue, its oldest are tried before its newest."""
        late = self.announce_late()
        qualification = self.router.config.gates.qualification_queue
        tries = {True: 0, False: 0}  # qualifying or not -> handoffs tried
        outcomes: list[Outcome] = []
        for priority in Priority:  # most urgent first (Priority's order is its rank)
            cursor: str | None = None
            while min(tries.values()) < limit:
                page = self.repository.handoffs(HandoffStatus.QUEUED, None, priority, 50, cursor, oldest_first=True)
                for queued in page.items:  # every kind: a customer or an account waits like a lead
                    qualifying = queued.queue == qualification
                    if tries[qualifying] < limit:
                        tries[qualifying] += 1
                        outcomes.append(self._retry_queued(queued.handoff_id))
                cursor = page.next_cursor
                if cursor is None:
                    break
        return late + [outcome for outcome in outcomes if outcome.events]

    def _retry_queued(self, handoff_id: str) -> Outcome:
        def attempt() -> Outcome:
            current = self._announcer.flushed(self._must(handoff_id))
            if current.status is not HandoffStatus.QUEUED:
                return Outcome(current, note="no longer queued")
            if self._qualifying(current):
                assigned = self._assigner.out_of_qualification(current, self._clock.now())
                if assigned is None:
                    return Outcome(current, note="still held by the fit gate")
            else:
                assigned = self._assigner.out_of_queue(current, self._clock.now())
                if assigned is None:
                    return Outcome(current, note="still no eligible rep")
            return self._commit(
                HandoffChange(replace(assigned.handoff, version=current.version + 1), None, assigned.reps)
            )

        return self._retrying(attempt)

    # --- timers ----------------------------------------------------------------------------------------------

    def timer_fired(
        self, handoff_id: str, kind: TimerKind, assignment: int, due_at: datetime, early: int = 0
    ) -> Outcome:
        """A one-time schedule came due. A timer that is not one of the handoff's current timers (the same
        kind, assignment and due time) is stale and does nothing: one of an earlier assignment, of a priority
        raised since, or of a handoff accepted since (deleting timers is best effort, and can race the firing). A
        first-touch deadline that passed records the breach (the manager is told) and leaves the handoff with its
        assignee: they may have accepted it, and moving it would not touch the lead sooner. An accept deadline
        that passed moves the handoff on (`HandoffAssigner.again`), but one the team's manager let pass on a
        handoff escalated to them, which records the breach and stays theirs.

        A live timer delivered before its due time (Scheduler invokes within the minute of its `at(...)`, so up to
        59 s early) does nothing yet: it is set again (`early` times so far) for the minute after its due time,
        never lost and never acted on early (note `early`)."""

        def attempt() -> Outcome:
            stored = self.repository.handoff(handoff_id)
            current = self._announcer.flushed(stored) if stored is not None else None
            if current is None or not is_live(current, self.router, kind, assignment, due_at):
                return Outcome(current, note="stale timer")
            now = self._clock.now()
            if now < due_at:
                self._announcer.set_again(Timer(handoff_id, kind, due_at, assignment, early=early + 1))
                return Outcome(current, note=f"{EARLY_TIMER}: due {due_at.isoformat()}, set again")
            if kind is TimerKind.REMINDER:
                return self._commit(HandoffChange(replace(reminded(current, now), version=current.version + 1)))
            if kind is TimerKind.FIRST_TOUCH:
                missed = first_touch_missed(current, now)
                return self._commit(HandoffChange(replace(missed, version=current.version + 1)))
            breached = transitioned(
                current,
                HandoffStatus.ASSIGNED,
                HUB,
                f"SLA breached: not accepted by {current.sla_due_at}",
                now,
                HandoffEventType.SLA_BREACHED,
                SlaKind.ACCEPT,
            )
            if held_since_escalation(current):
                # escalated once already: the manager keeps it with no deadline and a bounded few reminders in
                # their working hours (`sla.escalated_reminder_times`), never escalated to them again
                held = replace(breached, sla_due_at=None, version=current.version + 1)
                outcome = self._commit(HandoffChange(held))
                return self._cancelled_after(outcome, current, keep=held)
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
        reassigned = self._assigner.again(current, moved, now, reason, escalate=escalate)
        version = current.version + 1
        outcome = self._commit(HandoffChange(replace(reassigned.handoff, version=version), None, reassigned.reps))
        return self._cancelled_after(outcome, current)

    def _assign_new(self, new: Handoff, facts: LeadFacts, reason: str = "", at: datetime | None = None) -> Outcome:
        """A new handoff routed and assigned (or queued in the team's fallback) `at` (default: when it was
        requested), stored with its subject's one-open-handoff lock and the rep's load in one commit."""
        assigned = self._assigner.first(new, facts, reason, at)
        return self._commit(HandoffChange(replace(assigned.handoff, version=1), LeadLock.CLAIM, assigned.reps))

    def _qualifying(self, handoff: Handoff) -> bool:
        """Whether the handoff waits in the qualification queue (the fit gate's), not a team's fallback queue."""
        queue = self.router.config.gates.qualification_queue
        return handoff.status is HandoffStatus.QUEUED and handoff.queue == queue

    def _loads(self) -> dict[str, RepLoad]:
        return self.repository.rep_loads()

    def _must(self, handoff_id: str) -> Handoff:
        handoff = self.repository.handoff(handoff_id)
        if handoff is None:
            raise HandoffNotFound(f"no handoff {handoff_id}")
        return handoff

    def _check_actor(self, handoff: Handoff, actor: Actor) -> None:
        """The assignee, a manager or an admin may act. A rep who had the handoff before and no longer has it
        is told it moved on (WrongState: 409), as the handoff's state, not their rights, is what changed."""
        if actor.is_manager or (actor.rep_id is not None and actor.rep_id == handoff.rep_id):
            return
        if actor.rep_id is not None and actor.rep_id in _former_assignees(handoff):
            now_with = handoff.rep_id or (f"queue {handoff.queue}" if handoff.queue else "nobody")
            raise WrongState(
                f"handoff {handoff.handoff_id} moved on from {actor.rep_id}: it is {handoff.status.value} "
                f"({now_with}) now"
            )
        raise NotAllowed(
            f"only the assignee ({handoff.rep_id}) or a manager or admin may do this; you are {actor.name}"
        )

    def _commit(self, change: HandoffChange) -> Outcome:
        """Commits the change, then announces it, trying once more in place when that fails; failing again, an
        `Unsettled` with the committed handoff (its commit marked it unannounced: the sweep announces it). The
        transitions it adds keep the fields their events report (`HistoryEntry.state`)."""
        change = replace(change, handoff=stamped(change.handoff, change.handoff.announced))
        self.repository.commit(change)
        try:
            return self._announce(change.handoff)
        except Exception:  # the bus's or the scheduler's: whatever it was, announce again
            try:
                return self._announce(change.handoff)
            except Exception as exc:
                raise Unsettled(change.handoff, exc) from exc

    def _cancelled_after(self, outcome: Outcome, current: Handoff, keep: Handoff | None = None) -> Outcome:
        """The timers of `current`'s assignment deleted (but those `keep` sets) after the change's commit and
        announcement; a failure is `Unsettled` (the change stands, and a timer left behind is stale)."""
        try:
            self._announcer.cancel_timers(current, keep)
        except Exception as exc:
            raise Unsettled(outcome.handoff or current, exc) from exc
        return outcome

    def _announce(self, handoff: Handoff, note: str = "") -> Outcome:
        announced = self._announcer.announce(handoff)
        return Outcome(announced.handoff, announced.events, note)

    def _retrying(self, attempt: Callable[[], Outcome]) -> Outcome:
        """Another writer moved the handoff or a rep's load between the read and the commit: read again and
        decide again. Concurrent routers all move the same reps' loads, so the tries wait a little, randomly
        and longer each time (up to about 1.3 s in all): colliding attempts spread out instead of colliding
        again, and a burst is assigned here rather than by Lambda's retry a minute or two later."""
        for retry in range(MAX_ATTEMPTS - 1):
            try:
                return attempt()
            except HandoffConflict:
                self._pause(random.uniform(0, RETRY_PAUSE_SECONDS * 2**retry))  # noqa: S311 (jitter, not secrets)
        return attempt()


def _applied_already(current: Handoff, cause_event_id: str | None) -> Outcome | None:
    """The stored handoff when the event (a Slack click) was applied to it already: a redelivery is a no-op."""
    if cause_event_id and any(entry.cause_event_id == cause_event_id for entry in current.history):
        return Outcome(current, note="already applied")
    return None


def _check_about(current: Handoff, about: AssignmentRef | None) -> None:
    """WrongState unless `about` (what a Slack button's message was about) is the handoff's current assignment."""
    if about is None or about == AssignmentRef.of(current):
        return
    now_with = current.rep_id or current.queue or "nobody"
    raise WrongState(
        f"the click was about assignment {about.number} of handoff {current.handoff_id} (to {about.rep_id}); it is "
        f"at assignment {current.reassignments} now ({current.status.value}, {now_with}): nothing applied"
    )


def _former_assignees(handoff: Handoff) -> set[str]:
    """Every rep the handoff was assigned to before (its history's, and those it was taken from)."""
    held = {entry.rep_id for entry in handoff.history if entry.rep_id is not None}
    return (held | set(handoff.excluded_reps)) - ({handoff.rep_id} if handoff.rep_id else set())
