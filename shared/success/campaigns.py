"""CS <-> marketing (seed 002): the marketing view of an account's health (advocacy eligibility, suppression),
and CS-driven campaigns whose audience is chosen by health band, segment and NPS."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

PROMOTER_FROM = 9  # NPS 9-10 is a promoter


class CampaignKind(StrEnum):
    ADVOCACY = "advocacy"
    REFERENCE = "reference"
    RETENTION = "retention"
    UPSELL = "upsell"


@dataclass(frozen=True)
class AccountStanding:
    """What marketing needs of an account: its band, its latest NPS, whether an open intervention asks that it
    get no promotions."""

    tenant_id: str
    band: str | None
    nps: int | None
    suppressed: bool
    segment: str | None = None

    @property
    def advocacy_eligible(self) -> bool:
        """A promoter with a green health: asked for reviews, references and case studies."""
        return self.band == "green" and self.nps is not None and self.nps >= PROMOTER_FROM


@dataclass(frozen=True)
class Audience:
    bands: tuple[str, ...] = ()  # any band when empty
    min_nps: int | None = None
    max_nps: int | None = None
    advocates_only: bool = False
    segments: tuple[str, ...] = ()  # any segment when empty

    def holds(self, account: AccountStanding) -> bool:
        if self.bands and account.band not in self.bands:
            return False
        if self.segments and account.segment not in self.segments:
            return False
        if self.min_nps is not None and (account.nps is None or account.nps < self.min_nps):
            return False
        if self.max_nps is not None and (account.nps is None or account.nps > self.max_nps):
            return False
        return account.advocacy_eligible or not self.advocates_only


@dataclass(frozen=True)
class CsCampaign:
    campaign_id: str
    kind: CampaignKind
    name: str
    audience: Audience
    requested_by: str
    created_at: datetime
    tenants: tuple[str, ...]  # the audience resolved when it was requested
    digest: str = ""  # of the body as sent: the same id with another body is a conflict


def audience_of(audience: Audience, kind: CampaignKind, accounts: Sequence[AccountStanding]) -> list[str]:
    """The accounts a campaign reaches: those the audience holds, never a suppressed account for a promotion
    (advocacy, reference, upsell); a retention campaign reaches them (it is what suppression is for)."""
    promotional = kind is not CampaignKind.RETENTION
    return sorted(a.tenant_id for a in accounts if audience.holds(a) and not (promotional and a.suppressed))
