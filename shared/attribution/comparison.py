"""`POST /api/v1/attribution/compare`: the months' conversions under candidate settings beside the settings in
force, per channel and campaign and model, with the difference. Nothing is written.

Both sides are computed now, from the same lead store and the latest data-driven fit, so the difference is the
settings' alone (stored credits may come from an older file). A candidate overrides `lookback_days`,
`half_life_days`, `session_timeout_minutes`, `company_domains` and `channel_mapping` (the whole list) of the
file in force, and is validated as the file is: a bad rule is a 400 naming it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from shared.attribution.config import AttributionConfig, parse_attribution_config
from shared.attribution.crediting import credited_touches, half_life_of
from shared.attribution.deals import ConversionFacts, People
from shared.attribution.journey_builder import LeadLog, journey_of, stored_people
from shared.attribution.journeys import Model
from shared.attribution.markov import MarkovFit
from shared.attribution.ports import NO_CAMPAIGN, StoredConversion
from shared.attribution.reports import money
from shared.errors import InvalidInput
from shared.finance.config import FinanceConfig

OVERRIDABLE = ("lookback_days", "half_life_days", "session_timeout_minutes", "company_domains", "channel_mapping")
MAX_CONVERSIONS = 2_000


def candidate_config(current: AttributionConfig, body: Mapping[str, Any], finance: FinanceConfig) -> AttributionConfig:
    candidate = body.get("candidate")
    if not isinstance(candidate, Mapping) or not candidate:
        raise InvalidInput(f"candidate: an object overriding some of {', '.join(OVERRIDABLE)}")
    unknown = sorted(set(candidate) - set(OVERRIDABLE))
    if unknown:
        raise InvalidInput(f"candidate: {', '.join(unknown)} cannot be compared; override {', '.join(OVERRIDABLE)}")
    document = current.model_dump(mode="json", by_alias=True)
    document.update(candidate)
    document["version"] = f"{current.version}+candidate"
    return parse_attribution_config(document, finance)


@dataclass(frozen=True)
class Side:
    channels: dict[str, dict[Model, int]]
    campaigns: dict[str, dict[Model, int]]
    touches: int


def side(
    conversions: Iterable[StoredConversion], leads: LeadLog, config: AttributionConfig, fit: MarkovFit | None
) -> Side:
    channels: dict[str, dict[Model, int]] = defaultdict(lambda: dict.fromkeys(Model, 0))
    campaigns: dict[str, dict[Model, int]] = defaultdict(lambda: dict.fromkeys(Model, 0))
    touches = 0
    half_life = half_life_of(config)
    for conversion in conversions:
        facts = ConversionFacts(
            conversion_id=conversion.conversion_id,
            kind=conversion.kind,
            converted_at=conversion.converted_at,
            amount=conversion.amount,
            people=People(),
            deal_id=conversion.deal_id,
            opportunity_created_at=conversion.opportunity_created_at,
        )
        people = stored_people(leads, conversion.contact_ids, conversion.account_id)
        journey = journey_of(leads, config, facts, people, conversion.company_minor, conversion.company_currency)
        for credited in credited_touches(journey, half_life, fit):
            touches += 1
            for model, credit in credited.credits.items():
                channels[credited.touch.channel][model] += credit.minor
                campaigns[credited.touch.campaign_id or NO_CAMPAIGN][model] += credit.minor
    return Side(dict(channels), dict(campaigns), touches)


def comparison_view(current: Side, candidate: Side, currency: str, months: tuple[str, str], count: int) -> dict:
    def figures(table: Mapping[str, Mapping[Model, int]], other: Mapping[str, Mapping[Model, int]]) -> dict:
        keys = sorted(set(table) | set(other))
        return {
            key: {
                model.value: {
                    "current": money(table.get(key, {}).get(model, 0), currency),
                    "candidate": money(other.get(key, {}).get(model, 0), currency),
                    "difference": money(other.get(key, {}).get(model, 0) - table.get(key, {}).get(model, 0), currency),
                }
                for model in Model
            }
            for key in keys
        }

    return {
        "from": months[0],
        "to": months[1],
        "currency": currency,
        "conversions": count,
        "touches": {"current": current.touches, "candidate": candidate.touches},
        "channels": figures(current.channels, candidate.channels),
        "campaigns": figures(current.campaigns, candidate.campaigns),
    }
