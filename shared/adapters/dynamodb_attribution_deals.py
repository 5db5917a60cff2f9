"""The items of a deal and of what it contributes to pipeline (layout: `dynamodb_attribution_keys.py`): the
`DEAL` item, the deal's `PIPELINE` contribution, and the campaigns' and total pipeline figures it moves."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.adapters.dynamodb_attribution_checks import TRANSACTION_ITEMS
from shared.adapters.dynamodb_attribution_keys import DEAL, PIPELINE, deal_pk, pipeline_pk
from shared.adapters.dynamodb_items import iso, iso_or_none, when, when_or_none
from shared.attribution.deals import Deal, DealStatus, People
from shared.attribution.journeys import Model
from shared.attribution.pipeline import CampaignCredits, difference
from shared.attribution.ports import NO_CAMPAIGN, DealPipeline
from shared.finance.money import Money

PIPELINE_FIGURE = "pipeline_"


# ---------------------------------------------------------------------------------------------------- deals


def deal_item(deal: Deal, version: int) -> dict[str, Any]:
    """The `DEAL` item of a (checked) deal at `version` (plain values; `serialize` makes it DynamoDB JSON)."""
    item: dict[str, Any] = {
        "pk": deal_pk(deal.deal_id),
        "sk": DEAL,
        "deal_id": deal.deal_id,
        "first_seen_at": iso(deal.first_seen_at),
        "status": deal.status.value,
        "status_at": iso_or_none(deal.status_at),
        "amount_minor": None if deal.amount is None else deal.amount.minor,
        "amount_currency": None if deal.amount is None else deal.amount.currency,
        "amount_at": iso_or_none(deal.amount_at),
        "contact_ids": list(deal.people.contact_ids),
        "emails": list(deal.people.emails),
        "account_ref": deal.people.account_ref,
        "won_at": iso_or_none(deal.won_at),
        "events": deal.events,
        "version": version,
        "alias_of": deal.alias_of,  # only a HubSpot deal folded into its Salesforce deal
        "aliases": list(deal.aliases) or None,
    }
    return {name: value for name, value in item.items() if value is not None}


def deal_from(item: Mapping[str, Any]) -> Deal:
    """The deal of a `DEAL` item; one written before `amount_at` was kept reads without it (`Deal.folded` takes
    its amount as of `status_at`, as it was compared then)."""
    amount = None
    if "amount_minor" in item:
        amount = Money(int(item["amount_minor"]), str(item["amount_currency"]))
    return Deal(
        deal_id=str(item["deal_id"]),
        first_seen_at=when(item["first_seen_at"]),
        status=DealStatus(item["status"]),
        status_at=when_or_none(item.get("status_at")),
        amount=amount,
        people=People(
            tuple(str(c) for c in item.get("contact_ids", [])),
            tuple(str(e) for e in item.get("emails", [])),
            item.get("account_ref"),
        ),
        won_at=when_or_none(item.get("won_at")),
        amount_at=when_or_none(item.get("amount_at")),  # absent: none, or an item written before it was kept
        events=int(item["events"]),
        version=int(item["version"]),
        alias_of=item.get("alias_of"),
        aliases=tuple(str(alias) for alias in item.get("aliases", [])),
    )


# ------------------------------------------------------------------------------------------------- pipeline


@dataclass(frozen=True)
class PipelineChanges:
    """What replacing a deal's contribution adds: to each campaign whose pipeline moves, and to the total (the
    campaigns but `NO_CAMPAIGN`; empty when it does not move)."""

    campaigns: dict[str, dict[Model, int]]
    total: dict[Model, int]

    @property
    def items(self) -> int:
        return len(self.campaigns) + (1 if self.total else 0)


def pipeline_changes(deal_id: str, new: CampaignCredits | None, old: CampaignCredits | None) -> PipelineChanges:
    """How the campaigns' and the total pipeline move from `old` to `new` (either None: no contribution);
    ValueError when that takes more items than one transaction holds beside the deal's."""
    campaigns = difference(new or {}, old or {})
    total = {model: sum(d[model] for c, d in campaigns.items() if c != NO_CAMPAIGN) for model in Model}
    changes = PipelineChanges(campaigns, total if any(total.values()) else {})
    if 1 + changes.items > TRANSACTION_ITEMS:
        raise ValueError(
            f"pipeline of deal {deal_id}: going from {len(old or {})} campaigns to {len(new or {})} moves the "
            f"pipeline of {len(campaigns)} campaigns, more than one transaction holds beside the deal's "
            f"contribution (at most {TRANSACTION_ITEMS - 2}): remove the deal's contribution, then set the new one"
        )
    return changes


def pipeline_item(deal_id: str, credits: CampaignCredits, version: int, written: str) -> dict[str, Any]:
    """The `PIPELINE` item of a deal's (checked) contribution at `version`, written by the write `written`."""
    return {
        "pk": pipeline_pk(deal_id),
        "sk": PIPELINE,
        "deal_id": deal_id,
        "credits": {campaign: {model.value: minor for model, minor in by.items()} for campaign, by in credits.items()},
        "version": version,
        "written": written,
    }


def pipeline_from(item: Mapping[str, Any]) -> DealPipeline:
    credits = {
        str(campaign): {Model(name): int(minor) for name, minor in by_model.items()}
        for campaign, by_model in item["credits"].items()
    }
    return DealPipeline(str(item["deal_id"]), credits, int(item["version"]))


def pipeline_attributes(figures: Mapping[Model, int]) -> dict[str, int]:
    return {f"{PIPELINE_FIGURE}{model.value}": minor for model, minor in figures.items()}


def pipeline_figures(item: Mapping[str, Any] | None) -> dict[Model, int]:
    """A campaign's (or the total) pipeline item as every model's figure (0 for none)."""
    return {model: int((item or {}).get(f"{PIPELINE_FIGURE}{model.value}", 0)) for model in Model}
