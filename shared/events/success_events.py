"""Events the customer success domain publishes (source `revops.success`): an account's health changed, and an
account became a churn risk. Ids are deterministic: the same cause (the signal's event, or the night's
recomputation) gives the same id on every retry."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from shared.catalog import success

SUCCESS_EVENT_SOURCE = success.EVENT_SOURCE
SUCCESS_SCHEMA_VERSION = "1.0"
_NAMESPACE = uuid.UUID("4b1e6f0a-93d2-4c57-8e1a-2f6d9c0b7a35")


class SuccessEventType(StrEnum):
    HEALTH_CHANGED = "customer.health_changed"
    CHURN_RISK_DETECTED = "customer.churn_risk_detected"
    INTERVENTION_STARTED = "customer.intervention_started"
    INTERVENTION_CLOSED = "customer.intervention_closed"
    EXPANSION_SIGNAL = "customer.expansion_signal"
    RENEWAL_AT_RISK = "renewal.at_risk"
    SUPPRESSION_REQUESTED = "marketing.suppression_requested"
    ENROLLMENT_REQUESTED = "marketing.campaign_enrollment_requested"
    CAMPAIGN_REQUESTED = "marketing.campaign_requested"
    LAUNCH_SCHEDULED = "product.launch_scheduled"


class SuccessEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    event_id: str = Field(description="Deterministic UUID: the same account, cause and type give the same id.")
    event_type: SuccessEventType = Field(description="What happened; the EventBridge `detail-type`.")
    schema_version: str = Field(default=SUCCESS_SCHEMA_VERSION, description="Version of these fields.")
    occurred_at: datetime = Field(description="The moment the health was computed for (ISO 8601, UTC).")
    tenant_id: str | None = Field(
        description="The hub's account id; null for events about many accounts (a campaign, a launch)."
    )
    model_version: str = Field(description="The health model's `version` (config/health-model.json).")
    score: float | None = Field(description="The score, 0-100 to two decimals; null when every measure is NA.")
    band: str | None = Field(description="`green`, `yellow` or `red`; null without a score.")
    previous_score: float | None = Field(None, description="The score published before; null the first time.")
    previous_band: str | None = Field(None, description="The band before; null the first time.")
    trend_d30: float | None = Field(None, description="The change of the score over 30 days, from the signal log.")
    reasons: list[str] = Field(
        default_factory=list,
        description="customer.churn_risk_detected: why (`turned red`, `fell 18.5 points in 30 days`).",
    )
    cause: str = Field(
        description="The signal's event id, `nightly:<yyyy-mm-dd>` for the nightly recomputation, or "
        "`request:<intervention_id>` for an intervention asked for by hand."
    )
    intervention_id: str | None = Field(None, description="Intervention events and the requests they make.")
    playbook: str | None = Field(None, description="The intervention's playbook (config/health-model.json).")
    task_title: str | None = Field(None, description="customer.intervention_started: the CSM task it sets.")
    task_due_at: datetime | None = Field(None, description="customer.intervention_started: when the task is due.")
    campaign_id: str | None = Field(None, description="marketing.campaign_enrollment_requested: the campaign.")
    contact_ids: list[str] | None = Field(
        None, description="marketing.*_requested: the account's contacts (the hub's lead ids) the request is about."
    )
    renews_at: datetime | None = Field(None, description="renewal.at_risk: when the subscription renews.")
    readiness: float | None = Field(
        None, description="customer.expansion_signal: the expansion readiness, 0-100 to two decimals."
    )
    suggestions: list[str] | None = Field(
        None, description="customer.expansion_signal: the products (ids) its feature use suggests for cross-sell."
    )
    tenant_ids: list[str] | None = Field(
        None, description="marketing.campaign_requested, product.launch_scheduled: the accounts it reaches."
    )
    campaign_kind: str | None = Field(
        None, description="marketing.campaign_requested: advocacy, reference, retention or upsell."
    )
    launch_id: str | None = Field(None, description="product.launch_scheduled: the launch.")
    feature: str | None = Field(None, description="product.launch_scheduled: the feature launched.")
    launch_date: date | None = Field(None, description="product.launch_scheduled: when it launches.")
    target_bands: list[str] | None = Field(None, description="product.launch_scheduled: the bands it targets.")
    target_segments: list[str] | None = Field(
        None, description="product.launch_scheduled: the customer segments it targets (all when empty)."
    )
    messaging: str | None = Field(None, description="product.launch_scheduled: what marketing is to say.")
    outcome: str | None = Field(
        None, description="customer.intervention_closed: `improved`, `unchanged`, `worsened` or `no_score`."
    )

    @staticmethod
    def id_for(*parts: str) -> str:
        return str(uuid.uuid5(_NAMESPACE, ":".join(parts)))

    def by_reference(self) -> SuccessEvent:
        return self
