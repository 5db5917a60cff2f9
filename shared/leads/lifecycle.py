"""Lifecycle stages: Visitor → Lead → MQL → SQL → Opportunity → Customer → Advocate.

Stages are milestones: they move forward on evidence and never fall back on their own (a lead whose score
decays stays an MQL; its score history shows the decline). What moves a contact:
- Visitor → Lead: the person is identified (an email or a known-user id);
- → MQL: the scoring model's MQL criteria are met;
- → SQL: sales accepts the handoff (`handoff.accepted`);
- → Opportunity: a deal moves through the pipeline (`deal.stage_changed`);
- → Customer: a deal is won (`deal.won`), or a subscription becomes active (`subscription.changed`);
- Customer → Advocate: a promoter answer (NPS 9 or 10) in a survey (`survey.responded`);
- → any later stage: a person set it in a CRM, and the CRM sync applied it (`crm_stage`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.leads.model import Stage

PROMOTER_MIN = 9
PAYING_STATUSES = frozenset({"active", "past_due"})  # Stripe's statuses of a subscription that was paid for
_NPS_KEYS = ("nps", "score", "nps_score", "recommend", "likelihood_to_recommend")


@dataclass(frozen=True)
class Move:
    to: Stage
    cause: str


def next_stages(
    current: Stage,
    *,
    identified: bool,
    mql: bool,
    event_type: str | None = None,
    event_data: Mapping[str, Any] | None = None,
) -> list[Move]:
    """The moves the evidence supports beyond `current`, in order: a visitor who arrives identified and
    qualified passes Lead and then MQL (each its own transition, so stage velocity sees both)."""
    candidates: list[Move] = []
    if identified:
        candidates.append(Move(Stage.LEAD, "identified"))
    if mql:
        candidates.append(Move(Stage.MQL, "MQL criteria met"))
    if event_type == "handoff.accepted":
        candidates.append(Move(Stage.SQL, "sales accepted the handoff"))
    elif event_type == "deal.stage_changed":
        candidates.append(Move(Stage.OPPORTUNITY, "deal in pipeline"))
    elif event_type == "deal.won":
        candidates.append(Move(Stage.CUSTOMER, "deal won"))
    elif event_type == "subscription.changed" and _status(event_data or {}) in PAYING_STATUSES:
        candidates.append(Move(Stage.CUSTOMER, "subscription active"))
    elif event_type == "survey.responded" and current is Stage.CUSTOMER and _is_promoter(event_data or {}):
        candidates.append(Move(Stage.ADVOCATE, "promoter survey answer"))
    ahead = sorted((move for move in candidates if move.to.rank > current.rank), key=lambda move: move.to.rank)
    return list({move.to: move for move in ahead}.values())


def _status(data: Mapping[str, Any]) -> str | None:
    """A subscription's status: text, or no status (a list or an object where it goes says none)."""
    status = data.get("status")
    return status if isinstance(status, str) else None


def _is_promoter(data: Mapping[str, Any]) -> bool:
    answers = data.get("answers") if isinstance(data.get("answers"), Mapping) else {}
    for source in (data, answers):
        for key in _NPS_KEYS:
            value = source.get(key) if isinstance(source, Mapping) else None
            if isinstance(value, int | float) and not isinstance(value, bool) and value >= PROMOTER_MIN:
                return True
    return False


def crm_stage(current: Stage, value: str, cause: str) -> Move | None:
    """The move a CRM's lifecycle stage (the hub's stage name, as the sync's mapping translated it) makes: to that
    stage when it is ahead of `current`; None when it is no stage, or not ahead (never back)."""
    try:
        stage = Stage(value)
    except ValueError:
        return None
    return Move(stage, cause) if stage.rank > current.rank else None
