"""Deals and conversions as attribution sees them, from the canonical events the hub publishes.

A deal is known by its `subject.deal_id` (`"standard:D-1"`, `"salesforce:006..."`, `"hubspot:7001"`). Every
deal event the hub sees is folded into one record per deal: when it was first seen (the opportunity's
creation, as far as the hub can tell), its status (open / won / lost, from the latest event), its amount and
currency (the latest that said one), its contacts and its account. Where they come from:

- Standard Webhooks `deal.stage_changed` / `deal.won` / `deal.lost`: `data.amount` (a decimal string in major
  units; a JSON number is read as the same decimal, `12000` as 12000.00), `data.currency`, `data.email` /
  `data.contact_id`, `data.account_id`, `data.won_at`;
- Salesforce Opportunity outbound messages: `Amount` and, in a multi-currency org, `CurrencyIsoCode` as sent
  (the text, never the float), `AccountId`;
- HubSpot: `dealstage` changes say the status; the amount arrives as its own property change (`deal.updated`
  with `data.amount`, in the company currency), and the deal's creation as `deal.updated` too. An update says
  nothing of the status: it keeps the deal's (a deal first seen by an update is open, with no status time yet,
  so the first event that says a status sets it, however early).

One deal, two CRMs: HubSpot's Salesforce integration names the Salesforce Opportunity of a HubSpot deal in its
`hs_salesforceopportunityid` property (`data.salesforce_opportunity_id` of a HubSpot deal event, or that property's
change). Salesforce is the deal's id then (its messages never name the HubSpot deal): the HubSpot deal becomes an
alias (`alias_of`), its record folded into the Salesforce one (`Deal.absorbed`, which lists it in `aliases`), and
every later report of the HubSpot id is folded into the Salesforce deal (`AttributionService`).

The latest said wins, each on its own clock: the status is the one of the latest event that said one
(`status_at`), the amount the one of the latest event that said one (`amount_at`; HubSpot's amount arrives in
updates, which never move `status_at`), so an older event arriving late undoes neither. A deal stored before
`amount_at` was kept holds an amount of unknown time: it is taken as of `status_at` (what was compared then).

An amount without a currency is in the company currency. Conversions:

- a deal won with a known amount: conversion `deal:<deal_id>`, at `won_at` (else the event's time), once per
  deal (a Salesforce won opportunity is reported on every change; a deal re-won after reopening is the same
  conversion);
- a new customer's first payment (`payment.succeeded`, Stripe's self-serve revenue): conversion
  `first-payment:<customer>`, once per customer whichever of Stripe's objects (invoice, charge, payment intent,
  checkout) reports it first: the rest are the same payment or later ones. A payment of 0 (a trial's $0
  invoice) is no revenue: it is no conversion, and so does not take the customer's first payment.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from shared.errors import InvalidInput
from shared.events.canonical import CanonicalEvent, EventType
from shared.finance.money import InvalidAmount, Money, format_amount, parse_amount
from shared.leads.identity import normalize_email
from shared.webhooks.envelope import as_offset_time

# HubSpot's Salesforce integration keeps the id of a HubSpot deal's Salesforce Opportunity in this property
SALESFORCE_OPPORTUNITY_PROPERTY = "hs_salesforceopportunityid"

DEAL_EVENTS: dict[EventType, str | None] = {
    EventType.DEAL_STAGE_CHANGED: "open",
    EventType.DEAL_WON: "won",
    EventType.DEAL_LOST: "lost",
    EventType.DEAL_UPDATED: None,  # says no status
}


class DealStatus(StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


class ConversionKind(StrEnum):
    DEAL = "deal"
    FIRST_PAYMENT = "first_payment"


@dataclass(frozen=True)
class People:
    """Who a deal or payment is about, as the senders named them: vendor-qualified contact ids, emails, and
    an account (vendor-qualified, or the hub's own account id)."""

    contact_ids: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    account_ref: str | None = None

    def merged(self, other: People) -> People:
        return People(
            tuple(dict.fromkeys([*self.contact_ids, *other.contact_ids])),
            tuple(dict.fromkeys([*self.emails, *other.emails])),
            other.account_ref or self.account_ref,
        )


@dataclass(frozen=True)
class DealReport:
    """What one deal event says."""

    deal_id: str
    event_id: str
    occurred_at: datetime
    status: DealStatus | None  # None: the event says nothing of it (an update)
    amount: Money | None
    people: People
    won_at: datetime | None
    # the Salesforce deal (`salesforce:<Opportunity id>`) a HubSpot deal's report names as the same deal
    salesforce_deal_id: str | None = None


@dataclass(frozen=True)
class Deal:
    deal_id: str
    first_seen_at: datetime  # the opportunity's creation as far as the hub can tell
    status: DealStatus
    # the time of the event that set the status (out-of-order events do not undo it); None: no event has said a
    # status yet (a deal first seen by an update is open until one does, whenever it happened)
    status_at: datetime | None
    amount: Money | None
    people: People
    won_at: datetime | None
    # the time of the event that said the amount (an older one arriving late does not undo it); None: no amount,
    # or one stored before this was kept (taken as of `status_at`)
    amount_at: datetime | None = None
    events: int = 1  # the reports folded in that changed it (a redelivered or replayed one is not counted)
    version: int = 0
    alias_of: str | None = None  # a HubSpot deal that is a Salesforce deal: the deal its reports are folded into
    aliases: tuple[str, ...] = ()  # the HubSpot deals folded into this one (their conversions: `deal:<alias>`)

    @property
    def conversion_id(self) -> str:
        return f"deal:{self.deal_id}"

    @property
    def converts(self) -> bool:
        return self.status is DealStatus.WON and self.amount is not None and self.amount.minor >= 0

    @property
    def as_of(self) -> datetime:
        """When the deal is as it stands: its status's time, else (first seen by an update) its first sighting."""
        return self.status_at or self.first_seen_at

    def folded(self, report: DealReport) -> Deal:
        """This deal with one more event: the latest status wins; the amount is the latest that was said (each
        by the time of the event that said it, so an older event delivered late undoes neither)."""
        at = report.occurred_at
        status_newer = report.status is not None and (self.status_at is None or at >= self.status_at)
        amount_since = self.amount_at or self.status_at  # an amount stored before amount_at: as of its status
        amount_newer = report.amount is not None and (self.amount is None or amount_since is None or at >= amount_since)
        newer = self.status_at is None or at >= self.status_at
        return replace(
            self,
            first_seen_at=min(self.first_seen_at, at),
            status=report.status if status_newer and report.status is not None else self.status,
            status_at=at if status_newer else self.status_at,
            amount=report.amount if amount_newer else self.amount,
            amount_at=at if amount_newer else self.amount_at,
            people=self.people.merged(report.people) if newer else report.people.merged(self.people),
            won_at=(report.won_at if report.status is DealStatus.WON else None) or self.won_at,
            events=self.events + 1,
        )

    def absorbed(self, other: Deal) -> Deal:
        """This deal with another record of the same deal folded in (a HubSpot deal found to be this Salesforce
        one): each of the status and the amount is the one said latest by either, first seen the earlier, the
        people of both, won at the earlier win; `other` is listed among its aliases."""
        mine_newer = other.status_at is None or (self.status_at is not None and self.status_at >= other.status_at)
        status_from = self if mine_newer else other
        mine_since, theirs_since = self.amount_at or self.status_at, other.amount_at or other.status_at
        amount_mine = other.amount is None or (
            self.amount is not None
            and (theirs_since is None or (mine_since is not None and mine_since >= theirs_since))
        )
        amount_from = self if amount_mine else other
        wins = [at for at in (self.won_at, other.won_at) if at is not None]
        return replace(
            self,
            first_seen_at=min(self.first_seen_at, other.first_seen_at),
            status=status_from.status,
            status_at=status_from.status_at,
            amount=amount_from.amount,
            amount_at=amount_from.amount_at,
            people=other.people.merged(self.people) if mine_newer else self.people.merged(other.people),
            won_at=min(wins) if wins else None,
            events=self.events + other.events,
            aliases=tuple(dict.fromkeys([*self.aliases, other.deal_id])),
        )

    @staticmethod
    def first(report: DealReport) -> Deal:
        """The deal as its first event tells it; one first seen by an update (no status said) is open with no
        status time, so any event that says a status, however early, sets it."""
        return Deal(
            deal_id=report.deal_id,
            first_seen_at=report.occurred_at,
            status=report.status or DealStatus.OPEN,
            status_at=report.occurred_at if report.status is not None else None,
            amount=report.amount,
            people=report.people,
            won_at=report.won_at if report.status is DealStatus.WON else None,
            amount_at=report.occurred_at if report.amount is not None else None,
        )


@dataclass(frozen=True)
class ConversionFacts:
    """A conversion before its journey is built."""

    conversion_id: str
    kind: ConversionKind
    converted_at: datetime
    amount: Money
    people: People
    deal_id: str | None = None
    opportunity_created_at: datetime | None = None
    cause: str = ""  # the event that made it (for the record)
    extra: dict[str, Any] = field(default_factory=dict)


def deal_report(event: CanonicalEvent, company_currency: str) -> DealReport | None:
    """The deal event as a report; None when it is not a deal event or names no deal. A malformed amount,
    currency or time is an InvalidInput (the event can never be used)."""
    if event.event_type not in DEAL_EVENTS or not event.subject.deal_id:
        return None
    status = DEAL_EVENTS[event.event_type]
    data = event.data
    given = data.get("fields")
    fields: dict[str, Any] = given if isinstance(given, dict) else {}
    raw_amount = fields.get("Amount") if event.source_vendor == "salesforce" else data.get("amount")
    raw_currency = (
        fields.get("CurrencyIsoCode") if event.source_vendor == "salesforce" else data.get("currency")
    ) or company_currency
    amount = None
    if raw_amount not in (None, ""):
        amount = parse_amount(_decimal_text(raw_amount), str(raw_currency), field="data.amount")
        if amount.minor < 0:  # a refund or credit note is not a deal's value: refused by name, not dropped
            raise InvalidAmount("data.amount", f"a deal's amount is not negative, not {format_amount(amount)}")
    won_at = _time(data.get("won_at"), "data.won_at") if status == "won" else None
    return DealReport(
        deal_id=event.subject.deal_id,
        event_id=event.event_id,
        occurred_at=event.occurred_at.astimezone(UTC),
        status=DealStatus(status) if status else None,
        amount=amount,
        people=people_of(event),
        won_at=won_at or (event.occurred_at.astimezone(UTC) if status == "won" else None),
        salesforce_deal_id=_salesforce_deal_of(event),
    )


def _salesforce_deal_of(event: CanonicalEvent) -> str | None:
    """The Salesforce deal a HubSpot deal's event names as the same deal: `data.salesforce_opportunity_id` (the
    HubSpot normalizer's), or the raw change of HubSpot's `hs_salesforceopportunityid` property (an event
    normalized before the normalizer surfaced it: a replay of the archive)."""
    deal_id = event.subject.deal_id or ""
    if not deal_id.startswith("hubspot:"):
        return None
    data = event.data
    value = data.get("salesforce_opportunity_id")
    if value is None and data.get("property") == SALESFORCE_OPPORTUNITY_PROPERTY:
        value = data.get("value")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        return None
    return f"salesforce:{salesforce_id_18(value.strip())}"


_ID_SUFFIX_CHARACTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def salesforce_id_18(record_id: str) -> str:
    """A Salesforce record id in its 18-character form, as Salesforce's outbound messages give it: a 15-character
    id (case-sensitive, as a property copied from the UI or a report may hold it) gains its 3-character suffix,
    whose each character spells which of 5 characters of the id are upper case. Any other id is kept as it is."""
    if len(record_id) != 15 or not record_id.isascii() or not record_id.isalnum():
        return record_id
    suffix = ""
    for chunk in range(3):
        flags = sum(1 << bit for bit, char in enumerate(record_id[chunk * 5 : chunk * 5 + 5]) if char.isupper())
        suffix += _ID_SUFFIX_CHARACTERS[flags]
    return record_id + suffix


def deal_conversion(deal: Deal, cause: str) -> ConversionFacts | None:
    if not deal.converts or deal.amount is None:
        return None
    return ConversionFacts(
        conversion_id=deal.conversion_id,
        kind=ConversionKind.DEAL,
        converted_at=deal.won_at or deal.as_of,
        amount=deal.amount,
        people=deal.people,
        deal_id=deal.deal_id,
        opportunity_created_at=deal.first_seen_at,
        cause=cause,
    )


def first_payment(event: CanonicalEvent) -> ConversionFacts | None:
    """A payment as a possible first-payment conversion (the store keeps only the first per customer); None
    when it names no customer or no amount, or its amount is 0 (a trial's $0 invoice is no revenue, and must not
    take the customer's `first-payment:<customer>` from the payment that is)."""
    if event.event_type is not EventType.PAYMENT_SUCCEEDED:
        return None
    customer = event.subject.account_id or event.subject.contact_id
    data = event.data
    minor, code = data.get("amount_minor"), data.get("currency")
    if not customer or minor is None or not isinstance(code, str):
        return None
    if isinstance(minor, bool) or not isinstance(minor, int) or minor < 0:
        raise InvalidInput(f"data.amount_minor: a payment's amount is a non-negative integer, not {minor!r}")
    if minor == 0:
        return None
    return ConversionFacts(
        conversion_id=f"first-payment:{customer}",
        kind=ConversionKind.FIRST_PAYMENT,
        converted_at=event.occurred_at.astimezone(UTC),
        amount=parse_amount(minor, code, field="data.amount_minor"),
        people=people_of(event),
        cause=event.event_id,
    )


def people_of(event: CanonicalEvent) -> People:
    subject, data = event.subject, event.data
    contacts = [subject.contact_id] if subject.contact_id else []
    emails = [e for e in (normalize_email(subject.email), normalize_email(data.get("email"))) if e]
    account = subject.account_id
    given = data.get("account_id")
    if isinstance(given, str) and given and not account:
        account = given
    return People(tuple(contacts), tuple(dict.fromkeys(emails)), account)


def _decimal_text(value: object) -> object:
    """A deal's amount as parse_amount takes it: decimal text in major units, as the contract says.

    A string is stripped (Salesforce's XML gives doubles as text, "52000.0"). A JSON number is the same decimal
    in major units, never minor units: an int as its digits (12000 is 12000.00), a Decimal as its exact digits,
    a float (what the JSON parser made of the sender's text) as the shortest decimal that reads back as it,
    which is the sender's number when that has at most 15 significant digits; a float needing more than 15 is
    refused, as it cannot be told apart from its neighbours to the cent. parse_amount then holds the text to
    the currency's exponent and the size limit, and refuses true/false and anything else by name."""
    if isinstance(value, str):
        text = value.strip()
        try:
            number = Decimal(text)
        except ArithmeticError:
            return text  # parse_amount names what is wrong with it
        if number.is_finite() and "e" not in text.lower():
            return text
        return value
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        number = Decimal(repr(value))
        if number.is_finite() and len(number.as_tuple().digits) > sys.float_info.dig:
            raise InvalidAmount(
                "data.amount",
                f"the JSON number {value!r} has more digits than a JSON number carries exactly: send it as a "
                'decimal string ("1234.56")',
            )
        value = number
    if isinstance(value, Decimal) and value.is_finite():
        return format(value, "f")
    return value


def _time(value: object, name: str) -> datetime | None:
    """The receiver's reading of a time (`as_offset_time`: ISO 8601 with its offset, 1970-2200), in UTC."""
    try:
        parsed = as_offset_time(value)
    except ValueError as exc:
        raise InvalidInput(f"{name}: {exc}") from None
    return None if parsed is None else parsed.astimezone(UTC)
