"""A stored conversion rebuilt as recording it now would store it (`make reattribute`, after a settings change).

What a conversion *is* stays: its id, kind, converted_at, amount, its amount in the company currency and the
rate used (the FX table is not read again), its deal and its people (the contacts and account it was credited
to, as they stand now: a contact merged away since is read as the one it was merged into). Everything the
settings and the lead store decide is computed again, exactly as `AttributionService.conversion_of` computes
it (the same journey rules, `journey_builder.journey_of`, and the same crediting with the latest data-driven
fit): the touches in the lookback window and their channels, the roles, every model's credits and deal units,
when the people became a Lead, the settings version and the fit id. A deal's opportunity creation is the
deal's (kept); a first payment's is read from the people's stage history again, as recording does.

The rebuilt conversion is compared with the stored one ignoring `recorded_at` (the moment of the write):
unchanged, nothing is written.

A conversion's people grow when a later event about it names someone it lacks (`widened_people`): a HubSpot
deal is credited when its amount and closedwon arrive, naming nobody (HubSpot's deal events name only the
deal), and a later `deal.won` of the same deal names the buyer. It is rebuilt the same way with the wider
people (everything else as above), so its credits, its journey and its totals move exactly as a reattribution
moves them; from then on the stored people are those.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

from shared.attribution.config import AttributionConfig
from shared.attribution.crediting import credited_touches
from shared.attribution.deals import ConversionFacts, ConversionKind, People
from shared.attribution.journey_builder import (
    JourneyPeople,
    LeadLog,
    journey_of,
    named_contacts,
    people_of,
    stored_people,
)
from shared.attribution.journeys import Journey
from shared.attribution.ports import StoredConversion, StoredFit
from shared.finance.money import Money

CHANGED, UNCHANGED, STALE = "changed", "unchanged", "stale"


def credited_conversion(
    facts: ConversionFacts,
    journey: Journey,
    people: JourneyPeople,
    company: Money,
    rate: Decimal,
    config: AttributionConfig,
    half_life: timedelta,
    latest: StoredFit | None,
    now: datetime,
) -> StoredConversion:
    """The conversion to store: the facts with their journey credited under every model (data-driven with the
    latest fit; linear without one), computed with `config`."""
    return StoredConversion(
        conversion_id=facts.conversion_id,
        kind=facts.kind,
        converted_at=facts.converted_at,
        amount=facts.amount,
        company_minor=company.minor,
        company_currency=company.currency,
        rate=rate,
        contact_ids=people.contact_ids,
        account_id=people.account_id,
        deal_id=facts.deal_id,
        lead_created_at=journey.lead_created_at,
        opportunity_created_at=journey.opportunity_created_at,
        touches=credited_touches(journey, half_life, latest.fit if latest else None),
        settings_version=config.version,
        # the fit its data-driven credits are of: none without touches (nothing credited), which each new fit
        # then leaves alone rather than a reattribution finding it on an old one
        fit_id=latest.fit_id if latest and journey.touches else None,
        recorded_at=now,
    )


def rebuilt(
    conversion: StoredConversion,
    leads: LeadLog,
    config: AttributionConfig,
    half_life: timedelta,
    latest: StoredFit | None,
    now: datetime,
    people: JourneyPeople | None = None,
) -> StoredConversion:
    """The stored conversion as recording it now would store it (see the module's docstring), recorded `now`;
    credited to `people` when given (`widened_people`), else to its stored people as they stand now."""
    facts = ConversionFacts(
        conversion_id=conversion.conversion_id,
        kind=conversion.kind,
        converted_at=conversion.converted_at,
        amount=conversion.amount,
        people=People(),  # the stored people are used, not resolved again from what the senders named
        deal_id=conversion.deal_id,
        opportunity_created_at=(conversion.opportunity_created_at if conversion.kind is ConversionKind.DEAL else None),
    )
    people = people or stored_people(leads, conversion.contact_ids, conversion.account_id)
    company = Money(conversion.company_minor, conversion.company_currency)
    journey = journey_of(leads, config, facts, people, company.minor, company.currency)
    return credited_conversion(facts, journey, people, company, conversion.rate, config, half_life, latest, now)


def widened_people(leads: LeadLog, conversion: StoredConversion, named: People) -> JourneyPeople | None:
    """The conversion's people with those a later event about it names (`named`: contacts, emails, an account)
    when that event names a contact the conversion lacks, or an account when it has none; None when it names
    nobody new. The stored people are kept (as they stand now, merges followed) and the account stored stays."""
    if named == People():
        return None
    current = stored_people(leads, conversion.contact_ids, conversion.account_id)
    have = set(current.contact_ids)
    new_contacts = [c for c in stored_people(leads, named_contacts(leads, named), None).contact_ids if c not in have]
    resolved = people_of(leads, named)
    new_account = current.account_id is None and resolved.account_id is not None
    if not new_contacts and not new_account:
        return None
    account = current.account_id or resolved.account_id
    ids = [*current.contact_ids, *new_contacts, *(resolved.contact_ids if account == resolved.account_id else ())]
    return stored_people(leads, ids, account)


def unchanged(stored: StoredConversion, rebuilt: StoredConversion) -> bool:
    """The same conversion but for the moment it was recorded (and whether its event is still to be published,
    which is not what the settings decide)."""
    return replace(rebuilt, recorded_at=stored.recorded_at, unannounced=stored.unannounced) == stored
