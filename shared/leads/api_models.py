"""Request and response models of the lead routes (the OpenAPI document is generated from them)."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.crm.api_models import LeadSyncView
from shared.leads.capture import LeadCapture, LeadType
from shared.leads.identity import normalize_email, normalize_phone
from shared.leads.model import Contact, Stage
from shared.leads.ports import History
from shared.leads.profile_updates import number
from shared.scoring.results import Score

# Data quality rules of the marketing engine: a B2B lead needs these besides a valid email and a source.
B2B_REQUIRED = ("company", "job_title")
MAX_EMAIL_LENGTH = 254  # RFC 5321's longest deliverable address
MAX_ATTRIBUTES_BYTES = 16 * 1024  # free fields ride on the lead's item, which DynamoDB caps at 400 KB
MAX_ATTRIBUTES_DEPTH = 5


class LeadCaptureRequest(BaseModel):
    """Unknown top-level fields are refused (a typo in a fit field would silently score nothing); free fields
    go in `attributes`."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=MAX_EMAIL_LENGTH, description="Work email; validated and normalized")
    source: str = Field(min_length=1, max_length=200, description="Where the lead came from (form, partner, ...)")
    lead_type: LeadType = Field(
        LeadType.B2B, description="`b2b` (default): company and job_title are required; `b2c`: they are not"
    )
    first_name: str | None = Field(None, max_length=200)
    last_name: str | None = Field(None, max_length=200)
    company: str | None = Field(None, max_length=300, description="Required for B2B leads")
    job_title: str | None = Field(None, max_length=300, description="Required for B2B leads")
    phone: str | None = Field(None, max_length=50)
    campaign_id: str | None = Field(None, max_length=200)
    industry: str | None = Field(None, max_length=200, description="Fit: the company's industry, e.g. `Software`")
    employee_count: int | None = Field(None, ge=0, le=10_000_000, description="Fit: the company's headcount")
    annual_revenue: Decimal | None = Field(
        None, ge=0, le=10**13, decimal_places=2, description="Fit: the company's yearly revenue, in USD"
    )
    country: str | None = Field(
        None, min_length=2, max_length=2, pattern="^[A-Za-z]{2}$", description="Fit: ISO 3166 alpha-2, e.g. `US`"
    )
    attributes: dict[str, Any] = Field(
        default_factory=dict,
        description=f"Free fields, readable by scoring rules (at most {MAX_ATTRIBUTES_BYTES} bytes as JSON, "
        f"{MAX_ATTRIBUTES_DEPTH} levels deep). Fit fields sent here under a usual name (`employees`, `Industry`, "
        "`annualRevenue`, ...) are read when the first-class field is absent.",
    )

    @field_validator("email")
    @classmethod
    def _valid_email(cls, value: str) -> str:
        email = normalize_email(value)
        if email is None:
            raise ValueError(f"{value[:80]!r} is not a usable email address")
        return email

    @field_validator("phone")
    @classmethod
    def _valid_phone(cls, value: str | None) -> str | None:
        if value is not None and normalize_phone(value) is None:
            raise ValueError(f"{value!r} is not a phone number")
        return value

    @field_validator("country")
    @classmethod
    def _upper_country(cls, value: str | None) -> str | None:
        return value.upper() if value is not None else None

    @field_validator("attributes")
    @classmethod
    def _storable_attributes(cls, value: dict[str, Any]) -> dict[str, Any]:
        if _depth(value) > MAX_ATTRIBUTES_DEPTH:
            raise ValueError(f"attributes may nest at most {MAX_ATTRIBUTES_DEPTH} levels deep")
        size = len(json.dumps(value, separators=(",", ":"), default=str).encode("utf-8", "surrogatepass"))
        if size > MAX_ATTRIBUTES_BYTES:
            raise ValueError(f"attributes are {size} bytes as JSON; at most {MAX_ATTRIBUTES_BYTES} are stored")
        return value

    @model_validator(mode="after")
    def _b2b_fields(self) -> LeadCaptureRequest:
        if self.lead_type is LeadType.B2B:
            missing = [name for name in B2B_REQUIRED if not (getattr(self, name) or "").strip()]
            if missing:
                raise ValueError(
                    f"required B2B field(s) missing: {', '.join(missing)} (a consumer lead sends lead_type: b2c)"
                )
        return self

    def capture(self) -> LeadCapture:
        """The domain's view of the request (revenue as a plain number, as the fit bands compare it)."""
        revenue = None if self.annual_revenue is None else number(self.annual_revenue)
        return LeadCapture(**self.model_dump(exclude={"annual_revenue"}), annual_revenue=revenue)


def _depth(value: Any, level: int = 0) -> int:
    if isinstance(value, dict):
        return max((_depth(item, level + 1) for item in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(item, level + 1) for item in value), default=level + 1)
    return level


class LeadCaptured(BaseModel):
    lead_id: str
    created: bool = Field(description="False when the person was already known; lead_id is theirs")


class BreakdownLine(BaseModel):
    category: Literal["fit", "engagement", "adjustment"]
    rule: str
    points: float = Field(description="What this line adds to the score; all lines sum to `score`")
    raw_points: float | None = Field(None, description="Engagement: the rule's points before caps and decay")
    awarded_points: float | None = Field(None, description="Engagement: after the rule's caps, before decay")
    cap: str | None = Field(None, description="The cap that reduced this line, if any")
    event_id: str | None = None
    occurred_at: datetime | None = None
    detail: str | None = None


class MqlStatus(BaseModel):
    met: bool
    email_engagement: float
    content_pieces: int
    website_sessions: int
    icp_fit: bool


class TransitionView(BaseModel):
    at: datetime
    from_stage: Stage
    to_stage: Stage
    cause: str


class ScoreChangeView(BaseModel):
    at: datetime
    previous: float | None
    total: float
    cause: str


class MergeView(BaseModel):
    merge_id: str
    survivor_id: str
    absorbed_id: str
    at: datetime
    cause: str
    undone_at: datetime | None


class LeadHistory(BaseModel):
    stages: list[TransitionView]
    scores: list[ScoreChangeView]
    merges: list[MergeView]


class LeadView(BaseModel):
    lead_id: str
    stage: Stage
    score: float
    fit_score: float
    engagement_score: float
    model_version: str
    as_of: datetime = Field(description="The moment the score was computed for (decay is relative to it)")
    mql: MqlStatus
    breakdown: list[BreakdownLine]
    profile: dict[str, Any]
    attributes: dict[str, Any]
    identities: list[str]
    account_id: str | None
    merged_into: str | None
    merged_leads: list[str]
    created_at: datetime
    updated_at: datetime
    history: LeadHistory
    crm_sync: LeadSyncView | None = Field(
        None, description="The lead's CRM sync: its CRM ids, conflicts and latest audit entries; null before it synced"
    )

    @classmethod
    def of(cls, contact: Contact, result: Score, history: History) -> LeadView:
        return cls(
            lead_id=contact.contact_id,
            stage=contact.stage,
            score=result.total,
            fit_score=result.fit_score,
            engagement_score=result.engagement_score,
            model_version=result.model_version,
            as_of=result.as_of,
            mql=MqlStatus(
                met=result.mql,
                email_engagement=result.email_engagement,
                content_pieces=result.content_pieces,
                website_sessions=result.website_sessions,
                icp_fit=result.icp_fit,
            ),
            breakdown=breakdown(result),
            profile=dict(contact.profile.values),
            attributes=dict(contact.profile.attributes),
            identities=sorted(contact.identities),
            account_id=contact.account_id,
            merged_into=contact.merged_into,
            merged_leads=list(contact.members),
            created_at=contact.created_at,
            updated_at=contact.updated_at,
            history=LeadHistory(
                stages=[
                    TransitionView(at=t.at, from_stage=t.from_stage, to_stage=t.to_stage, cause=t.cause)
                    for t in history.transitions
                ],
                scores=[
                    ScoreChangeView(at=c.at, previous=c.previous, total=c.total, cause=c.cause)
                    for c in history.score_changes
                ],
                merges=[
                    MergeView(
                        merge_id=m.merge_id,
                        survivor_id=m.survivor_id,
                        absorbed_id=m.absorbed_id,
                        at=m.at,
                        cause=m.cause,
                        undone_at=m.undone_at,
                    )
                    for m in history.merges
                ],
            ),
        )


def breakdown(result: Score) -> list[BreakdownLine]:
    lines = [
        BreakdownLine(category="fit", rule=line.rule_id, points=line.points, detail=f"matched {line.matched}")
        for line in result.fit_lines
    ]
    lines += [
        BreakdownLine(
            category="engagement",
            rule=line.rule_id,
            points=line.points,
            raw_points=line.raw,
            awarded_points=line.awarded,
            cap=line.cap,
            event_id=line.event_id,
            occurred_at=line.occurred_at,
            detail=f"{line.kind} in group {line.group}",
        )
        for line in result.engagement_lines
    ]
    lines += [
        BreakdownLine(category="adjustment", rule=f"{line.kind}:{line.scope}", points=line.points, detail=line.detail)
        for line in result.adjustments
    ]
    return lines


class LeadSummary(BaseModel):
    lead_id: str
    email: str | None
    stage: Stage
    score: float
    fit_score: float
    engagement_score: float
    updated_at: datetime

    @classmethod
    def of(cls, contact: Contact) -> LeadSummary:
        snapshot = contact.score
        return cls(
            lead_id=contact.contact_id,
            email=contact.email,
            stage=contact.stage,
            score=snapshot.total if snapshot else 0.0,
            fit_score=snapshot.fit if snapshot else 0.0,
            engagement_score=snapshot.engagement if snapshot else 0.0,
            updated_at=contact.updated_at,
        )


class LeadList(BaseModel):
    items: list[LeadSummary]
    next_cursor: str | None = None


class UnmergeRequest(BaseModel):
    other_lead_id: str | None = Field(
        None, description="When the lead absorbed several others, which merge to undo (default: the latest)"
    )


class UnmergeResult(BaseModel):
    lead_id: str
    separated_from: str | None


class SimulationRequest(BaseModel):
    model: dict[str, Any] = Field(description="A candidate scoring model, same format as config/scoring-model.json")
    as_of: datetime | None = Field(None, description="Score both models as of this moment (default: now)")
    limit: int = Field(10_000, ge=1, le=100_000, description="At most this many leads are evaluated")


class LeadDelta(BaseModel):
    lead_id: str
    email: str | None
    stage: Stage
    current: float
    candidate: float
    delta: float
    mql_now: bool
    mql_candidate: bool
    predicted_stage: Stage


class SimulationReport(BaseModel):
    current_model: str
    candidate_model: str
    as_of: datetime
    leads_evaluated: int
    would_reach_mql: list[str]
    would_drop_below_mql: list[str]
    stage_changes: dict[str, int] = Field(description='"<from> -> <to>": how many leads would move')
    mean_delta: float
    largest_increases: list[LeadDelta]
    largest_decreases: list[LeadDelta]
    truncated: bool = Field(description="True when more leads exist than `limit` allowed")
