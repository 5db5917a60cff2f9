"""Events the lead domain publishes (source `revops.leads`): consumers route handoffs, alert sales and
report on stage velocity from them. Ids are deterministic, so a retried processing publishes the same ids."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

LEAD_EVENT_SOURCE = "revops.leads"
_NAMESPACE = uuid.UUID("0d7b9a53-57f4-4b8e-9f2e-7c4b0f0d6a11")


class LeadEventType(StrEnum):
    SCORE_CHANGED = "lead.score_changed"
    STAGE_CHANGED = "lead.stage_changed"
    MQL_REACHED = "lead.mql_reached"
    HANDOFF_REQUESTED = "lead.handoff_requested"
    MERGED = "lead.merged"
    UNMERGED = "lead.unmerged"


class LeadEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    event_id: str
    event_type: LeadEventType
    schema_version: str = "1.0"
    occurred_at: datetime
    lead_id: str = Field(description="The hub's contact id")
    email: str | None = None
    stage: str
    previous_stage: str | None = None
    score: float
    previous_score: float | None = None
    fit_score: float
    engagement_score: float
    priority: Literal["immediate", "priority", "standard"] | None = Field(
        None, description="lead.handoff_requested: how urgently sales should pick it up"
    )
    reason: str | None = Field(None, description="Why this happened, in words")
    other_lead_id: str | None = Field(None, description="lead.merged / lead.unmerged: the other contact")
    cause_event_id: str | None = Field(None, description="The event that caused this one, if any")
    model_version: str | None = None
    correlation_id: str | None = None

    @staticmethod
    def id_for(lead_id: str, event_type: LeadEventType, discriminator: str) -> str:
        return str(uuid.uuid5(_NAMESPACE, f"{lead_id}:{event_type.value}:{discriminator}"))

    def by_reference(self) -> LeadEvent:
        return self  # always far below EventBridge's entry limit
