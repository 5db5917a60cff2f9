"""New customers, as CAC divides by them (spend / attributed new customers).

A customer is the conversion's account, else its contacts (a contact of an account-less conversion is the same
customer as any other conversion naming that contact, or that account); a conversion naming nobody (a deal
whose people the hub never learnt) is a customer of its own. Over a report's months, read in time order, a
customer's first conversion (its first won deal, or its first payment) is the new customer; its later ones are
revenue, not customers. The new customer is shared among the campaigns of that first conversion's touches like
its deal units (millionths, per model: a campaign holding a third of the touches under linear holds a third of
the customer), so the campaigns' customers add up to the months' new customers.
"""

from __future__ import annotations

from collections import defaultdict

from shared.attribution.journeys import Model
from shared.attribution.ports import NO_CAMPAIGN, StoredConversion


class NewCustomers:
    """Folds conversions, in time order, into whether each one is its customer's first."""

    def __init__(self) -> None:
        self._customer_of: dict[str, str] = {}  # a name (account or contact) -> the customer it belongs to

    def is_first(self, conversion: StoredConversion) -> bool:
        """True when no conversion folded before names the customer `conversion` is about; its names are then
        kept as that customer's. A superseded conversion (`superseding.py`: its money counted by another) is
        no customer's."""
        if conversion.superseded_by is not None:
            return False
        names = [f"contact:{contact_id}" for contact_id in conversion.contact_ids]
        if conversion.account_id:
            names.insert(0, f"account:{conversion.account_id}")
        known = next((self._customer_of[name] for name in names if name in self._customer_of), None)
        customer = known or (names[0] if names else f"conversion:{conversion.conversion_id}")
        for name in names:
            self._customer_of.setdefault(name, customer)
        return known is None


def campaign_units(conversion: StoredConversion, campaign_id: str) -> dict[Model, int]:
    """The campaign's share of the conversion's deal units, per model (none for a campaign it does not touch)."""
    units: dict[Model, int] = defaultdict(int)
    for credited in conversion.touches:
        if (credited.touch.campaign_id or NO_CAMPAIGN) == campaign_id:
            for model, share in credited.deal_units.items():
                units[model] += share
    return dict(units)
