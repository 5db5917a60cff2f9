"""A conversion's journey from the lead domain's store (read only): the people it is about, their touches in the
lookback window, and when they became a Lead and the opportunity was created.

People: the contacts the senders named (vendor ids, emails), and when the conversion names an account the hub
knows (a vendor account id it resolved before, or the hub's own account id), every contact of that account.
A contact merged into another is read as the contact it was merged into; the survivor's log includes every
contact merged into it (merges never move an engagement: each stays under the contact it arrived for).

Touches: each person's engagement log made into touches (`touchpoints.touches_from`: visits per person), then
the people's touches together, in (occurred_at, touch_id) order, from `converted_at - lookback_days` up to the
conversion (both inclusive).

Lead creation: the earliest moment any of the people entered Lead or a later stage (their stored stage
transitions; `lead_since` when no transition says it). Opportunity creation: when the hub first saw the deal,
else the earliest transition of the people into Opportunity or later.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from shared.attribution.config import AttributionConfig
from shared.attribution.deals import ConversionFacts, People
from shared.attribution.journeys import Journey, Touch
from shared.attribution.touchpoints import touches_from
from shared.leads.identity import normalize_email, vendor_identity
from shared.leads.model import Account, Contact, EngagementRecord, Identity, Stage
from shared.leads.ports import History

MAX_MERGE_HOPS = 8  # a merge chain longer than this is a broken record, not a person


class LeadLog(Protocol):
    """What attribution reads of the lead store (`LeadRepository` honours it)."""

    def owners(self, identities: Sequence[Identity]) -> dict[str, str]: ...

    def contacts(self, contact_ids: Sequence[str]) -> dict[str, Contact]: ...

    def engagements(self, contact_ids: Sequence[str]) -> list[EngagementRecord]: ...

    def history(self, contact_id: str) -> History: ...

    def account(self, account_id: str) -> Account | None: ...

    def account_owners(self, identities: Sequence[Identity]) -> dict[str, str]: ...

    def account_contacts(self, account_id: str) -> list[str]: ...

    def contact_ids(self) -> Iterator[str]: ...


@dataclass(frozen=True)
class JourneyPeople:
    contacts: tuple[Contact, ...]  # the surviving contacts, by id
    account_id: str | None

    @property
    def contact_ids(self) -> tuple[str, ...]:
        return tuple(contact.contact_id for contact in self.contacts)


def people_of(leads: LeadLog, people: People) -> JourneyPeople:
    account_id = _account(leads, people.account_ref)
    named = named_contacts(leads, people)
    if account_id is None:
        # the account of the people named, when they all share one the hub knows
        found = leads.contacts(named)
        accounts = {c.account_id for c in found.values() if c.account_id}
        account_id = accounts.pop() if len(accounts) == 1 else None
    ids = list(dict.fromkeys([*named, *(leads.account_contacts(account_id) if account_id else [])]))
    return JourneyPeople(tuple(_survivors(leads, ids)), account_id)


def named_contacts(leads: LeadLog, people: People) -> list[str]:
    """The hub contacts the senders named by contact id or email (not through an account), as first claimed."""
    identities = [i for i in (vendor_identity(ref) for ref in people.contact_ids) if i is not None]
    identities += [Identity("email", email) for email in (normalize_email(e) for e in people.emails) if email]
    return list(dict.fromkeys(leads.owners(identities).values())) if identities else []


def build_journey(
    leads: LeadLog,
    config: AttributionConfig,
    facts: ConversionFacts,
    company_minor: int,
    company_currency: str,
) -> tuple[Journey, JourneyPeople]:
    people = people_of(leads, facts.people)
    return journey_of(leads, config, facts, people, company_minor, company_currency), people


def stored_people(leads: LeadLog, contact_ids: Sequence[str], account_id: str | None) -> JourneyPeople:
    """The people a stored conversion was credited to, as they stand now (merges followed)."""
    return JourneyPeople(tuple(_survivors(leads, list(contact_ids))), account_id)


def journey_of(
    leads: LeadLog,
    config: AttributionConfig,
    facts: ConversionFacts,
    people: JourneyPeople,
    company_minor: int,
    company_currency: str,
    touches_of: Callable[[Contact], Iterable[Touch]] | None = None,
) -> Journey:
    """The journey of the conversion `facts` over `people`. `touches_of` gives a person's touches under
    `config` (`person_touches`, what it reads by default), for a caller that keeps them across conversions."""
    start = facts.converted_at - timedelta(days=config.lookback_days)
    touches: dict[str, Touch] = {}
    for contact in people.contacts:
        person = person_touches(leads, contact, config) if touches_of is None else touches_of(contact)
        for touch in person:
            if start <= touch.occurred_at <= facts.converted_at:
                touches.setdefault(touch.touch_id, touch)
    ordered = tuple(sorted(touches.values(), key=lambda t: (t.occurred_at, t.touch_id)))
    return Journey(
        conversion_id=facts.conversion_id,
        converted_at=facts.converted_at,
        amount_minor=company_minor,
        currency=company_currency,
        touches=ordered,
        lead_created_at=_entered(leads, people.contacts, Stage.LEAD),
        opportunity_created_at=facts.opportunity_created_at or _entered(leads, people.contacts, Stage.OPPORTUNITY),
    )


def person_touches(leads: LeadLog, contact: Contact, config: AttributionConfig) -> list[Touch]:
    """Every touch of the contact's log under `config` (its own engagements and those of the contacts merged
    into it), in (occurred_at, touch_id) order."""
    return touches_from(leads.engagements([contact.contact_id, *contact.members]), config)


def _account(leads: LeadLog, ref: str | None) -> str | None:
    if not ref:
        return None
    identity = vendor_identity(ref)
    if identity is not None:
        owner = leads.account_owners([identity]).get(identity.key)
        if owner:
            return owner
    return ref if leads.account(ref) is not None else None


def _survivors(leads: LeadLog, contact_ids: list[str]) -> list[Contact]:
    """The contacts as they stand: a merged-away contact is replaced by the one it was merged into."""
    survivors: dict[str, Contact] = {}
    wanted = contact_ids
    for _ in range(MAX_MERGE_HOPS):
        if not wanted:
            break
        found = leads.contacts(wanted)
        wanted = []
        for contact in found.values():
            if contact.merged_into:
                wanted.append(contact.merged_into)
            else:
                survivors[contact.contact_id] = contact
        wanted = [w for w in dict.fromkeys(wanted) if w not in survivors]
    return [survivors[key] for key in sorted(survivors)]


def _entered(leads: LeadLog, contacts: Sequence[Contact], stage: Stage) -> datetime | None:
    moments: list[datetime] = []
    for contact in contacts:
        for contact_id in (contact.contact_id, *contact.members):
            moments += [t.at for t in leads.history(contact_id).transitions if t.to_stage.rank >= stage.rank]
        if stage is Stage.LEAD and contact.lead_since is not None:
            moments.append(contact.lead_since)
    return min(moments) if moments else None
