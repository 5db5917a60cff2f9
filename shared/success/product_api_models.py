"""Request and response models of the product and CS <-> marketing routes (the OpenAPI document is generated
from them)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.finance.money import Money, format_amount
from shared.http.moments import Day
from shared.scoring.results import points
from shared.success.campaigns import AccountStanding, CampaignKind, CsCampaign
from shared.success.engine import Health
from shared.success.expansion import Readiness
from shared.success.feedback import Demand, Feedback, FeedbackKind
from shared.success.product import Analytics, Launch, LaunchAdoption
from shared.success.product_service import Ranking

Band = Annotated[str, Field(pattern=r"^(green|yellow|red)$")]
SegmentId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FeedbackRequest(_Request):
    tenant_id: str = Field(min_length=1, max_length=300, description="The hub's account id, a vendor id or the domain")
    feature: str = Field(min_length=1, max_length=100, pattern=r"^[\x21-\x7e]+$", description="The feature it is about")
    kind: FeedbackKind
    text: str = Field(min_length=1, max_length=5000)
    source: str = Field(min_length=1, max_length=100, description="Where it came from: a call, a ticket, a survey")
    feedback_id: str | None = Field(None, min_length=1, max_length=200, description="The caller's id, to keep it once")
    contact_email: str | None = Field(None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    campaign_id: str | None = Field(None, min_length=1, max_length=128, description="The campaign it came through")


class FeedbackView(BaseModel):
    feedback_key: str
    tenant_id: str
    feature: str
    kind: str
    text: str
    source: str
    received_at: datetime
    contact_email: str | None
    campaign_id: str | None

    @staticmethod
    def of(one: Feedback) -> FeedbackView:
        return FeedbackView(
            feedback_key=one.feedback_key,
            tenant_id=one.tenant_id,
            feature=one.feature,
            kind=one.kind.value,
            text=one.text,
            source=one.source,
            received_at=one.received_at,
            contact_email=one.contact_email,
            campaign_id=one.campaign_id,
        )


class AccountDemand(BaseModel):
    tenant_id: str
    arr: str = Field(description="What it paid over the trailing twelve months, company currency (decimal string)")


class DemandView(BaseModel):
    feature: str
    kind: str
    mentions: int
    accounts: list[AccountDemand] = Field(description="The distinct accounts asking, highest ARR first")
    arr_weighted_demand: str = Field(description="The sum of those accounts' ARR (decimal string)")


class FeedbackRanking(BaseModel):
    currency: str
    ranking: list[DemandView]
    foreign_payments_left_out: int = Field(description="Payments in another currency not counted in any ARR")

    @staticmethod
    def of(ranking: Ranking, currency: str) -> FeedbackRanking:
        return FeedbackRanking(
            currency=currency,
            ranking=[_demand(d, currency) for d in ranking.demand],
            foreign_payments_left_out=ranking.foreign_payments,
        )


def _demand(demand: Demand, currency: str) -> DemandView:
    return DemandView(
        feature=demand.feature,
        kind=demand.kind.value,
        mentions=demand.mentions,
        accounts=[
            AccountDemand(tenant_id=t, arr=format_amount(Money(minor, currency))) for t, minor in demand.accounts
        ],
        arr_weighted_demand=format_amount(Money(demand.weighted_minor, currency)),
    )


class FeatureUseView(BaseModel):
    feature: str
    events: int
    last_used: datetime


class ActiveUsersPoint(BaseModel):
    at: datetime
    active_users: int


class AnalyticsResponse(BaseModel):
    tenant_id: str
    features: list[FeatureUseView] = Field(description="Features used in the last 90 days, most used first")
    adoption: str | None = Field(description="Features used in 90 days over features ever used (a ratio)")
    active_users: list[ActiveUsersPoint]
    licensed_seats: int | None
    seat_utilization: str | None
    api_calls: int
    health_score: float | None
    band: str | None
    expansion_readiness: float
    expansion_ready: bool
    suggestions: list[str]

    @staticmethod
    def of(tenant_id: str, analytics: Analytics, health: Health, readiness: Readiness) -> AnalyticsResponse:
        return AnalyticsResponse(
            tenant_id=tenant_id,
            features=[
                FeatureUseView(feature=f.feature, events=f.events, last_used=f.last_used) for f in analytics.features
            ],
            adoption=None if analytics.adoption is None else str(analytics.adoption),
            active_users=[ActiveUsersPoint(at=at, active_users=n) for at, n in analytics.active_users],
            licensed_seats=analytics.licensed_seats,
            seat_utilization=None if analytics.seat_utilization is None else str(analytics.seat_utilization),
            api_calls=analytics.api_calls,
            health_score=None if health.score_hundredths is None else points(health.score_hundredths),
            band=health.band,
            expansion_readiness=points(readiness.score_hundredths),
            expansion_ready=readiness.ready,
            suggestions=[s.product for s in readiness.suggestions],
        )


class LaunchRequest(_Request):
    launch_id: str = Field(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")
    feature: str = Field(min_length=1, max_length=100, pattern=r"^[\x21-\x7e]+$")
    launch_date: Day = Field(description="The launch day, YYYY-MM-DD (1970 to 2199)")
    target_bands: list[Band] = Field(default_factory=list, max_length=3, description="Bands targeted (all: empty)")
    target_segments: list[SegmentId] = Field(
        default_factory=list, max_length=20, description="Customer segments of the health model targeted (all: empty)"
    )
    messaging: str = Field(min_length=1, max_length=2000)


class LaunchView(BaseModel):
    launch_id: str
    feature: str
    launch_date: date
    target_bands: list[str]
    target_segments: list[str]
    messaging: str
    created_at: datetime
    targeted: int
    adopted: list[str] | None = Field(None, description="The targeted accounts that used the feature since launch")
    adoption_rate: str | None = None

    @staticmethod
    def of(launch: Launch, adoption: LaunchAdoption | None = None) -> LaunchView:
        return LaunchView(
            launch_id=launch.launch_id,
            feature=launch.feature,
            launch_date=launch.launch_date,
            target_bands=list(launch.target_bands),
            target_segments=list(launch.target_segments),
            messaging=launch.messaging,
            created_at=launch.created_at,
            targeted=len(launch.target_tenants),
            adopted=adoption.adopted if adoption else None,
            adoption_rate=None if adoption is None or adoption.rate is None else str(adoption.rate),
        )


class MarketingHealth(BaseModel):
    tenant_id: str
    band: str | None
    segment: str | None = Field(description="Its customer segment (the health model's `segments`)")
    nps: int | None
    advocacy_eligible: bool = Field(description="A promoter (NPS 9-10) with a green health")
    suppressed: bool = Field(description="An open intervention asks that it get no promotional campaigns")

    @staticmethod
    def of(standing: AccountStanding) -> MarketingHealth:
        return MarketingHealth(
            tenant_id=standing.tenant_id,
            band=standing.band,
            segment=standing.segment,
            nps=standing.nps,
            advocacy_eligible=standing.advocacy_eligible,
            suppressed=standing.suppressed,
        )


class AudienceRequest(_Request):
    bands: list[Band] = Field(default_factory=list, max_length=3, description="Health bands (any: empty)")
    segments: list[SegmentId] = Field(
        default_factory=list, max_length=20, description="Customer segments of the health model (any: empty)"
    )
    min_nps: int | None = Field(None, ge=0, le=10)
    max_nps: int | None = Field(None, ge=0, le=10)
    advocates_only: bool = Field(False, description="Only promoters with a green health")

    @model_validator(mode="after")
    def _nps_range(self) -> AudienceRequest:
        # an empty range would use up the campaign id on an audience of no one
        if self.min_nps is not None and self.max_nps is not None and self.min_nps > self.max_nps:
            raise ValueError(f"min_nps {self.min_nps} is above max_nps {self.max_nps}: no answer is in that range")
        return self


class CampaignRequest(_Request):
    campaign_id: str = Field(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")
    kind: CampaignKind
    name: str = Field(min_length=1, max_length=200)
    audience: AudienceRequest


class CampaignView(BaseModel):
    campaign_id: str
    kind: str
    name: str
    requested_by: str
    created_at: datetime
    tenant_ids: list[str] = Field(description="The accounts it reaches, resolved when it was requested")

    @staticmethod
    def of(campaign: CsCampaign) -> CampaignView:
        return CampaignView(
            campaign_id=campaign.campaign_id,
            kind=campaign.kind.value,
            name=campaign.name,
            requested_by=campaign.requested_by,
            created_at=campaign.created_at,
            tenant_ids=list(campaign.tenants),
        )
