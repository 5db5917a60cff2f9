"""What conversions add to their month's totals items (layout: `dynamodb_attribution_keys.py`): each campaign's
and channel's figures, the month's overall (`ALL`), and what a replacement of a conversion moves on them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.adapters.dynamodb_attribution_checks import TRANSACTION_ITEMS, checked_conversion
from shared.adapters.dynamodb_attribution_conversions import conversion_digest
from shared.adapters.dynamodb_attribution_keys import ALL, campaign_key, campaign_sk, channel_sk, month_of, totals_pk
from shared.attribution.journeys import Model
from shared.attribution.ports import CreditedTouch, Overall, StoredConversion, Totals

REVENUE, DEALS = "revenue_", "deals_"


# --------------------------------------------------------------------------------------------------- totals


def conversion_totals(conversion: StoredConversion) -> dict[str, Totals]:
    """What a conversion adds to its month's totals, by sort key (`CAMPAIGN#...`, `CHANNEL#...`): per model the
    sum of its touches' credits and deal units there, the touches there, and 1 conversion."""
    grouped: dict[str, list[CreditedTouch]] = {}
    for credited in conversion.touches:
        grouped.setdefault(campaign_sk(campaign_key(credited.touch)), []).append(credited)
    for credited in conversion.touches:
        grouped.setdefault(channel_sk(credited.touch.channel), []).append(credited)
    return {
        sk: Totals(
            {model: sum(t.credits[model].minor for t in touches) for model in Model},
            {model: sum(t.deal_units[model] for t in touches) for model in Model},
            len(touches),
            1,
        )
        for sk, touches in grouped.items()
    }


def data_driven_deltas(old: StoredConversion, new: StoredConversion) -> dict[str, tuple[int, int]]:
    """How the data-driven revenue and deals of each campaign and channel move from `old`'s credits to `new`'s
    (the same touches): sort key -> (revenue, deals), the keys that do not move left out."""
    before, after = conversion_totals(old), conversion_totals(new)
    deltas = {}
    for sk, totals in after.items():
        revenue = totals.revenue[Model.DATA_DRIVEN] - before[sk].revenue[Model.DATA_DRIVEN]
        deals = totals.deals[Model.DATA_DRIVEN] - before[sk].deals[Model.DATA_DRIVEN]
        if revenue or deals:
            deltas[sk] = (revenue, deals)
    return deltas


@dataclass(frozen=True)
class Replacement:
    """A stored conversion (`old`) to be replaced by `new`, both checked, and what the replacement adds to the
    totals items: (pk, sk) -> attribute -> delta (new minus old) for each of the campaigns', channels' and
    month's `ALL` items that moves; an item whose deltas are all zero is left out (it is not written)."""

    old: StoredConversion
    new: StoredConversion
    moves: dict[tuple[str, str], dict[str, int]]

    @property
    def unchanged(self) -> bool:
        """Nothing to write: the two items are the same, attribute for attribute."""
        return conversion_digest(self.old) == conversion_digest(self.new)


def _contributions(conversion: StoredConversion) -> dict[tuple[str, str], dict[str, int]]:
    """What the (checked) conversion adds to totals items, by (pk, sk), as `record` adds it."""
    pk = totals_pk(month_of(conversion.converted_at))
    added = {(pk, sk): totals_attributes(totals) for sk, totals in conversion_totals(conversion).items()}
    added[pk, ALL] = overall_attributes(overall_added(conversion))
    return added


def checked_replacement(old: StoredConversion, new: StoredConversion) -> Replacement:
    """The replacement of `old` by `new`; ValueError when either cannot be stored as it is
    (`checked_conversion`), when they are not the same conversion (id), or when the conversion and the totals
    items it moves (campaigns and channels of either, the month's `ALL`) take more than one transaction holds
    (`TRANSACTION_ITEMS`): a journey moved from dozens of campaigns to dozens of others."""
    before, after = checked_conversion(old), checked_conversion(new)
    what = f"conversion {before.conversion_id}"
    if after.conversion_id != before.conversion_id:
        raise ValueError(f"{what} cannot be replaced by conversion {after.conversion_id}: they are not the same one")
    was, becomes = _contributions(before), _contributions(after)
    moves: dict[tuple[str, str], dict[str, int]] = {}
    for where in dict.fromkeys([*becomes, *was]):
        now, then = becomes.get(where, {}), was.get(where, {})
        delta = {name: now.get(name, 0) - then.get(name, 0) for name in dict.fromkeys([*now, *then])}
        if any(delta.values()):
            moves[where] = delta
    if 1 + len(moves) > TRANSACTION_ITEMS:
        raise ValueError(
            f"{what}: replacing it moves {len(moves)} totals items (campaigns, channels and the month's overall of "
            f"both versions), more than one transaction holds beside the conversion (at most "
            f"{TRANSACTION_ITEMS - 1})"
        )
    return Replacement(before, after, moves)


def totals_attributes(totals: Totals) -> dict[str, int]:
    """A Totals as the flat attributes of its item."""
    return {
        **{f"{REVENUE}{model.value}": minor for model, minor in totals.revenue.items()},
        **{f"{DEALS}{model.value}": units for model, units in totals.deals.items()},
        "touches": totals.touches,
        "conversions": totals.conversions,
    }


def totals_from(item: Mapping[str, Any]) -> Totals:
    revenue = {Model(name.removeprefix(REVENUE)): int(v) for name, v in item.items() if name.startswith(REVENUE)}
    deals = {Model(name.removeprefix(DEALS)): int(v) for name, v in item.items() if name.startswith(DEALS)}
    return Totals(revenue, deals, int(item.get("touches", 0)), int(item.get("conversions", 0)))


# -------------------------------------------------------------------------------------------------- overall


def overall_added(conversion: StoredConversion) -> Overall:
    """What a conversion adds to its month's `ALL`: its amount and 1, and as much influenced when a touch of its
    journey carries a campaign; nothing for a conversion another one supersedes (its money counted there)."""
    if conversion.superseded_by is not None:
        return Overall()
    influenced = any(credited.touch.campaign_id is not None for credited in conversion.touches)
    minor = conversion.company_minor
    return Overall(minor, 1, minor if influenced else 0, 1 if influenced else 0)


def overall_attributes(overall: Overall) -> dict[str, int]:
    return {
        "revenue": overall.revenue,
        "conversions": overall.conversions,
        "influenced_revenue": overall.influenced_revenue,
        "influenced_conversions": overall.influenced_conversions,
    }


def overall_from(item: Mapping[str, Any]) -> Overall:
    return Overall(
        int(item.get("revenue", 0)),
        int(item.get("conversions", 0)),
        int(item.get("influenced_revenue", 0)),
        int(item.get("influenced_conversions", 0)),
    )
