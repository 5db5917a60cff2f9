"""A lead captured from a form or a partner: what it may carry and how it becomes profile fields.

The fit fields the scoring model reads (industry, employee count, annual revenue, country) are first-class;
when a form sends them among its free `attributes` under a usual name (`employees`, `Industry`,
`annualRevenue`, ...) they are read from there too, so a captured ICP lead is scored on its company.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from shared.leads.consent import CaptureConsent
from shared.leads.profile_updates import fields_from


class LeadType(StrEnum):
    """Seed 004's data quality rule asks company and job title of B2B leads only."""

    B2B = "b2b"
    B2C = "b2c"


@dataclass(frozen=True)
class LeadCapture:
    email: str
    source: str
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    job_title: str | None = None
    phone: str | None = None
    campaign_id: str | None = None
    industry: str | None = None
    employee_count: int | None = None
    annual_revenue: int | float | None = None
    country: str | None = None
    lead_type: LeadType = LeadType.B2B
    attributes: dict[str, Any] = field(default_factory=dict)
    consent: CaptureConsent | None = None  # what the form asked and the person answered, if it asked

    def profile_values(self) -> dict[str, Any]:
        """Profile field -> value: the first-class fields, then fit fields found in `attributes`."""
        values: dict[str, Any] = {
            "email": self.email,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "company": self.company,
            "job_title": self.job_title,
            "phone": self.phone,
            "source": self.source,
            "campaign_id": self.campaign_id,
            "industry": self.industry,
            "employee_count": self.employee_count,
            "annual_revenue": self.annual_revenue,
            "country": self.country,
            "lead_type": self.lead_type.value,
        }
        for name, value in fields_from([self.attributes]).items():
            if values.get(name) in (None, ""):
                values[name] = value
        return {name: value for name, value in values.items() if value not in (None, "")}
