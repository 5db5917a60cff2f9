"""What attribution needs from storage. The DynamoDB adapter and the in-memory fake both honour it.

A conversion is written once, with every touch's credits under every model and the aggregates those credits
add to, all or nothing: the aggregates always equal the sum of the stored conversions (the contract test
recomputes them). The data-driven batch replaces a conversion's data-driven credits and moves the aggregates
by the difference in the same write, conditioned on the conversion being still the one it read (its fit, its
touches, everything). A reattribution (`make reattribute`, after a settings change) replaces a whole
conversion and moves the aggregates by the difference the same way, on the same condition; it also lists
every open deal's pipeline contribution and the months' counted funnel entries (`pipelines`, `stage_entries`:
reads of a batch, a scan in DynamoDB, never of an API) to recompute what the settings decide of them, and
replaces a contribution (`set_pipeline`) or moves an entry to another campaign (`move_stage_entry`) on
condition that it is still the one read.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol

from shared.attribution.deals import ConversionKind, Deal
from shared.attribution.funnel_counts import StageCounts, StageEntry
from shared.attribution.journeys import Credit, Model, Role, Touch
from shared.attribution.markov import MarkovFit
from shared.attribution.revenue import CustomerRevenue
from shared.finance.money import Money

NO_CAMPAIGN = "(none)"  # the aggregate key of touches that carry no campaign
DEAL_UNITS = 1_000_000  # a conversion counts as 1,000,000 deal units, shared like its amount: fractional deals


class StaleDeal(Exception):
    """The deal changed since it was read (its version moved); nothing was written. Read again."""


class StaleCredits(Exception):
    """The conversion's data-driven credits were replaced since they were read; nothing was written."""


@dataclass(frozen=True)
class CreditedTouch:
    touch: Touch
    roles: frozenset[Role]
    credits: Mapping[Model, Credit]  # every model
    deal_units: Mapping[Model, int]  # the touch's share of the conversion's DEAL_UNITS, per model


@dataclass(frozen=True)
class StoredConversion:
    conversion_id: str
    kind: ConversionKind
    converted_at: datetime
    amount: Money  # as reported
    company_minor: int  # in the company currency: what the credits share
    company_currency: str
    rate: Decimal  # one unit of the amount's currency in the company currency (1 when the same)
    contact_ids: tuple[str, ...]  # the hub contacts whose touches make the journey
    account_id: str | None
    deal_id: str | None
    lead_created_at: datetime | None
    opportunity_created_at: datetime | None
    touches: tuple[CreditedTouch, ...]
    settings_version: str  # the attribution file's version the journey and credits were computed with
    fit_id: str | None  # the Markov fit the data-driven credits used; None: linear, no fit yet
    recorded_at: datetime
    # Someone it was credited to was erased (privacy): its journey can no longer be rebuilt, its credits stand.
    people_erased: bool = False
    # Re-credited (a reattribution, a buyer named later) and written before its new `conversion.attributed` was
    # published: the outbox mark. Whoever reads it marked publishes that event (its id is derived from what is
    # stored, so a repeat is a duplicate consumers drop) and then clears the mark, so the bus is never ahead of
    # the store and a publish lost between the two is retried (the next reattribution, the deal's next event).
    unannounced: bool = False
    # Another conversion counts this one's money (`AttributionService`): a HubSpot deal folded into the Salesforce
    # Opportunity it names, a customer's first payment beside the customer's won deal. Emptied (no amount, touches
    # or people), it keeps its id taken (a replay credits nothing again) and counts in no total, not even `overall`.
    superseded_by: str | None = None

    @property
    def period(self) -> str:
        """The month it counts in, in UTC (as the store keys it)."""
        return self.converted_at.astimezone(UTC).strftime("%Y-%m")


@dataclass(frozen=True)
class Totals:
    """What the conversions of a month credited to one campaign or channel, per model: revenue in company
    minor units, deals in DEAL_UNITS; and, model-free, its touches and the conversions it touched."""

    revenue: Mapping[Model, int] = field(default_factory=dict)
    deals: Mapping[Model, int] = field(default_factory=dict)
    touches: int = 0
    conversions: int = 0

    def plus(self, other: Totals) -> Totals:
        models = set(self.revenue) | set(other.revenue) | set(self.deals) | set(other.deals)
        return Totals(
            {m: self.revenue.get(m, 0) + other.revenue.get(m, 0) for m in models},
            {m: self.deals.get(m, 0) + other.deals.get(m, 0) for m in models},
            self.touches + other.touches,
            self.conversions + other.conversions,
        )


@dataclass(frozen=True)
class ConversionPage:
    conversions: list[StoredConversion]
    next_cursor: str | None


@dataclass(frozen=True)
class ConversionOutline:
    """What a settings comparison reads of a stored conversion: what converted, when, for how much and whose
    journey it was, and how many touches are stored; not the touches nor their credits (most of the item: a
    journey of a hundred touches is tens of KB), which the comparison computes again."""

    conversion_id: str
    kind: ConversionKind
    converted_at: datetime
    amount: Money
    company_minor: int
    company_currency: str
    contact_ids: tuple[str, ...]
    account_id: str | None
    deal_id: str | None
    opportunity_created_at: datetime | None
    touch_count: int  # len(touches) of the stored conversion

    @classmethod
    def of(cls, conversion: StoredConversion) -> ConversionOutline:
        return cls(
            conversion_id=conversion.conversion_id,
            kind=conversion.kind,
            converted_at=conversion.converted_at,
            amount=conversion.amount,
            company_minor=conversion.company_minor,
            company_currency=conversion.company_currency,
            contact_ids=conversion.contact_ids,
            account_id=conversion.account_id,
            deal_id=conversion.deal_id,
            opportunity_created_at=conversion.opportunity_created_at,
            touch_count=len(conversion.touches),
        )


@dataclass(frozen=True)
class OutlinePage:
    outlines: list[ConversionOutline]
    next_cursor: str | None


@dataclass(frozen=True)
class StoredFit:
    fit_id: str  # "<period>#<fitted_at iso>"
    period: str
    fitted_at: datetime
    fit: MarkovFit


class ConversionStore(Protocol):
    # --- deals
    def deal(self, deal_id: str) -> Deal | None: ...

    def save_deal(self, deal: Deal) -> Deal:
        """Writes the deal on condition of the version it was read at (0: new); returns it at its new version.
        StaleDeal when someone wrote it meanwhile."""
        ...

    def save_deals(self, deals: Sequence[Deal]) -> list[Deal]:
        """`save_deal` of several deals (distinct ids, at most 25) in one write: all or nothing, each on condition
        of the version it was read at. Returns them at their new versions, in order; StaleDeal (nothing written)
        when any was written meanwhile. What links a HubSpot deal to the Salesforce deal it is (`Deal.alias_of`,
        `Deal.aliases`) is written this way, with the fold of the one into the other."""
        ...

    # --- conversions
    def conversion(self, conversion_id: str) -> StoredConversion | None: ...

    def record(self, conversion: StoredConversion) -> bool:
        """Writes the conversion and adds its credits to its month's campaign and channel totals, all or nothing;
        False (nothing written) when a conversion of that id is stored already."""
        ...

    def conversions(self, period: str, limit: int = 100, cursor: str | None = None) -> ConversionPage:
        """A month's conversions by converted_at (eventually consistent: an index)."""
        ...

    def conversion_outlines(self, period: str, limit: int = 100, cursor: str | None = None) -> OutlinePage:
        """`conversions`, each conversion as its `ConversionOutline` (`ConversionOutline.of` what `conversions`
        returns): the same order, pages and cursors (a cursor of either listing continues the other), the same
        refusals. A projected read (the DynamoDB adapter asks the index for the outline's attributes only)."""
        ...

    def replace_data_driven(
        self, conversion: StoredConversion, credits: Sequence[Credit], deal_units: Sequence[int], fit_id: str
    ) -> StoredConversion:
        """The conversion with these data-driven credits (one per touch, in order) computed with `fit_id`, the
        month's totals moved by the difference, on condition that what is stored is still `conversion` (its fit
        `conversion.fit_id`, its touches, every field: StaleCredits otherwise, nothing written). Nothing else
        of the conversion changes."""
        ...

    def replace_conversion(self, old: StoredConversion, new: StoredConversion) -> bool:
        """Replaces the stored conversion `old` by `new` (the same conversion_id), all or nothing, on condition
        that what is stored is still `old`, every field as read (the DynamoDB adapter compares a digest of the
        item it writes with every conversion): its month's campaign and channel totals move by the difference
        (new minus old, per key and model: revenue, deals, touches, conversions; a campaign `new` no longer
        credits moves down to 0 and keeps its totals at 0; keys that do not move are not written) and so does
        its month's overall (the influenced figures may change). False when the stored conversion is not `old`
        any more, or does not exist (nothing written); True when written. A `new` identical to `old` (every
        field, `recorded_at` too) writes nothing and is True, without checking what is stored. ValueError,
        before anything is written, when the conversion and the totals it moves do not fit one transaction
        (100 items), when `new` is another conversion or cannot be stored (as `record`); TooLarge as `record`."""
        ...

    # --- totals
    def campaign_totals(self, campaign_id: str, periods: Sequence[str]) -> dict[str, Totals]:
        """The campaign's totals per month asked for (months without conversions are absent)."""
        ...

    def channel_totals(self, period: str) -> dict[str, Totals]: ...

    def campaigns_totals(self, period: str) -> dict[str, Totals]:
        """Every campaign's totals of a month (for rankings): O(campaigns of the month)."""
        ...

    # --- the data-driven model's fits
    def latest_fit(self) -> StoredFit | None: ...

    def save_fit(self, fit: StoredFit) -> None:
        """Keeps the fit and makes it the latest unless a later-fitted one is the latest already."""
        ...


# ------------------------------------------------------------------------------------------ pipeline and funnel


@dataclass(frozen=True)
class DealPipeline:
    """An open deal's contribution to its campaigns' pipeline: campaign -> model -> company minor units."""

    deal_id: str
    credits: Mapping[str, Mapping[Model, int]]
    version: int


@dataclass(frozen=True)
class Overall:
    """A month's conversions in all: revenue (company minor units) and count, and the part whose journey held at
    least one touch of a campaign (marketing-influenced)."""

    revenue: int = 0
    conversions: int = 0
    influenced_revenue: int = 0
    influenced_conversions: int = 0

    def plus(self, other: Overall) -> Overall:
        return Overall(
            self.revenue + other.revenue,
            self.conversions + other.conversions,
            self.influenced_revenue + other.influenced_revenue,
            self.influenced_conversions + other.influenced_conversions,
        )


class PipelineStore(Protocol):
    def deal_pipeline(self, deal_id: str) -> DealPipeline | None: ...

    def set_pipeline(self, deal_id: str, credits: Mapping[str, Mapping[Model, int]] | None, version: int) -> None:
        """Replaces the deal's contribution (None: removes it) on condition it is at `version` (0: none yet),
        and moves each campaign's pipeline totals by the difference, all or nothing. StaleDeal otherwise."""
        ...

    def campaign_pipeline(self, campaign_id: str) -> dict[Model, int]: ...

    def total_pipeline(self) -> dict[Model, int]:
        """Every campaign's pipeline together (what marketing influences now)."""
        ...

    def pipelines(self) -> Iterator[DealPipeline]:
        """Every deal's contribution as stored now (the open deals'), in no particular order: what a
        reattribution recomputes. A batch's read (the DynamoDB adapter scans the table), never an API's."""
        ...


class FunnelStore(Protocol):
    def record_stage_entry(self, entry: StageEntry) -> bool:
        """Counts the entry in its month (the stage's entries and time in the previous stage) and in its
        campaign's month, once per `entry.event_id`: False (nothing written) when counted before."""
        ...

    def funnel(self, periods: Sequence[str]) -> dict[str, StageCounts]:
        """Stage -> its counts over the months asked for."""
        ...

    def monthly_funnel(self, periods: Sequence[str]) -> dict[str, dict[str, StageCounts]]:
        """Month -> stage -> counts (months without entries are absent)."""
        ...

    def campaign_funnel(self, campaign_id: str, periods: Sequence[str]) -> dict[str, int]:
        """Stage -> entries the campaign brought over the months asked for."""
        ...

    def overall(self, periods: Sequence[str]) -> dict[str, Overall]:
        """Month -> its conversions in all (kept by `record`)."""
        ...

    def stage_entries(self, periods: Sequence[str]) -> Iterator[StageEntry]:
        """The entries counted in the months asked for, each as it counts now (its campaign the one it was
        counted for, or moved to), in no particular order. A batch's read (the DynamoDB adapter scans the
        table), never an API's."""
        ...

    def move_stage_entry(self, entry: StageEntry, campaign_id: str) -> bool:
        """The counted entry `entry` (as `stage_entries` read it) counts for `campaign_id` instead: one entry
        less for `entry.campaign_id` and one more for `campaign_id` in its month and stage, with the entry's
        own record, all or nothing, on condition that it still counts for `entry.campaign_id` in that month and
        stage. False (nothing written) when it does not, or was never counted; True when moved, and when
        `campaign_id` is `entry.campaign_id` (nothing written, nothing checked). ValueError, before anything is
        written, for an entry or campaign id that cannot be stored (as `record_stage_entry`)."""
        ...


class AttributionStore(ConversionStore, PipelineStore, FunnelStore, Protocol):
    """Everything attribution keeps: deals, conversions and their totals, pipeline and funnel."""


class StaleRevenue(Exception):
    """A customer's revenue was written by someone else since it was read."""


class CustomerRevenueStore(Protocol):
    """Billing customers' subscriptions (LTV), kept apart from the conversions: keyed by the customer's identity
    key (`stripe#cus_...`)."""

    def revenues(self, customer_keys: Sequence[str]) -> dict[str, CustomerRevenue]:
        """The customers known among `customer_keys` (any number: the adapter reads them 100 a call)."""
        ...

    def save_revenue(self, revenue: CustomerRevenue) -> CustomerRevenue:
        """Writes it on condition of the version it was read at (0: new); returns it at its new version.
        StaleRevenue when someone wrote it meanwhile."""
        ...
