"""Which handoff requests go to a person, before any routing rule is tried.

`gate(config, lead)` answers with a `GateOutcome` whose `outcome` is one of:

- `route`: route it to a person (`shared.handoffs.routing.route`);
- `await_identification`: the lead has no email and the file's `gates.require_email` holds: nobody can reach
  the lead yet, so the request waits; the service fires it again when the lead gets an email;
- `qualify`: a `priority` trigger (a buying signal, a behaviour) from a lead whose `fit_score` is below
  `gates.min_fit_score_for_behaviour_trigger`: the request goes to the qualification queue
  (`gates.qualification_queue`, `queue` of the outcome), not to an AE. `immediate` and `standard` triggers
  are not fit-gated: the score behind them already weighs fit.

Customer handoffs (sales -> customer success, after a won deal) always route: the customer is known and
qualified by the deal itself. The email check comes first: an anonymous lead waits even when its fit is low.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from shared.handoffs.model import HandoffKind, LeadFacts, Priority
from shared.handoffs.routing_config import RoutingConfig


class GateDecision(StrEnum):
    ROUTE = "route"
    AWAIT_IDENTIFICATION = "await_identification"
    QUALIFY = "qualify"


@dataclass(frozen=True)
class GateOutcome:
    """What to do with a handoff request, and why in a sentence. `queue`: where a `qualify` request goes."""

    outcome: GateDecision
    reason: str
    queue: str | None = None


def has_email(lead: LeadFacts) -> bool:
    """An address a person can write to: something before and after an `@`."""
    email = (lead.email or "").strip()
    local, at, domain = email.partition("@")
    return bool(at and local and domain)


def gate(config: RoutingConfig, lead: LeadFacts) -> GateOutcome:
    gates = config.gates
    if lead.kind is not HandoffKind.LEAD:
        return GateOutcome(GateDecision.ROUTE, f"{lead.lead_id}: {lead.kind.value} handoffs always go to a person")
    if gates.require_email and not has_email(lead):
        return GateOutcome(
            GateDecision.AWAIT_IDENTIFICATION,
            f"lead {lead.lead_id} has no email yet: the {lead.priority.value} handoff waits until the lead is "
            "identified",
        )
    threshold = gates.min_fit_score_for_behaviour_trigger
    if lead.priority is Priority.PRIORITY and lead.fit_score < threshold:
        return GateOutcome(
            GateDecision.QUALIFY,
            f"lead {lead.lead_id} sent a buying signal with fit score {lead.fit_score} (below {threshold}): it "
            f'goes to the qualification queue "{gates.qualification_queue}", not to an AE',
            queue=gates.qualification_queue,
        )
    return GateOutcome(GateDecision.ROUTE, f"lead {lead.lead_id}: {lead.priority.value} handoff goes to a person")
