"""Events the handoff domain publishes (source `revops.handoffs`): who got a lead or a new customer, when they
took it, when a deadline passed and what the hub did about it. Ids are deterministic: the same transition
published again (a retried invocation) has the same id, so consumers de-duplicate on `event_id`.

What each type means and an example of it are in `shared/events/handoff_taxonomy.py`."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from shared.catalog import handoffs

HANDOFF_EVENT_SOURCE = handoffs.EVENT_SOURCE
HANDOFF_SCHEMA_VERSION = "1.0"
_NAMESPACE = uuid.UUID("6f0e1c2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b")


class HandoffEventType(StrEnum):
    ASSIGNED = "handoff.assigned"
    QUEUED = "handoff.queued"
    ACCEPTED = "handoff.accepted"
    REJECTED = "handoff.rejected"
    REMINDED = "handoff.reminded"
    FIRST_TOUCHED = "handoff.first_touched"
    SLA_BREACHED = "handoff.sla_breached"
    ESCALATED = "handoff.escalated"
    PRIORITY_RAISED = "handoff.priority_raised"
    COMPLETED = "handoff.completed"
    RECYCLED = "handoff.recycled"
    NURTURE_PAUSED = "lead.nurture_paused"
    CUSTOMER_HANDOFF_COMPLETED = "customer.handoff_completed"
    SUCCESS_PLAN_CREATED = "success_plan.created"


class HandoffEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    event_id: str = Field(
        description="Deterministic UUID of the transition: publishing the same transition again gives the same id."
    )
    event_type: HandoffEventType = Field(description="What happened; the same value as the EventBridge `detail-type`.")
    schema_version: str = Field(default=HANDOFF_SCHEMA_VERSION, description="Version of these fields.")
    occurred_at: datetime = Field(description="When the hub made the transition (ISO 8601, UTC).")
    handoff_id: str = Field(description="The handoff, as in `GET /api/v1/handoffs/{handoff_id}`.")
    kind: str = Field(
        description="`lead` (marketing to sales), `customer` (sales to customer success) or `expansion` (customer "
        "success to sales: an account ready to expand)."
    )
    lead_id: str = Field(
        description="The lead (`GET /api/v1/leads/{lead_id}`); for a customer handoff, the customer's subject key."
    )
    customer_id: str | None = Field(None, description="Customer handoffs: the hub's account id; null for leads.")
    priority: str = Field(description="`immediate`, `priority` or `standard`, as the handoff stands after this.")
    status: str = Field(
        description="The handoff's status after this: `requested`, `queued`, `assigned`, `accepted`, `rejected`, "
        "`completed` or `recycled`."
    )
    rep_id: str | None = Field(None, description="The assignee after this (a rep id of `config/routing.json`).")
    previous_rep_id: str | None = Field(
        None, description="Reassignments (rejected, SLA breached, escalated): who had it before; null otherwise."
    )
    team: str = Field(description="The team routing chose (a team of `config/routing.json`).")
    queue: str | None = Field(None, description="handoff.queued: the fallback or qualification queue it waits in.")
    rule_id: str | None = Field(None, description="The routing rule that matched; null when none did.")
    sla_due_at: datetime | None = Field(None, description="When the assignee must accept by; null once accepted.")
    first_touch_due_at: datetime | None = Field(
        None,
        description="Lead handoffs: when the assignee must first touch the lead by (call, email, meeting), the "
        "priority's `first_touch_minutes` after the assignment; kept once accepted. Null for customer and "
        "expansion handoffs and while no rep has the lead.",
    )
    sla: str | None = Field(
        None,
        description="handoff.sla_breached: the SLA missed: `accept` (not accepted by `sla_due_at`: the handoff "
        "goes to the next rep, or to the manager) or `first_touch` (the lead not touched by `first_touch_due_at`: "
        "the manager is told and the handoff stays with `rep_id`). Null on every other type.",
    )
    touched_at: datetime | None = Field(
        None,
        description="handoff.first_touched: when the rep first touched the lead, as recorded (no later than "
        "`occurred_at`, no earlier than the assignment). Null on every other type.",
    )
    channel: str | None = Field(
        None,
        description="handoff.first_touched: how the rep touched the lead: `call`, `email`, `meeting`, `social` or "
        "`other`. Null on every other type.",
    )
    within_sla: bool | None = Field(
        None,
        description="handoff.first_touched: whether the touch met the first-touch SLA (`touched_at` no later than "
        "`first_touch_due_at`, and no first-touch breach told before it). Null on every other type.",
    )
    reassignments: int = Field(0, description="How many times the handoff moved to another rep so far.")
    actor: str = Field(description="Who made the transition: `hub`, or the rep / user who acted.")
    reason: str = Field(description="Why, in words.")
    cause_event_id: str | None = Field(
        None, description="The `event_id` of the event that caused it (a lead.handoff_requested, a click), if any."
    )

    @staticmethod
    def id_for(handoff_id: str, event_type: HandoffEventType, discriminator: str) -> str:
        return str(uuid.uuid5(_NAMESPACE, f"{handoff_id}:{event_type.value}:{discriminator}"))

    def by_reference(self) -> HandoffEvent:
        return self  # always far below EventBridge's entry limit
