"""Events the attribution domain publishes (source `revops.attribution`): a conversion credited to its touches
(once per conversion: its id is derived from the conversion's), and a new fit of the data-driven model."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from shared.catalog import attribution

ATTRIBUTION_EVENT_SOURCE = attribution.EVENT_SOURCE
ATTRIBUTION_SCHEMA_VERSION = "1.0"
_NAMESPACE = uuid.UUID("8d2f4a16-0b7e-4c39-9a51-e6c0d3b2f174")


class AttributionEventType(StrEnum):
    CONVERSION_ATTRIBUTED = "conversion.attributed"
    MODEL_FITTED = "attribution.model_fitted"


class AttributionEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    event_id: str = Field(description="Deterministic UUID: the same conversion (or fit) gives the same id.")
    event_type: AttributionEventType = Field(description="What happened; the EventBridge `detail-type`.")
    schema_version: str = Field(default=ATTRIBUTION_SCHEMA_VERSION, description="Version of these fields.")
    occurred_at: datetime = Field(description="When the hub recorded it (ISO 8601, UTC).")
    period: str = Field(description="The month of the conversion, or the month the model was fitted on.")
    company_currency: str = Field(description="The currency credits are in (config/finance.json).")
    conversion_id: str | None = Field(
        None, description='conversion.attributed: `"deal:<deal_id>"` or `"first-payment:<customer>"`.'
    )
    deal_id: str | None = Field(None, description="conversion.attributed: the won deal, as in `subject.deal_id`.")
    converted_at: datetime | None = Field(None, description="conversion.attributed: when it was won or paid.")
    amount: str | None = Field(None, description="conversion.attributed: the amount as reported, a decimal string.")
    currency: str | None = Field(None, description="conversion.attributed: its currency (ISO 4217).")
    company_amount: str | None = Field(None, description="conversion.attributed: the amount in the company currency.")
    touches: int | None = Field(None, description="conversion.attributed: the touches of its journey.")
    first_touch_campaign: str | None = Field(None, description="conversion.attributed: the first touch's campaign.")
    last_touch_campaign: str | None = Field(None, description="conversion.attributed: the closing touch's campaign.")
    superseded_by: str | None = Field(
        None,
        description="conversion.attributed: the conversion that counts this one's money instead (a HubSpot deal that "
        "is its Salesforce Opportunity, a first payment of a customer's won deal): this one is emptied, counted in no "
        "total; null for any other.",
    )
    credits: dict[str, dict[str, str]] | None = Field(
        None,
        description='conversion.attributed: per model, each campaign credited (`"(none)"`: touches without one) and '
        "how much, a decimal string in the company currency. `data_driven` is as the fit in force then credits it: a "
        "later fit recomputes the stored data-driven credits and is announced once, by `attribution.model_fitted` "
        "(not again per conversion); the current ones are `GET /api/v1/attribution/deals/{deal_id}`'s.",
    )
    journeys: int | None = Field(None, description="attribution.model_fitted: journeys the model was fitted on.")
    conversions: int | None = Field(None, description="attribution.model_fitted: how many of them converted.")
    removal_effects: dict[str, str] | None = Field(
        None, description="attribution.model_fitted: each channel's removal effect (decimal strings, 0 to 1)."
    )
    fit_id: str | None = Field(None, description="attribution.model_fitted: the fit's id, as the conversions keep it.")
    recredited: int | None = Field(
        None,
        description="attribution.model_fitted: the window's conversions whose stored data-driven credits were "
        "recomputed with this fit (null: a reattribution's refit, whose run re-credits them).",
    )

    @staticmethod
    def id_for(*parts: str) -> str:
        return str(uuid.uuid5(_NAMESPACE, ":".join(parts)))

    def by_reference(self) -> AttributionEvent:
        return self
