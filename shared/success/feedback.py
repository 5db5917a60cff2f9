"""Product feedback (seed 002: "feature request prioritization"): requests, bugs and praise from customers, kept
once, and the requests ranked by the demand of the accounts asking, weighted by their annual revenue.

An account's annual revenue (ARR) is what it paid in the trailing twelve months (its `payment.succeeded`
signals, in the company currency, each payment once however many Stripe objects told it:
`shared.success.payments`): a monthly subscription paid twelve times and an annual invoice both count as what
they are worth a year. Payments in another currency are left out and counted, so a ranking says how
much it could not weigh."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from shared.success.payments import once
from shared.success.signals import Signal, SignalKind

ARR_WINDOW_DAYS = 365


class FeedbackKind(StrEnum):
    REQUEST = "request"
    BUG = "bug"
    PRAISE = "praise"


@dataclass(frozen=True)
class Feedback:
    feedback_key: str  # the caller's feedback_id, else a digest of what it says: kept once under it
    tenant_id: str
    feature: str
    kind: FeedbackKind
    text: str
    source: str
    received_at: datetime
    contact_email: str | None = None
    campaign_id: str | None = None
    digest: str = ""  # of the body as sent: the same key with another body is a conflict


@dataclass(frozen=True)
class Arr:
    minor: int  # company-currency minor units over the trailing year
    foreign_payments: int  # payments in another currency, left out


@dataclass(frozen=True)
class Demand:
    feature: str
    kind: FeedbackKind
    mentions: int
    accounts: list[tuple[str, int]]  # (tenant_id, ARR minor), highest first
    weighted_minor: int  # the sum of the distinct accounts' ARR

    @property
    def account_count(self) -> int:
        return len(self.accounts)


def feedback_key(tenant_id: str, feature: str, kind: FeedbackKind, text: str, given: str | None) -> str:
    """The key feedback is kept once under: the caller's id, else what it says (whitespace and case aside)."""
    if given:
        return f"id:{given}"
    said = " ".join(text.casefold().split())
    return "said:" + hashlib.sha256(f"{tenant_id}\n{feature}\n{kind.value}\n{said}".encode()).hexdigest()[:32]


def arr_of(signals: Iterable[Signal], now: datetime, company_currency: str) -> Arr:
    start = now - timedelta(days=ARR_WINDOW_DAYS)
    # one payment is counted once, however many Stripe objects told it (`shared.success.payments`)
    paid = [s for s in once(signals, SignalKind.PAYMENT_SUCCEEDED) if start < s.at <= now]
    with_amount = [s for s in paid if s.values.get("amount_minor") is not None]
    ours = [s for s in with_amount if s.values.get("currency") == company_currency]
    return Arr(sum(int(s.values["amount_minor"]) for s in ours), len(with_amount) - len(ours))


def ranked(
    feedback: Sequence[Feedback], arr: Mapping[str, int], kind: FeedbackKind | None = FeedbackKind.REQUEST
) -> list[Demand]:
    """Each (feature, kind) with its mentions and the distinct accounts behind it, highest ARR-weighted demand
    first (then most accounts, then the feature's name)."""
    groups: dict[tuple[str, FeedbackKind], list[Feedback]] = {}
    for one in feedback:
        if kind is None or one.kind is kind:
            groups.setdefault((one.feature, one.kind), []).append(one)
    demand = []
    for (feature, group_kind), items in groups.items():
        tenants = sorted({i.tenant_id for i in items}, key=lambda t: (-arr.get(t, 0), t))
        accounts = [(t, arr.get(t, 0)) for t in tenants]
        demand.append(Demand(feature, group_kind, len(items), accounts, sum(value for _, value in accounts)))
    return sorted(demand, key=lambda d: (-d.weighted_minor, -d.account_count, d.feature, d.kind.value))
