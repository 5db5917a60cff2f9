"""A Stripe subscription's monthly recurring revenue (MRR), exact in minor units, from its items' prices.

Each licensed item counts its price's `unit_amount` (or `unit_amount_decimal`, for sub-cent prices; the legacy
`plan.amount` where there is no price) times its quantity, brought to a month by its billing interval: a yearly
price is a twelfth, a quarterly one (`month` every 3) a third, a weekly one 52/12, a daily one 365/12. The sum is
rounded once, half to even. Discounts, taxes and proration are not revenue run rate and are left out; a metered
price has no rate until it is billed, so a subscription with one has no MRR (None), and neither has one whose
items are in several currencies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

_MONTHS_PER_INTERVAL = {
    "month": Decimal(1),
    "year": Decimal(12),
    "week": Decimal(12) / Decimal(52),
    "day": Decimal(12) / Decimal(365),
}
MAX_QUANTITY = 10**9


def monthly_recurring_minor(items: Sequence[Mapping[str, Any]]) -> int | None:
    """The MRR of the subscription's items (as `items.data[]` holds them), or None when it cannot be told."""
    if not items:
        return None
    total = Decimal(0)
    currencies = set()
    for item in items:
        price = _mapping(item.get("price")) or _mapping(item.get("plan"))
        recurring = _mapping(price.get("recurring"))
        interval = recurring.get("interval", price.get("interval"))
        count = recurring.get("interval_count", price.get("interval_count", 1))
        if recurring.get("usage_type", price.get("usage_type")) == "metered":
            return None
        amount = _amount(price)
        quantity = 1 if item.get("quantity") is None else item.get("quantity")
        if (
            amount is None
            or interval not in _MONTHS_PER_INTERVAL
            or not _whole(count, 1, 1000)
            or not isinstance(quantity, int)
            or not _whole(quantity, 0, MAX_QUANTITY)
        ):
            return None
        currencies.add(str(price.get("currency") or "").lower())
        total += amount * quantity / (_MONTHS_PER_INTERVAL[interval] * count)
    if len(currencies) > 1:
        return None
    return int(total.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def _amount(price: Mapping[str, Any]) -> Decimal | None:
    for key in ("unit_amount_decimal", "unit_amount", "amount"):
        value = price.get(key)
        if value is None or isinstance(value, bool):
            continue
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            return None
        return amount if amount.is_finite() and 0 <= amount < Decimal(10) ** 15 else None
    return None


def _whole(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
