"""Events the finance domain publishes (source `revops.finance`): every spend line the ledger accepts, and every
budget threshold crossed. Ids are deterministic: a line's event has the same id however often the line is sent
again; a threshold's crossing is published once per line, threshold and period (and again after a re-arm)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from shared.catalog import finance

FINANCE_EVENT_SOURCE = finance.EVENT_SOURCE
FINANCE_SCHEMA_VERSION = "1.0"
_NAMESPACE = uuid.UUID("3c9e2b71-5a4f-4d8e-b1c2-7f6a5e4d3c2b")


class FinanceEventType(StrEnum):
    SPEND_RECORDED = "finance.spend_recorded"
    THRESHOLD_CROSSED = "budget.threshold_crossed"
    FORECAST_OVERRUN = "budget.forecast_overrun"


class FinanceEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    event_id: str = Field(description="Deterministic UUID: the same line, or the same crossing, gives the same id.")
    event_type: FinanceEventType = Field(description="What happened; the same value as the EventBridge `detail-type`.")
    schema_version: str = Field(default=FINANCE_SCHEMA_VERSION, description="Version of these fields.")
    occurred_at: datetime = Field(description="When the hub recorded it (ISO 8601, UTC).")
    period: str = Field(
        description="The month the spend counts in (a service period's first month, whose FX table converts it), "
        "or the budget's period (`2026-11`, `2026-Q4`)."
    )
    company_currency: str = Field(description="The currency reports are in (config/finance.json).")
    spend_id: str | None = Field(None, description="finance.spend_recorded: the line's id.")
    campaign_id: str | None = Field(None, description="The line's campaign (spend), or the budget line's.")
    channel: str | None = Field(None, description="The line's channel, or the budget line's (null: every channel).")
    department: str | None = Field(None, description="The line's department, or the budget line's.")
    vendor: str | None = Field(None, description="finance.spend_recorded: who was paid.")
    amount: str | None = Field(None, description="finance.spend_recorded: the amount as paid, a decimal string.")
    currency: str | None = Field(None, description="finance.spend_recorded: the currency it was paid in (ISO 4217).")
    company_amount: str | None = Field(
        None, description="finance.spend_recorded: the amount in the company currency, at `rate`."
    )
    rate: str | None = Field(
        None, description="finance.spend_recorded: one unit of `currency` in the company currency."
    )
    incurred_on: date | None = Field(
        None, description="finance.spend_recorded: the day the spend was incurred (null for a service period)."
    )
    service_from: date | None = Field(
        None,
        description="finance.spend_recorded: the first day of the line's service period (null for a line "
        "incurred on one day); the company amount is spread over its days, each month counting its share.",
    )
    service_to: date | None = Field(
        None, description="finance.spend_recorded: the last day of the line's service period (inclusive)."
    )
    reverses: str | None = Field(None, description="finance.spend_recorded: the line a reversal reverses.")
    corrects: str | None = Field(None, description="finance.spend_recorded: the (reversed) line a correction replaces.")
    line: str | None = Field(None, description="Budget events: the budget line (`department/channel/campaign`).")
    threshold: int | None = Field(None, description="budget.threshold_crossed: the percentage of budget reached.")
    budget: str | None = Field(None, description="Budget events: the line's budget, in the company currency.")
    actual: str | None = Field(None, description="Budget events: the line's actual spend when it crossed.")
    forecast: str | None = Field(None, description="budget.forecast_overrun: the period-end forecast.")

    @staticmethod
    def id_for(*parts: str) -> str:
        return str(uuid.uuid5(_NAMESPACE, ":".join(parts)))

    def by_reference(self) -> FinanceEvent:
        return self
