"""Request and response models of the health and usage routes (the OpenAPI document is generated from them)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from shared.http.moments import Moment
from shared.scoring.results import points, points_or_none
from shared.success.engine import Adjustment, Health, Trend
from shared.success.expansion import Readiness
from shared.success.interventions import Effectiveness, Intervention
from shared.success.onboarding import Milestone
from shared.success.service import HealthView, MilestoneCompletion
from shared.success.signals import MAX_FEATURES

CAP_GROUP = "cap"  # the group of a cap's line in a breakdown
FeatureName = Annotated[str, Field(min_length=1, max_length=100)]
# strict: true is not 1, nor 12.5 twelve users (a count is a JSON integer)
EventCount = Annotated[StrictInt, Field(ge=0, le=10**12)]
SeatCount = Annotated[StrictInt, Field(ge=1, le=10**12)]


class UsageMetrics(BaseModel):
    model_config = ConfigDict(extra="forbid")

    active_users: EventCount | None = Field(None, description="Distinct users active in the period")
    # at least 1: seat utilization is active users over seats, and a report of no seats would be recorded and
    # then left out of it (health reading an older report's seats instead)
    licensed_seats: SeatCount | None = Field(None, description="Seats the plan licenses: at least 1 when given")
    api_calls: EventCount | None = None
    features: dict[FeatureName, EventCount] | None = Field(
        None,
        max_length=MAX_FEATURES,
        description=f"Feature -> events in the period (at most {MAX_FEATURES} features; names up to 100 characters)",
    )


class UsageReportRequest(BaseModel):
    """Unknown fields are refused (a misspelled metric would silently count nothing)."""

    model_config = ConfigDict(extra="forbid")

    tenant_id: str = Field(
        min_length=1, max_length=300, description="The hub's account id, a vendor-qualified id or the domain"
    )
    message_id: str = Field(
        min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$", description="The caller's id of this report"
    )
    timestamp: Moment = Field(
        description="When the usage was measured: an ISO 8601 date-time with its offset or Z (a number is refused); "
        "not ahead of the hub's clock, not older than the days health reads"
    )
    metrics: UsageMetrics


class UsageAccepted(BaseModel):
    tenant_id: str
    message_id: str
    recorded: bool = Field(description="False: this message id was reported before with the same body")
    score: float | None
    band: str | None


class MeasureLineView(BaseModel):
    measure: str = Field(description="The measure, or for a cap's line the cap's id")
    group: str = Field(description="The measure's group; `cap` for what a cap of the model took away")
    value: str | None = Field(
        description="The raw value measured (a decimal or a category, as text); null: NA, or a cap's line"
    )
    score: int | None = Field(description="The measure's score, 0-100; null: NA, or a cap's line")
    weight: int = Field(description="The measure's weight; 0 for a cap's line")
    contribution: float = Field(
        description="Its share of the score (a cap's line: what the cap took away, negative); the lines sum to "
        "`score` exactly"
    )


class CapView(BaseModel):
    cap: str
    contribution: float = Field(description="What the cap took away (negative)")


class TrendView(BaseModel):
    d7: float | None
    d30: float | None
    direction: str


class MilestoneView(BaseModel):
    milestone_id: str
    name: str
    owner: str | None = Field(description="`csm` or `customer`, as the success plan template says")
    due_on: date
    status: str = Field(
        description="`open` (not due yet), `overdue` (its due date past, not completed), `completed_on_time` "
        "(completed on or before its due date, UTC days) or `completed_late`"
    )
    completed_at: datetime | None

    @staticmethod
    def of(one: Milestone) -> MilestoneView:
        return MilestoneView(
            milestone_id=one.milestone_id,
            name=one.name,
            owner=one.owner,
            due_on=one.due_on,
            status=one.status.value,
            completed_at=one.completed_at,
        )


class MilestoneCompleted(BaseModel):
    customer_id: str = Field(description="The hub's account id")
    handoff_id: str = Field(description="The customer handoff whose success plan the milestone is of")
    milestone: MilestoneView
    recorded: bool = Field(description="False: completed before; the first completion stands")
    score: float | None = Field(description="The account's health score after it")
    band: str | None

    @staticmethod
    def of(done: MilestoneCompletion) -> MilestoneCompleted:
        health = done.health
        return MilestoneCompleted(
            customer_id=done.tenant_id,
            handoff_id=done.handoff_id,
            milestone=MilestoneView.of(done.milestone),
            recorded=done.recorded,
            score=points_or_none(health.score_hundredths) if health else None,
            band=health.band if health else None,
        )


class HealthResponse(BaseModel):
    tenant_id: str
    as_of: datetime
    model_version: str
    status: str = Field(
        description="`scored`; `onboarding`: in the model's onboarding period with too little data to score (no "
        "score, no band); `no_data`: every measure NA"
    )
    score: float | None
    band: str | None
    segment: str | None = Field(
        description="Its customer segment: the first of the model's `segments` it meets (trailing-year revenue, "
        "licensed seats); null when the model has none"
    )
    coverage: str = Field(
        description="The share (0-1) of the measures' weight that has data; during onboarding a score needs the "
        "model's `onboarding.min_coverage`"
    )
    trend: TrendView
    breakdown: list[MeasureLineView] = Field(description="One line per measure, then one per cap that applied")
    caps: list[CapView] = Field(description="The caps that applied (also the last lines of `breakdown`)")
    na: list[str] = Field(description="The measures without data: left out, the others' weights renormalized")
    risks: list[str]
    milestones: list[MilestoneView] = Field(
        description="The milestones of the account's latest success plan (its customer handoff's), as they stand: "
        "what `milestones_on_time` reads; empty without a plan"
    )
    open_interventions: list[InterventionView] = Field(description="The account's playbooks running now")

    @staticmethod
    def of(view: HealthView, open_interventions: Sequence[Intervention] = ()) -> HealthResponse:
        health, trend = view.health, view.trend
        return HealthResponse(
            tenant_id=view.tenant_id,
            as_of=health.as_of,
            model_version=health.model_version,
            status=_status(health),
            score=points_or_none(health.score_hundredths),
            band=health.band,
            segment=view.segment,
            coverage=str(health.coverage),
            trend=_trend(trend),
            breakdown=[_line(health, i) for i in range(len(health.lines))] + [_cap_line(a) for a in health.adjustments],
            caps=[CapView(cap=a.cap, contribution=points(a.hundredths)) for a in health.adjustments],
            na=health.na,
            risks=view.risks,
            milestones=[MilestoneView.of(one) for one in view.milestones],
            open_interventions=[InterventionView.of(one) for one in open_interventions],
        )


def _status(health: Health) -> str:
    if health.score_hundredths is not None:
        return "scored"
    return "onboarding" if health.onboarding else "no_data"


def _line(health: Health, index: int) -> MeasureLineView:
    line = health.lines[index]
    return MeasureLineView(
        measure=line.measure,
        group=line.group.value,
        value=None if line.value is None else str(line.value),
        score=line.score,
        weight=line.weight,
        contribution=points(line.contribution_hundredths),
    )


def _cap_line(adjustment: Adjustment) -> MeasureLineView:
    return MeasureLineView(
        measure=adjustment.cap,
        group=CAP_GROUP,
        value=None,
        score=None,
        weight=0,
        contribution=points(adjustment.hundredths),
    )


def _trend(trend: Trend) -> TrendView:
    return TrendView(
        d7=points_or_none(trend.d7_hundredths), d30=points_or_none(trend.d30_hundredths), direction=trend.direction
    )


class InterventionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenant_id: str = Field(min_length=1, max_length=300, description="The hub's account id, a vendor id or the domain")
    playbook: str = Field(min_length=1, max_length=64, description="A playbook of config/health-model.json")
    reason: str = Field(min_length=1, max_length=1000, description="Why (required): kept on the intervention")


class InterventionView(BaseModel):
    intervention_id: str
    tenant_id: str
    playbook: str
    trigger: str
    reason: str
    status: str
    opened_at: datetime
    requested_by: str | None
    task_title: str
    task_due_at: datetime
    evaluate_at: datetime
    score_before: float | None
    band_before: str | None
    closed_at: datetime | None
    score_after: float | None
    band_after: str | None
    outcome: str | None

    @staticmethod
    def of(one: Intervention) -> InterventionView:
        return InterventionView(
            intervention_id=one.intervention_id,
            tenant_id=one.tenant_id,
            playbook=one.playbook,
            trigger=one.trigger.value,
            reason=one.reason,
            status=one.status.value,
            opened_at=one.opened_at,
            requested_by=one.requested_by,
            task_title=one.task_title,
            task_due_at=one.task_due_at,
            evaluate_at=one.evaluate_at,
            score_before=points_or_none(one.score_before),
            band_before=one.band_before,
            closed_at=one.closed_at,
            score_after=points_or_none(one.score_after),
            band_after=one.band_after,
            outcome=one.outcome.value if one.outcome else None,
        )


class InterventionList(BaseModel):
    items: list[InterventionView]
    next_cursor: str | None


class PlaybookEffectiveness(BaseModel):
    playbook: str
    opened: int
    closed: int
    improved: int
    unchanged: int
    worsened: int
    mean_score_change: float | None = Field(description="Of the closed ones with a score before and after")

    @staticmethod
    def of(report: Effectiveness) -> PlaybookEffectiveness:
        return PlaybookEffectiveness(
            playbook=report.playbook,
            opened=report.opened,
            closed=report.closed,
            improved=report.improved,
            unchanged=report.unchanged,
            worsened=report.worsened,
            mean_score_change=points_or_none(report.mean_change_hundredths),
        )


class PlaybookReport(BaseModel):
    playbooks: list[PlaybookEffectiveness]


class EvidenceView(BaseModel):
    component: str
    measure: str
    value: str | None = Field(description="The measure's raw value (a decimal or a category, as text); null: NA")
    score: int
    weight: int
    contribution: float = Field(description="Its share of the readiness; the lines sum to `readiness`")


class SuggestionView(BaseModel):
    product: str
    name: str
    because: list[str] = Field(description="The features used in the last 30 days that suggest it")


class ExpansionResponse(BaseModel):
    tenant_id: str
    as_of: datetime
    readiness: float
    ready: bool = Field(description="At or above the model's `expansion.ready_from`: an expansion signal")
    health_score: float | None
    band: str | None
    evidence: list[EvidenceView]
    suggestions: list[SuggestionView]

    @staticmethod
    def of(view: HealthView, readiness: Readiness) -> ExpansionResponse:
        return ExpansionResponse(
            tenant_id=view.tenant_id,
            as_of=view.health.as_of,
            readiness=points(readiness.score_hundredths),
            ready=readiness.ready,
            health_score=points_or_none(view.health.score_hundredths),
            band=view.health.band,
            evidence=[
                EvidenceView(
                    component=e.component,
                    measure=e.measure,
                    value=None if e.value is None else str(e.value),
                    score=e.score,
                    weight=e.weight,
                    contribution=points(e.contribution_hundredths),
                )
                for e in readiness.evidence
            ],
            suggestions=[
                SuggestionView(product=s.product, name=s.name, because=s.because) for s in readiness.suggestions
            ],
        )


HealthResponse.model_rebuild()  # its open interventions are InterventionViews, defined below it
