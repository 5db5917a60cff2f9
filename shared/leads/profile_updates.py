"""What a canonical event says about a person's (or an account's) profile, whatever the vendor calls the fields.

Only person data changes a profile: Segment `identify` traits and the `context.traits` an SDK attaches to any
call, CRM records (Salesforce `fields`, a HubSpot property change), and the top level of events that are about
the person (`contact.upserted`). The name of a page or of a tracked event is not the person's name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from shared.events.canonical import CanonicalEvent, EventType
from shared.leads.identity import normalize_email

ALIASES: dict[str, tuple[str, ...]] = {
    "email": ("email", "Email"),
    "first_name": ("first_name", "firstname", "firstName", "FirstName"),
    "last_name": ("last_name", "lastname", "lastName", "LastName"),
    "company": ("company", "Company", "company_name", "companyName"),
    "job_title": ("job_title", "jobtitle", "jobTitle", "title", "Title"),
    "phone": ("phone", "Phone", "mobilephone", "MobilePhone"),
    "country": ("country", "Country", "country_code", "countryCode", "BillingCountry"),
    "industry": ("industry", "Industry"),
    "employee_count": (
        "employee_count",
        "employees",
        "numberofemployees",
        "NumberOfEmployees",
        "numberOfEmployees",
        "num_employees",
        "company_size",
    ),
    "annual_revenue": ("annual_revenue", "annualrevenue", "AnnualRevenue", "annualRevenue", "revenue"),
}
NUMBERS = frozenset({"employee_count", "annual_revenue"})
# What CRM integrations write where Salesforce requires a value nobody gave (a Lead's LastName and Company): the hub's
# own CRM sync and HubSpot's Salesforce connector both use it. It says nothing of the person.
CRM_PLACEHOLDERS = frozenset({"[not provided]"})
ACCOUNT_FIELDS = ("company", "industry", "employee_count", "annual_revenue", "country")
_DOMAIN_KEYS = ("domain", "Domain", "website", "Website")
_NAME_KEYS = ("name", "Name")


def profile_updates(event: CanonicalEvent) -> dict[str, Any]:
    """Profile field -> value, from every place vendors put person fields."""
    data = event.data
    about_the_person = event.event_type is EventType.CONTACT_UPSERTED
    sources = _person_sources(data, include_top_level=about_the_person)
    updates = fields_from(sources)
    if "first_name" not in updates:
        full_name = next((source.get("name") for source in sources if isinstance(source.get("name"), str)), None)
        if full_name and full_name.strip():
            first, _, last = full_name.strip().partition(" ")
            updates["first_name"] = first
            if last:
                updates.setdefault("last_name", last.strip())
    if event.subject.email and "email" not in updates and normalize_email(event.subject.email) is not None:
        updates["email"] = event.subject.email
    return updates


def account_updates(event: CanonicalEvent) -> dict[str, Any]:
    """What an `account.upserted` event says about the company: its name, domain and firmographics."""
    data = event.data
    sources = _person_sources(data, include_top_level=True)
    found = fields_from(sources)
    updates: dict[str, Any] = {name: found[name] for name in ACCOUNT_FIELDS if name in found}
    for source in sources:
        name = next((source[key] for key in _NAME_KEYS if isinstance(source.get(key), str) and source[key]), None)
        if name:
            updates.setdefault("name", name.strip())
        domain = next((source[key] for key in _DOMAIN_KEYS if isinstance(source.get(key), str) and source[key]), None)
        if domain:
            updates.setdefault("domain", _bare_domain(domain))
    return {name: value for name, value in updates.items() if value not in (None, "")}


def fields_from(sources: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The profile fields found under any of their aliases; the first source that has one wins."""
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
                if value not in (None, "") and not isinstance(value, Mapping | list | bool):
                    converted = _converted(name, value)
                    if converted not in (None, "") and converted not in CRM_PLACEHOLDERS:
                        updates[name] = converted
                        break
    return updates


def _converted(name: str, value: Any) -> Any:
    """A field's value as the profile keeps it; None when it cannot be that field (an email that is no address,
    a negative count or amount): a sender's mix-up is dropped, never kept as the person's email or sent to a CRM."""
    if name in NUMBERS:
        amount = number(value)
        return amount if amount is not None and amount >= 0 else None
    text = str(value).strip()
    if name == "email" and normalize_email(text) is None:
        return None
    return text


def _person_sources(data: Mapping[str, Any], include_top_level: bool) -> list[Mapping[str, Any]]:
    sources: list[Mapping[str, Any]] = [data[key] for key in ("traits", "fields") if isinstance(data.get(key), Mapping)]
    if isinstance(data.get("property"), str):  # HubSpot: one property per event
        sources.append({data["property"]: data.get("value")})
    if include_top_level:
        sources.append(data)
    return sources


def number(value: Any) -> float | int | None:
    """A count or an amount as vendors send it (`250`, `"1,200"`, `"5e6"`); None when it is not a finite one."""
    try:
        parsed = float(str(value).replace(",", "").strip())
    except (ValueError, OverflowError):
        return None
    if parsed != parsed or parsed in (float("inf"), float("-inf")):
        return None
    return int(parsed) if parsed.is_integer() else parsed


def _bare_domain(value: str) -> str:
    """`https://www.Acme.io/about` -> `acme.io`."""
    text = value.strip().casefold()
    text = text.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    return text.removeprefix("www.")
