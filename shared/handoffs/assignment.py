"""Who a handoff goes to, and what that makes of it: the rep the routing rules pick (or the team's manager on an
escalation) with the handoff as assigned to them (its accept deadline, a lead's first follow-up task) and the
loads it moves, or the queue it waits in when no rep is eligible. Nothing is stored here: the service commits
the assignment."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from shared.events.handoff_events import HandoffEventType
from shared.handoffs.customer_handoffs import routing_facts
from shared.handoffs.gates import GateDecision, gate
from shared.handoffs.model import (
    HUB,
    Handoff,
    HandoffKind,
    HandoffStatus,
    HistoryEntry,
    LeadFacts,
    RepLoad,
    RoutingDecision,
    SkipReason,
)
from shared.handoffs.ports import HandoffRepository, LeadDirectory, RepDelta
from shared.handoffs.rep_loads import loads_after, merged, released
from shared.handoffs.routing import Router, RouterSource, route
from shared.handoffs.routing_strategies import Eligibility, reason_words
from shared.handoffs.sla import accept_due, first_touch_due, should_escalate
from shared.handoffs.transitions import queued

ESCALATION = "escalation"  # RoutingDecision.strategy of a handoff escalated to the team's manager
BY_HAND = "by_hand"  # RoutingDecision.strategy of a queued handoff a person gave to a named rep


class Ineligible(ValueError):
    """The rep a person named may not take the handoff now (inactive, out of office, at capacity, ...)."""


@dataclass(frozen=True)
class Assignment:
    """The handoff as assigned (or queued), and the reps' load deltas its commit applies."""

    handoff: Handoff
    reps: tuple[RepDelta, ...]


class HandoffAssigner:
    def __init__(
        self,
        repository: HandoffRepository,
        router: RouterSource,
        leads: LeadDirectory,
        now: Callable[[], datetime],
    ) -> None:
        self._repository = repository
        self._router = router
        self._leads = leads
        self._now = now

    @property
    def router(self) -> Router:
        return self._router()

    def first(self, requested: Handoff, facts: LeadFacts, reason: str = "", at: datetime | None = None) -> Assignment:
        """A new handoff routed and assigned (or queued in the team's fallback) `at` (default: when it was
        requested, for a handoff the hub requests itself; a lead's request happened before the router ran)."""
        now, loads = requested.requested_at if at is None else at, self._repository.rep_loads()
        routed = route(self.router, facts, loads, now)
        return self._assigned(requested, routed, loads, now, HUB, reason, HandoffEventType.ASSIGNED)

    def again(self, current: Handoff, moved: Handoff, now: datetime, reason: str, *, escalate: bool) -> Assignment:
        """The handoff taken from its assignee (`moved`: the transition that took it) to the next eligible rep,
        never one it was taken from before; or to the team's manager when no rep is eligible to take it (a
        `direct` rule names only the rep who breached or rejected it: waiting in the queue, it would never move;
        a rejection by the manager themselves waits in the queue), and, with `escalate` (a breach), when past
        the escalation threshold. Only once: a handoff escalated before goes to the reps left or waits in the
        team's queue (a manager's own breach of an escalated handoff never comes here: see
        `HandoffService.timer_fired`). The assignee's open handoff is released in the same commit."""
        excluded = tuple(dict.fromkeys((*current.excluded_reps, *([current.rep_id] if current.rep_id else []))))
        moved = replace(moved, excluded_reps=excluded, reassignments=current.reassignments + 1)
        loads = self._repository.rep_loads()
        release = released(current, loads)
        # Escalation happens once: a handoff the manager had already (and turned down) is routed to the reps
        # left, or waits in the team's queue, instead of going back to the manager at every breach.
        may_escalate = not escalated_before(current) and self._manager_may_take(current, excluded)
        if escalate and may_escalate and should_escalate(self.router.config, moved.reassignments):
            decision = self._escalation(current, "")
        else:
            facts = self._facts_of(current)
            decision = route(self.router, facts, loads_after(loads, release), now, exclude=excluded)
            if decision.rep_id is None and may_escalate:
                skipped = ", ".join(f"{skip.rep_id} {reason_words(skip.reason)}" for skip in decision.skips)
                why = f"no eligible rep to reassign to ({skipped or 'the rule has none'})"
                decision = replace(self._escalation(current, why), skips=decision.skips)
        event = HandoffEventType.ESCALATED if decision.strategy == ESCALATION else HandoffEventType.ASSIGNED
        assigned = self._assigned(moved, decision, loads_after(loads, release), now, HUB, reason, event)
        return Assignment(assigned.handoff, merged(release, assigned.reps))

    def rerouted(self, current: Handoff, raised: Handoff, now: datetime, reason: str) -> Assignment:
        """A handoff whose raised priority its assignee may not take (an immediate one, outside their working
        hours) released from them and routed as a new request of that priority would be: to a rep eligible now,
        or to the team's fallback queue, where the sweep gives it to the first rep who becomes eligible. Not a
        reassignment (the rep did nothing wrong): not counted towards escalation, and the rep is not excluded."""
        loads = self._repository.rep_loads()
        release = released(current, loads)
        after = loads_after(loads, release)
        decision = route(self.router, self._facts_of(raised), after, now, exclude=raised.excluded_reps)
        assigned = self._assigned(raised, decision, after, now, HUB, reason, HandoffEventType.ASSIGNED)
        return Assignment(assigned.handoff, merged(release, assigned.reps))

    def _manager_may_take(self, current: Handoff, excluded: tuple[str, ...]) -> bool:
        """Whether a rejection nobody else may take goes to the team's manager: not when the manager is the
        one who turned it down (then it waits in the team's queue, for the sweep or a person)."""
        return self.router.manager_of(current.team).rep_id not in excluded

    def _escalation(self, current: Handoff, why: str) -> RoutingDecision:
        manager = self.router.manager_of(current.team)
        explanation = f"{why}: escalated to {manager.name}" if why else f"escalated to {manager.name}"
        return RoutingDecision(current.rule_id, current.team, ESCALATION, manager.rep_id, None, (), explanation)

    def out_of_queue(self, current: Handoff, now: datetime) -> Assignment | None:
        """A queued handoff assigned to a rep who is eligible now; None while there is none."""
        facts = self._facts_of(current)
        loads = self._repository.rep_loads()
        decision = route(self.router, facts, loads, now, exclude=current.excluded_reps)
        if decision.rep_id is None:
            return None
        return self._assigned(current, decision, loads, now, HUB, f"left {current.queue}", HandoffEventType.ASSIGNED)

    def out_of_qualification(self, current: Handoff, now: datetime) -> Assignment | None:
        """A handoff waiting in the qualification queue whose lead the gate now lets through (its priority was
        raised to one the fit gate does not hold, or its fit rose): routed as a new one, to a rep or to the
        team's fallback queue. None while the gate still holds it."""
        facts = self._facts_of(current)
        passed = gate(self.router.config, facts)
        if passed.outcome is not GateDecision.ROUTE:
            return None
        loads = self._repository.rep_loads()
        decision = route(self.router, facts, loads, now, exclude=current.excluded_reps)
        reason = f"left {current.queue}: {passed.reason}"
        return self._assigned(current, decision, loads, now, HUB, reason, HandoffEventType.ASSIGNED)

    def by_hand(self, current: Handoff, rep_id: str, actor: str, now: datetime) -> Assignment:
        """A queued handoff given by a person to a named rep, who must be eligible now as routing judges it
        (KeyError: no such rep; Ineligible: why not). The rep's capacity is a condition of the commit."""
        plan = self.router.rep_plans.get(rep_id)
        if plan is None:
            raise KeyError(f'rep "{rep_id}" is not in routing file {self.router.version}')
        loads = self._repository.rep_loads()
        eligibility = Eligibility(loads, now, current.priority, current.excluded_reps, self.router.version)
        verdict = eligibility.judge(plan)
        if isinstance(verdict, SkipReason):
            raise Ineligible(
                f"{plan.rep.name} ({rep_id}) may not take handoff {current.handoff_id} now: {reason_words(verdict)}"
            )
        explanation = f'{actor} gave it to {plan.rep.name} ({rep_id}) from queue "{current.queue}"'
        decision = RoutingDecision(current.rule_id, plan.rep.team, BY_HAND, rep_id, None, (), explanation)
        return self._assigned(current, decision, loads, now, actor, "", HandoffEventType.ASSIGNED)

    def queue(self, handoff: Handoff, queue: str, team: str, decision: RoutingDecision | None, reason: str) -> Handoff:
        return queued(handoff, self._now(), queue, team, decision, reason)

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

    def _assigned(
        self,
        handoff: Handoff,
        decision: RoutingDecision,
        loads: dict[str, RepLoad],
        now: datetime,
        actor: str,
        reason: str,
        event: HandoffEventType,
    ) -> Assignment:
        if decision.rep_id is None:
            waiting = self.queue(handoff, decision.queue or "unrouted", decision.team, decision, decision.explanation)
            return Assignment(waiting, ())
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
        if handoff.kind is HandoffKind.LEAD and handoff.first_touch is None:
            # seed 004: the first follow-up task, due by the first-touch SLA (a lead touched already owes none)
            touch_due = first_touch_due(self.router.config, handoff.priority, rep, now)
            handoff = with_follow_up(handoff, rep.rep_id, touch_due)
        assigned = replace(
            handoff,
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
        delta = RepDelta(
            rep.rep_id, load.version, open_delta=1, assignment_delta=1, capacity=capacity, rotation=decision.rotation
        )
        return Assignment(assigned, (delta,))


def escalated_before(handoff: Handoff) -> bool:
    """Whether the handoff was escalated to its team's manager already (escalation happens once)."""
    escalated = HandoffEventType.ESCALATED.value
    return any(entry.event == escalated for entry in handoff.history)


def held_since_escalation(handoff: Handoff) -> bool:
    """Whether the team's manager holds the handoff as escalated to them (assigned, not accepted yet): their
    breach of the accept deadline is recorded and reminded of, and moves nothing."""
    return handoff.status is HandoffStatus.ASSIGNED and handoff.strategy == ESCALATION


def with_follow_up(handoff: Handoff, rep_id: str, due: datetime) -> Handoff:
    """The lead's first follow-up task for `rep_id`, and the first-touch deadline it is due by."""
    task = {"title": f"First touch: {handoff.lead_id}", "owner": rep_id, "due_at": due.isoformat()}
    return replace(handoff, details={**handoff.details, "follow_up_task": task}, first_touch_due_at=due)
