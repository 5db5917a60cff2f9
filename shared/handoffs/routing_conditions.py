"""A routing rule's `when`, compiled into one predicate over the lead's facts, normalized once per request.

`lead_view(lead, regions)` normalizes what the conditions read: country upper case, region given or derived
from the country through the file's `regions` map, state as ISO 3166-2 (`CA` of a US lead reads as `US-CA`),
language lower case, industry / products / source case-folded with inner spaces collapsed.

`compile_conditions(when)` turns each condition given into a check; the rule matches when every check holds.
A fact the lead does not have (None, or no product interest) fails any check on it: `regions: ["EMEA"]`
never matches a lead of unknown place. Ranges are [min, max).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from shared.handoffs.model import LeadFacts
from shared.handoffs.routing_config import Conditions, DecimalRange, IntRange


def folded(text: str | None) -> str | None:
    """Case-insensitive, space-insensitive form of a label: `" Computer  Software "` -> `"computer software"`."""
    if text is None:
        return None
    return " ".join(text.split()).casefold() or None


@dataclass(frozen=True, slots=True)
class LeadView:
    """The lead's facts as the conditions compare them (see the module docstring)."""

    lead: LeadFacts
    country: str | None
    region: str | None
    state: str | None
    industry: str | None
    products: frozenset[str]
    language: str | None
    source: str | None
    has_account_owner: bool


def _code(text: str | None) -> str | None:
    """A code as the file writes it: surrounding spaces dropped, upper case; blank is unknown."""
    if text is None:
        return None
    return text.strip().upper() or None


def lead_view(lead: LeadFacts, regions: Mapping[str, str]) -> LeadView:
    country = _code(lead.country)
    region = _code(lead.region)
    if region is None and country is not None:
        region = regions.get(country)
    state = _code(lead.state)
    if state is not None and "-" not in state:
        # a bare subdivision code means something only within its country
        state = f"{country}-{state}" if country is not None else None
    products = frozenset(p for p in map(folded, lead.product_interest) if p is not None)
    language = _code(lead.language)
    return LeadView(
        lead=lead,
        country=country,
        region=region,
        state=state,
        industry=folded(lead.industry),
        products=products,
        language=language.lower() if language is not None else None,
        source=folded(lead.source),
        has_account_owner=bool(lead.account_owner and lead.account_owner.strip()),
    )


Check = Callable[[LeadView], bool]


def _always(view: LeadView) -> bool:
    return True


def _within(value: int | Decimal | None, bounds: IntRange | DecimalRange) -> bool:
    if value is None:
        return False
    low, high = bounds.min, bounds.max
    return (low is None or value >= low) and (high is None or value < high)


def _checks(when: Conditions) -> list[Check]:
    checks: list[Check] = []
    if when.countries is not None:
        countries = frozenset(when.countries)
        checks.append(lambda view: view.country in countries)
    if when.regions is not None:
        regions = frozenset(when.regions)
        checks.append(lambda view: view.region in regions)
    if when.states is not None:
        states = frozenset(when.states)
        checks.append(lambda view: view.state in states)
    if when.industries is not None:
        industries = frozenset(map(folded, when.industries))
        checks.append(lambda view: view.industry in industries)
    if when.employee_count is not None:
        employees = when.employee_count
        checks.append(lambda view: _within(view.lead.employee_count, employees))
    if when.annual_revenue is not None:
        revenue = when.annual_revenue
        checks.append(lambda view: _within(view.lead.annual_revenue, revenue))
    if when.product_interest is not None:
        products = frozenset(p for p in map(folded, when.product_interest) if p is not None)
        checks.append(lambda view: not products.isdisjoint(view.products))
    if when.languages is not None:
        languages = frozenset(when.languages)
        checks.append(lambda view: view.language in languages)
    if when.score is not None:
        score = when.score
        checks.append(lambda view: _within(view.lead.score, score))
    if when.priorities is not None:
        priorities = frozenset(when.priorities)
        checks.append(lambda view: view.lead.priority in priorities)
    if when.sources is not None:
        sources = frozenset(map(folded, when.sources))
        checks.append(lambda view: view.source in sources)
    if when.has_account_owner is not None:
        wanted = when.has_account_owner
        checks.append(lambda view: view.has_account_owner is wanted)
    return checks


def compile_conditions(when: Conditions) -> Check:
    """One predicate: True when every condition of `when` holds for the lead (always, for a catch-all)."""
    checks = tuple(_checks(when))
    if not checks:
        return _always
    if len(checks) == 1:
        return checks[0]

    def all_hold(view: LeadView) -> bool:
        # a plain loop, not all(<generator>): the generator costs more than the checks on this hot path
        for check in checks:  # noqa: SIM110
            if not check(view):
                return False
        return True

    return all_hold
