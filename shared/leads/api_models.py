"""Request and response models of the lead routes (the OpenAPI document is generated from them)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator

from shared.crm.api_models import LeadSyncView
from shared.http.moments import Moment
from shared.leads.capture import LeadCapture, LeadType
from shared.leads.consent import CaptureConsent, ConsentTimeline
from shared.leads.consent_policy import shipped_consent_policy
from shared.leads.identity import normalize_email, normalize_phone
from shared.leads.model import ConsentRecord, Contact, Stage
from shared.leads.ports import History
from shared.leads.profile_updates import number
from shared.scoring.results import Score

# Data quality rules of the marketing engine: a B2B lead needs these besides a valid email and a source.
B2B_REQUIRED = ("company", "job_title")
MAX_EMAIL_LENGTH = 254  # RFC 5321's longest deliverable address
MAX_ATTRIBUTES_BYTES = 16 * 1024  # free fields ride on the lead's item, which DynamoDB caps at 400 KB
MAX_ATTRIBUTES_DEPTH = 5
EARLIEST_CONSENT = datetime(2000, 1, 1, tzinfo=UTC)


def _purposes_text() -> str:
    return ", ".join(f"`{p.id}`" for p in shipped_consent_policy().purposes)


class ConsentAnswer(BaseModel):
    """What the form asked the person and what they answered: `{"marketing": false, "source": "...", "at":
    "..."}`. Every other field names a purpose of the consent policy (config/consent.json) and is true (granted)
    or false (withdrawn)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "description": "Consent the person gave or refused on the form: each purpose of config/consent.json "
            f"({_purposes_text()}) as true (granted) or false (withdrawn), with where and when it was collected.",
            "additionalProperties": {"type": "boolean"},
            "example": {"marketing": False, "source": "pricing page form", "at": "2026-03-02T09:30:00Z"},
        },
    )
    __pydantic_extra__: dict[str, StrictBool] = Field(init=False)

    source: str | None = Field(
        None, min_length=1, max_length=200, description="Where the consent was collected (default: the lead's source)"
    )
    at: Moment | None = Field(
        None,
        description="When the person answered (an ISO 8601 date-time with its offset; default: now; never in the "
        "future, not before 2000)",
    )

    @field_validator("at")
    @classmethod
    def _recorded_time(cls, value: datetime | None) -> datetime | None:
        if value is not None and value < EARLIEST_CONSENT:
            raise ValueError(f"must be after {EARLIEST_CONSENT.date().isoformat()}")
        return value

    @model_validator(mode="after")
    def _known_purposes(self) -> ConsentAnswer:
        purposes = self.purposes()
        known = shipped_consent_policy().purpose_ids
        unknown = sorted(set(purposes) - set(known))
        if unknown:
            raise ValueError(f"{', '.join(unknown)}: not a consent purpose; the purposes are {_purposes_text()}")
        if not purposes:
            raise ValueError(f"state at least one purpose ({_purposes_text()}) as true or false")
        return self

    def purposes(self) -> dict[str, bool]:
        return dict(self.__pydantic_extra__ or {})


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
    consent: ConsentAnswer | None = Field(
        None,
        description="The person's consent, when the form asked for it: kept on the lead with its history; a "
        "withdrawn `marketing` stops tracked engagement from scoring and takes the lead out of nurture",
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
        consent = (
            None
            if self.consent is None
            else CaptureConsent(self.consent.purposes(), self.consent.source or self.source, self.consent.at)
        )
        fields = self.model_dump(exclude={"annual_revenue", "consent"})
        return LeadCapture(**fields, annual_revenue=revenue, consent=consent)


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
    excluded: str | None = Field(
        None,
        description="Engagement: why it scores nothing although its rule matched (the person's consent), with the "
        "statement that decided; the line then adds 0",
    )
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


class ConsentChangeView(BaseModel):
    purpose: str
    state: Literal["granted", "withdrawn"]
    at: datetime = Field(description="When the person said so; it applies from then")
    source: str = Field(description="`segment`, `hubspot`, `salesforce` (config/consent.json's vendors) or `capture`")
    detail: str = Field(description="What said so, e.g. `hs_email_optout = true`")
    recorded_at: datetime = Field(description="When the hub learned it")
    event_id: str | None = Field(None, description="The canonical event that said it; null for a capture")
    lead_id: str = Field(description="The lead whose event said it (a lead merged into this one keeps its own)")

    @classmethod
    def of(cls, record: ConsentRecord) -> ConsentChangeView:
        return cls(
            purpose=record.purpose,
            state="granted" if record.granted else "withdrawn",
            at=record.at,
            source=record.source,
            detail=record.detail,
            recorded_at=record.recorded_at,
            event_id=record.event_id,
            lead_id=record.contact_id,
        )


class PurposeView(BaseModel):
    state: Literal["granted", "withdrawn"]
    since: datetime | None = Field(description="When the statement it rests on was made; null: the default")
    source: str | None
    detail: str = Field(description="Why: the statement, or that nothing was stated (the configured default)")


class ConsentView(BaseModel):
    policy_version: str = Field(description="The version of config/consent.json that read it")
    purposes: dict[str, PurposeView] = Field(description="Each purpose's state now")
    tracked_engagement_scored: bool = Field(
        description="Whether engagement from tracking scores now (its purposes are granted)"
    )
    nurtured: bool = Field(description="Whether the lead is in nurture (the nurture clock and the standard handoff)")
    history: list[ConsentChangeView] = Field(description="Every change of what a source said, oldest first")

    @classmethod
    def of(cls, timeline: ConsentTimeline, as_of: datetime) -> ConsentView:
        purposes = {}
        for purpose in timeline.policy.purpose_ids:
            state = timeline.state(purpose, as_of)
            record = state.record
            purposes[purpose] = PurposeView(
                state="granted" if state.granted else "withdrawn",
                since=record.at if record else None,
                source=record.source if record else None,
                detail=state.explained(),
            )
        return cls(
            policy_version=timeline.policy.version,
            purposes=purposes,
            tracked_engagement_scored=timeline.tracked_engagement_allowed(as_of),
            nurtured=timeline.nurture_withheld(as_of) is None,
            history=[ConsentChangeView.of(record) for record in timeline.records],
        )


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
    consent: ConsentView | None = Field(
        None, description="The person's consent per purpose, what it allows now, and every change with its source"
    )

    @classmethod
    def of(cls, contact: Contact, result: Score, history: History, consent: ConsentTimeline | None = None) -> LeadView:
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
            consent=ConsentView.of(consent, result.as_of) if consent is not None else None,
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
            excluded=line.excluded,
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
    as_of: Moment | None = Field(
        None,
        description="Score both models as of this moment: an ISO 8601 date-time with its offset, 1970 to 2199 "
        "(default: now)",
    )
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
