"""What-if routing (`POST /api/v1/routing/simulate`) treats each lead as a real handoff request would: the
gates first (no email: it waits to be identified; a buying signal below the fit line: the qualification
queue), then the rules; a gated lead takes no rep's load."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from shared.handoffs.gates import GateDecision
from shared.handoffs.model import LeadFacts, Priority
from shared.handoffs.routing import compile_routing
from shared.handoffs.routing_config import load_routing
from shared.handoffs.simulation import simulate_routing

T0 = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)  # a Tuesday: working hours in New York and Berlin
ROUTER = compile_routing(load_routing())
AMER_SDRS = {"sdr-maya-chen", "sdr-jordan-reyes", "sdr-sam-okafor"}


def lead(lead_id: str, **facts: object) -> LeadFacts:
    defaults: dict[str, object] = {"email": f"{lead_id}@example.com", "country": "US", "fit_score": Decimal(40)}
    return LeadFacts(lead_id=lead_id, **(defaults | facts))  # type: ignore[arg-type]


def test_gated_leads_are_reported_as_the_real_path_treats_them_and_take_no_load() -> None:
    # Given an ICP lead's demo request, an anonymous visitor's, and a buying signal from a lead below the fit line
    leads = [
        lead("icp", priority=Priority.PRIORITY),
        lead("anonymous", email=None, priority=Priority.IMMEDIATE),
        lead("low-fit", fit_score=Decimal(5), priority=Priority.PRIORITY),
    ]
    # When the shipped routing file is simulated against them
    result = simulate_routing(ROUTER, ROUTER, leads, {}, T0)
    outcomes = {simulated.lead.lead_id: simulated for simulated in result.decisions}
    # Then only the ICP lead goes to a rep, and only that rep's load grows
    assert outcomes["icp"].gate is GateDecision.ROUTE
    assert outcomes["icp"].decision.rep_id in AMER_SDRS
    assert dict(result.assigned) == {outcomes["icp"].decision.rep_id: 1}
    assert {rep_id: load.open_handoffs for rep_id, load in result.loads.items()} == dict(result.assigned)
    # And the anonymous lead waits to be identified, in no queue, the reason said
    anonymous = outcomes["anonymous"]
    assert anonymous.gate is GateDecision.AWAIT_IDENTIFICATION
    assert (anonymous.decision.rep_id, anonymous.decision.queue, anonymous.decision.team) == (None, None, "")
    assert "has no email yet" in anonymous.decision.explanation
    # And the low-fit buying signal goes to the qualification queue, not to a rep, the reason said
    low_fit = outcomes["low-fit"]
    assert low_fit.gate is GateDecision.QUALIFY
    assert (low_fit.decision.rep_id, low_fit.decision.queue) == (None, "sdr-qualification")
    assert "below 40" in low_fit.decision.explanation
    # And neither is routable to a rep; nothing changed from the current file (the same one)
    assert result.unroutable == ["anonymous", "low-fit"]
    assert result.changed_from_current == 0


def test_the_candidate_files_gates_decide_and_a_change_of_gates_counts_as_a_change() -> None:
    # Given a candidate that lowers the fit line for buying signals from the ICP line (40) to 10
    config = load_routing()
    gates = config.gates.model_copy(update={"min_fit_score_for_behaviour_trigger": Decimal(10)})
    candidate = compile_routing(config.model_copy(update={"gates": gates}))
    # When a pricing visit of a lead of fit 25 is simulated
    result = simulate_routing(
        candidate, ROUTER, [lead("mid-fit", fit_score=Decimal(25), priority=Priority.PRIORITY)], {}, T0
    )
    # Then the candidate hands it to an SDR, which the current file would not (it goes to qualification there)
    [simulated] = result.decisions
    assert simulated.gate is GateDecision.ROUTE
    assert simulated.decision.rep_id in AMER_SDRS
    assert result.changed_from_current == 1
