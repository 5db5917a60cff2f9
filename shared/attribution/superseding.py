"""One deal's money, counted once: a conversion another one counts is superseded.

- A HubSpot deal that is a Salesforce Opportunity (`hs_salesforceopportunityid`, `deals.py`) is folded into the
  Salesforce deal; when both were credited, the HubSpot deal's conversion is superseded by the Salesforce one's.
- A customer's first payment (`first-payment:<customer>`) and a won deal of the same customer are the same
  money: the deal counts it. A first payment is recorded superseded when the customer has a won deal; a won deal
  supersedes the customer's first payment credited before it.

The same customer is `customers.py`'s: conversions sharing their account or a contact. A superseded conversion is
emptied (no amount, touches or people) and marked `superseded_by`, so its totals move down by what it held (the
store's `replace_conversion`) and it counts in no total; its id stays taken, so a replay credits nothing again.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Protocol

from shared.attribution.ports import StoredConversion
from shared.finance.money import Money


class Named(Protocol):
    """A conversion or its outline: who it is about."""

    @property
    def contact_ids(self) -> tuple[str, ...]: ...

    @property
    def account_id(self) -> str | None: ...


def customer_names(conversion: Named) -> set[str]:
    """The names of the conversion's customer (its account, its contacts), as `customers.NewCustomers` reads them."""
    names = {f"contact:{contact_id}" for contact_id in conversion.contact_ids}
    if conversion.account_id:
        names.add(f"account:{conversion.account_id}")
    return names


def superseded(conversion: StoredConversion, by: str, now: datetime) -> StoredConversion:
    """The conversion emptied, counted by `by` (its currency, times and deal kept; `recorded_at` now)."""
    return replace(
        conversion,
        amount=Money(0, conversion.amount.currency),
        company_minor=0,
        touches=(),
        contact_ids=(),
        account_id=None,
        superseded_by=by,
        recorded_at=now,
    )


def around(at: datetime, lookback: timedelta, now: datetime) -> tuple[datetime, datetime]:
    """The span a conversion's same-customer counterpart is looked for in: the lookback window either side of
    it (a first payment and a deal further apart are two purchases), up to now."""
    return at - lookback, max(at, min(at + lookback, now))
