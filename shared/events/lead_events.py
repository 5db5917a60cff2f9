"""Events the lead domain publishes (source `revops.leads`): consumers route handoffs, alert sales and
report on stage velocity from them. Ids are deterministic, so a retried processing publishes the same ids.

What each type means, which fields it sets and an example of it are in `shared/events/lead_taxonomy.py`; the
field descriptions below are what the schema registry and `docs/events.md` show consumers."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.catalog import leads

LEAD_EVENT_SOURCE = leads.EVENT_SOURCE  # the catalog names every source the hub publishes

LEAD_SCHEMA_VERSION = "1.0"
_NAMESPACE = uuid.UUID("0d7b9a53-57f4-4b8e-9f2e-7c4b0f0d6a11")


class LeadEventType(StrEnum):
    SCORE_CHANGED = "lead.score_changed"
    STAGE_CHANGED = "lead.stage_changed"
    MQL_REACHED = "lead.mql_reached"
    HANDOFF_REQUESTED = "lead.handoff_requested"
    MERGED = "lead.merged"
    UNMERGED = "lead.unmerged"
    PROFILE_CHANGED = "lead.profile_changed"


class LeadEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    event_id: str = Field(
        description="Deterministic UUID of what happened to the lead: processing the same cause again publishes "
        "the same id, so consumers de-duplicate on it."
    )
    event_type: LeadEventType = Field(description="What happened; the same value as the EventBridge `detail-type`.")
    schema_version: str = Field(
        default=LEAD_SCHEMA_VERSION, description="Version of these fields and of the lead event types."
    )
    occurred_at: datetime = Field(
        description="When the hub made the change (ISO 8601, UTC). Also the EventBridge event's `time`."
    )
    lead_id: str = Field(description="The lead: the hub's contact id, as in `GET /api/v1/leads/{lead_id}`.")
    email: str | None = Field(None, description="The lead's email; null while the lead is an anonymous visitor.")
    stage: str = Field(
        description="The lead's lifecycle stage after the change: `Visitor`, `Lead`, `MQL`, `SQL`, `Opportunity`, "
        "`Customer` or `Advocate`."
    )
    previous_stage: str | None = Field(
        None, description="lead.stage_changed: the stage the lead left; null on every other type."
    )
    score: float = Field(description="The lead's total score after the change.")
    previous_score: float | None = Field(
        None,
        description="lead.score_changed: the total before the change, null on the lead's first score; null on every "
        "other type.",
    )
    fit_score: float = Field(description="The part of `score` the fit rules give the lead's profile and account.")
    engagement_score: float = Field(
        description="The part of `score` the lead's engagement earns, decayed and capped as of `occurred_at`."
    )
    priority: Literal["immediate", "priority", "standard"] | None = Field(
        None,
        description="lead.handoff_requested: how urgently sales should pick it up: `immediate` (the total reached "
        "the model's immediate line), `priority` (a buying signal such as a demo request) or `standard` (an MQL "
        "nurtured long enough); null on every other type.",
    )
    reason: str | None = Field(None, description="Why this happened, in words.")
    other_lead_id: str | None = Field(
        None,
        description="lead.merged: the contact merged into this lead; lead.unmerged: the contact split from it. Null "
        "on every other type.",
    )
    cause_event_id: str | None = Field(
        None,
        description="`detail.event_id` of the canonical event (`revops.webhooks`) that caused this one (for a "
        "`priority` handoff, the buying signal's); null when no canonical event did (lead capture, rescoring, the "
        "nurture clock, an unmerge) and on lead.merged and lead.unmerged.",
    )
    changed_fields: list[str] | None = Field(
        None,
        description="lead.profile_changed: the names of the profile fields whose value changed (`email`, "
        "`first_name`, `last_name`, `company`, `job_title`, `phone`, `country`, `industry`, `employee_count`, "
        "`annual_revenue`, `company_domain`, `source`, `campaign_id`), sorted; never their values (read the lead "
        "for those). Null on every other type.",
    )
    model_version: str | None = Field(
        None, description="Version of the scoring model the scores come from; null before the lead was first scored."
    )
    correlation_id: str | None = Field(
        None, description="Reserved for the id of the request or event being processed; the hub leaves it null."
    )

    @staticmethod
    def id_for(lead_id: str, event_type: LeadEventType, discriminator: str) -> str:
        return str(uuid.uuid5(_NAMESPACE, f"{lead_id}:{event_type.value}:{discriminator}"))

    def by_reference(self) -> LeadEvent:
        return self  # always far below EventBridge's entry limit
