"""`POST /api/v1/attribution/compare`: the months' conversions under candidate settings beside the settings in
force, per channel and campaign and model, with the difference. Nothing is written.

Both sides are computed now, from the same lead store and the latest data-driven fit, so the difference is the
settings' alone (stored credits may come from an older file). A candidate overrides `lookback_days`,
`half_life_days`, `session_timeout_minutes`, `company_domains` and `channel_mapping` (the whole list) of the
file in force, and is validated as the file is: a bad rule is a 400 naming it.

They are computed in one pass over the conversions (`sides`), each person read once for the request
(their profile and history, `read_once.ReadOnce`) and their log made into touches once per side's settings
(`PersonTouches`), then each conversion's journey cut from their touches as crediting it on its own would: the
answer is the one of crediting each conversion alone, and a request costs a read per person, not per
conversion and side. A request compares at most MAX_CONVERSIONS conversions holding at most MAX_TOUCHES stored
touches (a 400 naming the months otherwise).

The conversions are read as their outlines (`window_outlines`: what converted, when, for how much, whose journey,
how many touches are stored), not whole: their stored touches and credits are most of what is stored, and a
comparison computes both sides again. In DynamoDB that is a projected Query, a few attributes an item.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from shared.attribution.config import AttributionConfig, parse_attribution_config
from shared.attribution.crediting import credited_touches, half_life_of
from shared.attribution.deals import ConversionFacts, People
from shared.attribution.journey_builder import LeadLog, journey_of, stored_people
from shared.attribution.journeys import Model, Touch
from shared.attribution.markov import MarkovFit
from shared.attribution.ports import NO_CAMPAIGN, AttributionStore, ConversionOutline, CreditedTouch
from shared.attribution.read_once import ReadOnce
from shared.attribution.reports import money
from shared.attribution.touchpoints import touches_from
from shared.errors import InvalidInput
from shared.finance.config import FinanceConfig
from shared.leads.model import Contact

OVERRIDABLE = ("lookback_days", "half_life_days", "session_timeout_minutes", "company_domains", "channel_mapping")
MAX_CONVERSIONS = 2_000
# Crediting costs about 0.1 ms of CPU per touch and side (the compare row of benchmarks/attribution.py): the
# conversions' stored touches (what the settings in force credit) bound a request well inside API Gateway's 29 s
# where 2,000 conversions of long journeys (~100 touches each) would not.
MAX_TOUCHES = 50_000


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


def window_outlines(store: AttributionStore, months: Sequence[str]) -> Iterator[ConversionOutline]:
    """The months' conversions as their outlines, month after month, each in the store's order (as
    `data_driven.window_conversions` lists them whole)."""
    for month in months:
        cursor = None
        while True:
            page = store.conversion_outlines(month, 100, cursor)
            yield from page.outlines
            if (cursor := page.next_cursor) is None:
                break


def check_touches(conversions: Sequence[ConversionOutline], start: str, end: str) -> None:
    """InvalidInput (a 400 naming the months) when the conversions hold more stored touches than a comparison
    credits in time."""
    touches = sum(conversion.touch_count for conversion in conversions)
    if touches > MAX_TOUCHES:
        raise InvalidInput(
            f"from {start} to {end} holds {touches:,} credited touches, more than the {MAX_TOUCHES:,} a comparison "
            "credits in time: compare fewer months per call"
        )


@dataclass(frozen=True)
class Side:
    channels: dict[str, dict[Model, int]]
    campaigns: dict[str, dict[Model, int]]
    touches: int


class PersonTouches:
    """Each person's touches under every side's settings, their engagement log read once per request: a
    comparison credits the same people again and again (every conversion of an account, both sides), and a
    log read and made into touches per conversion and side is what made a comparison of tens of conversions
    over long logs take minutes. The touches are those `journey_builder.person_touches` gives (the same log,
    the same `touches_from`), kept per contact and the contacts merged into it."""

    def __init__(self, leads: LeadLog, configs: Sequence[AttributionConfig]) -> None:
        self._leads = leads
        self._configs = tuple(configs)
        self._touches: dict[tuple[str, tuple[str, ...]], tuple[list[Touch], ...]] = {}

    def of(self, contact: Contact, side_index: int) -> list[Touch]:
        """The contact's touches under the settings of side `side_index` (the order `configs` were given in)."""
        key = (contact.contact_id, tuple(contact.members))
        touches = self._touches.get(key)
        if touches is None:
            records = self._leads.engagements([contact.contact_id, *contact.members])
            touches = self._touches[key] = tuple(touches_from(records, config) for config in self._configs)
        return touches[side_index]


def sides(
    conversions: Iterable[ConversionOutline],
    leads: LeadLog,
    configs: Sequence[AttributionConfig],
    fit: MarkovFit | None,
) -> list[Side]:
    """The conversions credited under each of `configs`, as crediting each on its own would (its people as
    they stand now, its journey, every model), per channel and campaign. Each person is read once: their
    profile and history (`ReadOnce`) and their engagement log (`PersonTouches`)."""
    once = ReadOnce(leads)
    people_touches = PersonTouches(once, configs)
    half_lives = [half_life_of(config) for config in configs]
    tallies = [_Tally() for _ in configs]
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
        people = stored_people(once, conversion.contact_ids, conversion.account_id)
        for index, (config, tally) in enumerate(zip(configs, tallies, strict=True)):
            journey = journey_of(
                once,
                config,
                facts,
                people,
                conversion.company_minor,
                conversion.company_currency,
                touches_of=partial(people_touches.of, side_index=index),
            )
            tally.add(credited_touches(journey, half_lives[index], fit))
    return [tally.side() for tally in tallies]


class _Tally:
    def __init__(self) -> None:
        self.channels: dict[str, dict[Model, int]] = defaultdict(lambda: dict.fromkeys(Model, 0))
        self.campaigns: dict[str, dict[Model, int]] = defaultdict(lambda: dict.fromkeys(Model, 0))
        self.touches = 0

    def add(self, touches: Iterable[CreditedTouch]) -> None:
        for credited in touches:
            self.touches += 1
            channel = self.channels[credited.touch.channel]
            campaign = self.campaigns[credited.touch.campaign_id or NO_CAMPAIGN]
            for model, credit in credited.credits.items():
                channel[model] += credit.minor
                campaign[model] += credit.minor

    def side(self) -> Side:
        return Side(dict(self.channels), dict(self.campaigns), self.touches)


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
