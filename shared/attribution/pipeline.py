"""Influenced pipeline: an open deal with a known amount credited to its journey so far, under every model, the
same way a won deal is. A campaign's pipeline is the sum of its credits over the deals open now; a deal's
contribution is replaced whenever the deal changes and removed when it is won (its revenue takes over) or lost,
and computed again by `make reattribute` after a settings change (`AttributionService.repipeline`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from shared.attribution.journeys import Model
from shared.attribution.ports import NO_CAMPAIGN, CreditedTouch

CampaignCredits = Mapping[str, Mapping[Model, int]]  # campaign -> model -> company minor units


def campaign_credits(touches: Sequence[CreditedTouch]) -> dict[str, dict[Model, int]]:
    """Each campaign's credits under each model (campaigns a model gives nothing keep a 0 for it)."""
    by_campaign: dict[str, dict[Model, int]] = defaultdict(lambda: dict.fromkeys(Model, 0))
    for credited in touches:
        campaign = credited.touch.campaign_id or NO_CAMPAIGN
        for model, credit in credited.credits.items():
            by_campaign[campaign][model] += credit.minor
    return dict(by_campaign)


def difference(new: CampaignCredits, old: CampaignCredits) -> dict[str, dict[Model, int]]:
    """What to add to each campaign's pipeline to go from `old` to `new` (zeros left out)."""
    changes: dict[str, dict[Model, int]] = {}
    for campaign in sorted(set(new) | set(old)):
        delta = {model: new.get(campaign, {}).get(model, 0) - old.get(campaign, {}).get(model, 0) for model in Model}
        if any(delta.values()):
            changes[campaign] = delta
    return changes
