"""What a canonical event says about a person's profile, whatever the vendor calls the fields."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.events.canonical import CanonicalEvent

ALIASES: dict[str, tuple[str, ...]] = {
    "email": ("email", "Email"),
    "first_name": ("first_name", "firstname", "firstName", "FirstName"),
    "last_name": ("last_name", "lastname", "lastName", "LastName"),
    "company": ("company", "Company", "company_name", "companyName"),
    "job_title": ("job_title", "jobtitle", "jobTitle", "title", "Title"),
    "phone": ("phone", "Phone", "mobilephone", "MobilePhone"),
    "country": ("country", "Country"),
    "industry": ("industry", "Industry"),
    "employee_count": ("employee_count", "employees", "numberofemployees", "NumberOfEmployees", "numberOfEmployees"),
    "annual_revenue": ("annual_revenue", "annualrevenue", "AnnualRevenue", "annualRevenue"),
}
_NUMBERS = {"employee_count", "annual_revenue"}


def profile_updates(event: CanonicalEvent) -> dict[str, Any]:
    """Profile field -> value, from every place vendors put person fields (Segment traits, Salesforce
    fields, HubSpot single-property changes, plain data)."""
    data = event.data
    sources: list[Mapping[str, Any]] = []
    for key in ("traits", "fields"):
        if isinstance(data.get(key), Mapping):
            sources.append(data[key])
    if isinstance(data.get("property"), str):  # HubSpot: one property per event
        sources.append({data["property"]: data.get("value")})
    sources.append(data)
    updates: dict[str, Any] = {}
    for source in sources:
        company = source.get("company")
        if isinstance(company, Mapping):  # Segment: traits.company is an object
            source = {
                **source,
                "company": company.get("name"),
                "industry": company.get("industry"),
                "employee_count": company.get("employee_count"),
            }
        for name, aliases in ALIASES.items():
            if name in updates:
                continue
            for alias in aliases:
                value = source.get(alias)
                if value not in (None, "") and not isinstance(value, Mapping | list):
                    updates[name] = _number(value) if name in _NUMBERS else str(value).strip()
                    break
    if "first_name" not in updates and isinstance(data.get("name"), str) and data["name"].strip():
        first, _, last = data["name"].strip().partition(" ")
        updates["first_name"] = first
        if last:
            updates["last_name"] = last
    if event.subject.email and "email" not in updates:
        updates["email"] = event.subject.email
    return {name: value for name, value in updates.items() if value is not None}


def _number(value: Any) -> float | int | None:
    try:
        number = float(str(value).replace(",", ""))
    except ValueError:
        return None
    return int(number) if number.is_integer() else number
