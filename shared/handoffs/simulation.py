"""What-if routing: a candidate routing file against leads, with the loads they would build up; writes nothing.
Each lead is treated as its handoff request would be: the file's gates first (a lead without an email waits to
be identified; a buying signal below the fit line goes to the qualification queue; `shared.handoffs.gates`),
then its rules. Each lead is routed in turn as if the ones before it had been assigned, so the spread a
strategy gives shows."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from shared.handoffs.gates import GateDecision, gate
from shared.handoffs.model import LeadFacts, RepLoad, RoutingDecision
from shared.handoffs.routing import NO_RULE_STRATEGY, Router, route


@dataclass(frozen=True)
class SimulatedDecision:
    """What a request for `lead` would come to: the gate's outcome, and who (or which queue, or nobody yet)."""

    lead: LeadFacts
    gate: GateDecision
    decision: RoutingDecision


@dataclass(frozen=True)
class SimulatedRouting:
    decisions: list[SimulatedDecision]
    loads: dict[str, RepLoad]
    assigned: Counter[str]
    unroutable: list[str]
    changed_from_current: int


def simulate_routing(
    candidate: Router, current: Router, leads: Sequence[LeadFacts], loads: Mapping[str, RepLoad], as_of: datetime
) -> SimulatedRouting:
    candidate_loads, current_loads = dict(loads), dict(loads)
    decisions: list[SimulatedDecision] = []
    assigned: Counter[str] = Counter()
    unroutable: list[str] = []
    changed = 0
    for lead in leads:
        simulated = _decided(candidate, lead, candidate_loads, as_of)
        baseline = _decided(current, lead, current_loads, as_of)
        decision = simulated.decision
        decisions.append(simulated)
        if (decision.rep_id, decision.queue) != (baseline.decision.rep_id, baseline.decision.queue):
            changed += 1
        if decision.rep_id is None:
            unroutable.append(lead.lead_id)
        else:
            assigned[decision.rep_id] += 1
            candidate_loads[decision.rep_id] = _plus_one(candidate_loads, decision.rep_id, decision.rotation)
        if baseline.decision.rep_id is not None:
            current_loads[baseline.decision.rep_id] = _plus_one(
                current_loads, baseline.decision.rep_id, baseline.decision.rotation
            )
    return SimulatedRouting(decisions, candidate_loads, assigned, unroutable, changed)


def _decided(router: Router, lead: LeadFacts, loads: Mapping[str, RepLoad], as_of: datetime) -> SimulatedDecision:
    """As the handoff service decides a request: a lead the gate holds back reaches no rule (no rep, no load):
    it waits to be identified (no queue: no handoff is opened) or in the qualification queue."""
    gated = gate(router.config, lead)
    if gated.outcome is GateDecision.ROUTE:
        return SimulatedDecision(lead, gated.outcome, route(router, lead, loads, as_of))
    queue = gated.queue if gated.outcome is GateDecision.QUALIFY else None
    held = RoutingDecision(None, "", NO_RULE_STRATEGY, None, queue, (), gated.reason)
    return SimulatedDecision(lead, gated.outcome, held)


def _plus_one(loads: Mapping[str, RepLoad], rep_id: str, rotation: int | None) -> RepLoad:
    load = loads.get(rep_id, RepLoad(rep_id))
    return replace(
        load,
        open_handoffs=load.open_handoffs + 1,
        assignments=load.assignments + 1,
        rotation=load.rotation if rotation is None else rotation,
    )
