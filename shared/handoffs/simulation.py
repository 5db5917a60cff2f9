"""What-if routing: a candidate routing file against leads, with the loads they would build up; writes nothing.
Each lead is routed in turn as if the ones before it had been assigned, so the spread a strategy gives shows."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from shared.handoffs.model import LeadFacts, RepLoad, RoutingDecision
from shared.handoffs.routing import Router, route


@dataclass(frozen=True)
class SimulatedRouting:
    decisions: list[tuple[LeadFacts, RoutingDecision]]
    loads: dict[str, RepLoad]
    assigned: Counter[str]
    unroutable: list[str]
    changed_from_current: int


def simulate_routing(
    candidate: Router, current: Router, leads: Sequence[LeadFacts], loads: Mapping[str, RepLoad], as_of: datetime
) -> SimulatedRouting:
    candidate_loads, current_loads = dict(loads), dict(loads)
    decisions: list[tuple[LeadFacts, RoutingDecision]] = []
    assigned: Counter[str] = Counter()
    unroutable: list[str] = []
    changed = 0
    for lead in leads:
        decision = route(candidate, lead, candidate_loads, as_of)
        baseline = route(current, lead, current_loads, as_of)
        decisions.append((lead, decision))
        if (decision.rep_id, decision.queue) != (baseline.rep_id, baseline.queue):
            changed += 1
        if decision.rep_id is None:
            unroutable.append(lead.lead_id)
        else:
            assigned[decision.rep_id] += 1
            candidate_loads[decision.rep_id] = _plus_one(candidate_loads, decision.rep_id)
        if baseline.rep_id is not None:
            current_loads[baseline.rep_id] = _plus_one(current_loads, baseline.rep_id)
    return SimulatedRouting(decisions, candidate_loads, assigned, unroutable, changed)


def _plus_one(loads: Mapping[str, RepLoad], rep_id: str) -> RepLoad:
    load = loads.get(rep_id, RepLoad(rep_id))
    return replace(load, open_handoffs=load.open_handoffs + 1, assignments=load.assignments + 1)
