"""Customer revenue for lifetime value (pure): each billing customer's subscriptions as their latest change left
them, and what a campaign's customers are worth.

A customer is who the subscription events name (`stripe:cus_...`, or a Standard Webhooks sender's account id),
kept under that identity; a conversion finds its customers through the identities of its account and contacts.
A subscription is paying while `active` or `past_due` with a known MRR (`data.mrr_minor`); a trial is not
revenue. Out-of-order changes do not undo a later one (the latest `occurred_at` per subscription wins), and the
MRR a subscription last paid is kept after it ends.

Lifetime value of a campaign's customers (those whose credited journey touched the campaign), in the company
currency (customers billed in another currency are left out and counted):
- ARPA: their average monthly revenue: a paying customer's MRR now, a churned one's MRR when it last paid;
- monthly churn: churned customers / customer-months observed (from each one's first paid change to its churn,
  or to now): the rate of an exponential lifetime, estimated from what the hub has seen;
- LTV = ARPA / monthly churn; null (and said so) before any of them has churned;
- payback months = CAC / ARPA, per model (CAC is per model).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal

from shared.events.canonical import CanonicalEvent, EventType
from shared.leads.identity import vendor_identity

PAYING = frozenset({"active", "past_due"})
DAYS_PER_MONTH = Decimal("365.25") / 12
CHURN_PLACES = Decimal("0.0001")
MONTH_PLACES = Decimal("0.01")


@dataclass(frozen=True)
class SubscriptionChange:
    customer_key: str  # the billing customer as an identity key (`stripe#cus_...`)
    subscription_id: str
    status: str
    mrr_minor: int | None
    currency: str | None
    at: datetime
    event_id: str


@dataclass(frozen=True)
class SubscriptionState:
    status: str
    mrr_minor: int | None
    currency: str | None
    at: datetime  # the change that set this state
    first_paid_at: datetime | None = None  # the earliest change seen paying
    paid_at: datetime | None = None  # the latest change seen paying
    paid_mrr_minor: int | None = None  # its MRR

    @property
    def paying(self) -> bool:
        return self.status in PAYING and self.mrr_minor is not None


@dataclass(frozen=True)
class CustomerRevenue:
    customer_key: str
    subscriptions: Mapping[str, SubscriptionState] = field(default_factory=dict)
    version: int = 0

    def folded(self, change: SubscriptionChange) -> CustomerRevenue:
        """With one more change, whatever order changes arrive in: the latest change sets the subscription's
        state; any paying change, even one older than the state, moves when it first and last paid."""
        held = self.subscriptions.get(change.subscription_id)
        paying = change.status in PAYING and change.mrr_minor is not None
        if held is None or change.at >= held.at:
            state = SubscriptionState(change.status, change.mrr_minor, change.currency, change.at)
        else:
            state = SubscriptionState(held.status, held.mrr_minor, held.currency, held.at)
        first_paid, paid_at, paid_mrr = (held.first_paid_at, held.paid_at, held.paid_mrr_minor) if held else (None,) * 3
        if paying:
            first_paid = min(first_paid, change.at) if first_paid else change.at
            if paid_at is None or change.at >= paid_at:
                paid_at, paid_mrr = change.at, change.mrr_minor
        state = replace(state, first_paid_at=first_paid, paid_at=paid_at, paid_mrr_minor=paid_mrr)
        if held == state:
            return self
        return replace(self, subscriptions={**self.subscriptions, change.subscription_id: state})

    @property
    def first_paid_at(self) -> datetime | None:
        return min((s.first_paid_at for s in self.subscriptions.values() if s.first_paid_at), default=None)

    @property
    def paying(self) -> bool:
        return any(s.paying for s in self.subscriptions.values())

    @property
    def churned_at(self) -> datetime | None:
        """When the last paying subscription ended (its latest change), for a customer that paid and pays no more."""
        if self.paying or self.first_paid_at is None:
            return None
        return max(s.at for s in self.subscriptions.values() if s.first_paid_at)

    @property
    def currencies(self) -> set[str]:
        return {s.currency for s in self.subscriptions.values() if s.first_paid_at and s.currency}

    @property
    def monthly_minor(self) -> int:
        """MRR now while paying; once churned, what its subscriptions last paid."""
        if self.paying:
            return sum(s.mrr_minor or 0 for s in self.subscriptions.values() if s.paying)
        return sum(s.paid_mrr_minor or 0 for s in self.subscriptions.values() if s.first_paid_at)


def subscription_change(event: CanonicalEvent) -> SubscriptionChange | None:
    """A `subscription.changed` as a customer's revenue change; None for any other event, or one naming no
    customer or subscription."""
    if event.event_type is not EventType.SUBSCRIPTION_CHANGED:
        return None
    data = event.data
    customer = vendor_identity(event.subject.account_id) or vendor_identity(event.subject.contact_id)
    subscription_id, status = data.get("subscription_id"), data.get("status")
    if customer is None or not isinstance(subscription_id, str) or not subscription_id.strip():
        return None
    mrr, currency = data.get("mrr_minor"), data.get("currency")
    known_mrr = isinstance(mrr, int) and not isinstance(mrr, bool) and 0 <= mrr < 10**15
    return SubscriptionChange(
        customer_key=customer.key,
        subscription_id=subscription_id.strip()[:256],
        status=status.strip().lower()[:40] if isinstance(status, str) else "unknown",
        mrr_minor=mrr if known_mrr else None,
        currency=currency.strip().upper()[:3] if isinstance(currency, str) and currency.strip() else None,
        at=event.occurred_at,
        event_id=event.event_id,
    )


@dataclass(frozen=True)
class LifetimeValue:
    customers: int  # the campaign's paid customers counted (in the company currency)
    paying: int
    churned: int
    other_currencies: int  # paid customers billed in another currency: left out
    customer_months: Decimal
    arpa_minor: int | None
    monthly_churn: Decimal | None
    ltv_minor: int | None
    notes: tuple[str, ...] = ()

    def payback_months(self, cac_minor: int | None) -> Decimal | None:
        if cac_minor is None or not self.arpa_minor:
            return None
        return (Decimal(cac_minor) / Decimal(self.arpa_minor)).quantize(MONTH_PLACES, rounding=ROUND_HALF_EVEN)

    def ltv_to_cac(self, cac_minor: int | None) -> Decimal | None:
        if self.ltv_minor is None or not cac_minor:
            return None
        return (Decimal(self.ltv_minor) / Decimal(cac_minor)).quantize(MONTH_PLACES, rounding=ROUND_HALF_EVEN)


def lifetime_value(revenues: Iterable[CustomerRevenue], currency: str, as_of: datetime) -> LifetimeValue:
    counted = [r for r in revenues if r.first_paid_at is not None]
    other = [r for r in counted if r.currencies != {currency}]
    mine = [r for r in counted if r.currencies == {currency}]
    churned = [r for r in mine if r.churned_at is not None]
    days = sum(
        (Decimal(((r.churned_at or as_of) - r.first_paid_at).total_seconds()) / 86400 for r in mine if r.first_paid_at),
        Decimal(0),
    )
    months = max(days, Decimal(0)) / DAYS_PER_MONTH
    notes: list[str] = []
    if other:
        notes.append(f"{len(other)} paid customer(s) billed in another currency than {currency}: left out of LTV")
    if not mine:
        notes.append(
            "no customer of the campaign has a paid subscription the hub has seen (subscription.changed with "
            "mrr_minor): LTV, ARPA and payback months are null"
        )
        return LifetimeValue(0, 0, 0, len(other), Decimal(0), None, None, None, tuple(notes))
    arpa = int((Decimal(sum(r.monthly_minor for r in mine)) / len(mine)).quantize(Decimal(1), ROUND_HALF_EVEN))
    churn = (Decimal(len(churned)) / months).quantize(CHURN_PLACES, ROUND_HALF_EVEN) if churned and months else None
    ltv = None
    if churned and months:
        ltv = int((Decimal(arpa) * months / len(churned)).quantize(Decimal(1), ROUND_HALF_EVEN))
    else:
        notes.append(
            f"none of the campaign's {len(mine)} paid customer(s) has churned in {months.quantize(MONTH_PLACES)} "
            "customer-months: the churn rate, and so LTV, cannot be estimated yet"
        )
    return LifetimeValue(
        len(mine), len(mine) - len(churned), len(churned), len(other), months, arpa, churn, ltv, tuple(notes)
    )
