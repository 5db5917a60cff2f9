"""Gates: which handoff requests go to a person. An anonymous lead waits to be identified; a buying signal from
a lead of low fit goes to qualification, not to an AE; everything else, and every customer handoff, routes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.handoffs.gates import GateDecision, GateOutcome, gate, has_email
from shared.handoffs.model import HandoffKind, LeadFacts, Priority
from shared.handoffs.routing_config import RoutingConfig, parse_routing
from tests.unit.test_routing_config import routing_dict

# require_email, a fit line of 10 for behaviour triggers (the default is the shipped ICP line, 40), "sdr-qualification"
CONFIG = parse_routing(routing_dict(gates={"min_fit_score_for_behaviour_trigger": "10"}))


def lead(**facts: Any) -> LeadFacts:
    return LeadFacts("lead-7", **{"email": "ada@acme.example", "fit_score": Decimal(40), **facts})


def config_with(**gates: Any) -> RoutingConfig:
    return parse_routing(routing_dict(gates=gates))


def test_a_known_lead_of_good_fit_goes_to_a_person() -> None:
    outcome = gate(CONFIG, lead(priority=Priority.PRIORITY))
    assert outcome == GateOutcome(GateDecision.ROUTE, "lead lead-7: priority handoff goes to a person")


def test_a_lead_without_an_email_waits_to_be_identified() -> None:
    # given a hot lead known only by its cookie
    outcome = gate(CONFIG, lead(email=None, priority=Priority.IMMEDIATE))
    # then the request waits, and says why
    assert outcome.outcome is GateDecision.AWAIT_IDENTIFICATION
    assert outcome.reason == "lead lead-7 has no email yet: the immediate handoff waits until the lead is identified"
    assert outcome.queue is None


def test_a_blank_or_malformed_email_is_no_email() -> None:
    for email in ("", "   ", "ada", "@acme.example", "ada@"):
        assert gate(CONFIG, lead(email=email)).outcome is GateDecision.AWAIT_IDENTIFICATION, email
    assert has_email(lead(email=" ada@acme.example "))


def test_a_buying_signal_below_the_fit_line_goes_to_qualification() -> None:
    # given a behaviour trigger (priority) from a lead of fit 9.99, below the line of 10
    outcome = gate(CONFIG, lead(priority=Priority.PRIORITY, fit_score=Decimal("9.99")))
    # then it goes to the qualification queue, not to an AE
    assert (outcome.outcome, outcome.queue) == (GateDecision.QUALIFY, "sdr-qualification")
    assert outcome.reason == (
        "lead lead-7 sent a buying signal with fit score 9.99 (below 10): it goes to the qualification queue "
        '"sdr-qualification", not to an AE'
    )


def test_a_buying_signal_at_the_fit_line_routes() -> None:
    assert gate(CONFIG, lead(priority=Priority.PRIORITY, fit_score=Decimal(10))).outcome is GateDecision.ROUTE


def test_immediate_and_standard_triggers_are_not_fit_gated() -> None:
    for priority in (Priority.IMMEDIATE, Priority.STANDARD):
        assert gate(CONFIG, lead(priority=priority, fit_score=Decimal(-20))).outcome is GateDecision.ROUTE


def test_the_fit_line_and_queue_come_from_the_file() -> None:
    config = config_with(min_fit_score_for_behaviour_trigger="25.5", qualification_queue="nurture")
    outcome = gate(config, lead(priority=Priority.PRIORITY, fit_score=Decimal("25.4")))
    assert (outcome.outcome, outcome.queue) == (GateDecision.QUALIFY, "nurture")


def test_identification_comes_before_qualification() -> None:
    outcome = gate(CONFIG, lead(email=None, priority=Priority.PRIORITY, fit_score=Decimal(0)))
    assert outcome.outcome is GateDecision.AWAIT_IDENTIFICATION


def test_customer_handoffs_always_go_to_a_person() -> None:
    customer = lead(kind=HandoffKind.CUSTOMER, email=None, priority=Priority.PRIORITY, fit_score=Decimal(0))
    assert gate(CONFIG, customer).outcome is GateDecision.ROUTE


@settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(HandoffKind),
    st.none() | st.sampled_from(["", "x@y.example", "nobody"]),
    st.sampled_from(Priority),
    st.decimals(-50, 50, places=2),
)
def test_the_gate_is_exactly_the_policy(kind: HandoffKind, email: str | None, priority: Priority, fit: Decimal) -> None:
    outcome = gate(CONFIG, LeadFacts("l", email=email, kind=kind, priority=priority, fit_score=fit))
    is_lead = kind is HandoffKind.LEAD
    waits = is_lead and email != "x@y.example"
    qualifies = is_lead and not waits and priority is Priority.PRIORITY and fit < Decimal(10)
    expected = GateDecision.AWAIT_IDENTIFICATION if waits else GateDecision.QUALIFY if qualifies else GateDecision.ROUTE
    assert outcome.outcome is expected
    assert (outcome.queue is not None) == qualifies
    assert outcome.reason
