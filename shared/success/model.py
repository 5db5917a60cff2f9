"""The health model: a versioned JSON document (`config/health-model.json`) and the pydantic schema it must meet.

    bands        `green_from` and `yellow_from`: a score at or above `green_from` is green, at or above
                 `yellow_from` yellow, below it red (green_from > yellow_from)
    onboarding   `days` and `min_coverage`: for its first `days` after it became a customer (its first success
                 plan, the sales -> CS handoff, payment or subscription change; without any, its first signal;
                 a later plan does not restart it), an account whose measures with data carry less
                 than `min_coverage` (a share, 0-1) of the measures' total weight is onboarding: no score and no
                 band (its measures are still shown), so nothing is published for it. Without it, a customer just
                 handed over is scored by the one measure the handoff gives (the sponsor named today: 100,
                 green), and its first real signals read as a fall from there (a churn risk). After `days` an
                 account is scored by whatever it has, so a silent account still decays. Default: 0 days (off)
    trend        `flat_within`: a change over 7 or 30 days smaller than this (in points) is `flat`
    churn_risk   `drop_points` within `within_days`: a fall of at least this many points over that many days is
                 a churn risk, as is turning red
    renewal      `at_risk_within_days`: an account whose subscription renews within this many days (Stripe's
                 `current_period_end` of its latest subscription change) and is not green is a renewal at risk
    nps_answer_refs   the survey answers (by field ref) read as an NPS answer (0-10), first found wins
    csat_answer_refs  the survey answers (by field ref) read as a CSAT answer, first found wins (none of them an
                 NPS ref too); `csat_max` the top of its scale (5: a 1-5 rating), an answer from 0 to it
    high_severity     the ticket priorities counted as high severity (compared case-insensitively)
    touch_kinds       the engagements of an account's contacts that count as a CSM touch
    sponsor_engagement_kinds   the engagements that count as the executive sponsor engaging, when by the
                 sponsor the account's customer handoff names (by email)
    product_track_events   the Segment `track` event names (exactly as sent) that count as product usage: a
                 track of a signed-in user (a `userId`) of the account is a usage signal of one event of the
                 feature named as the event (it counts in `feature_adoption`, never in active users or seats);
                 `["*"]` takes every track the lead domain does not map to a marketing kind (`Email Opened`,
                 `Form Submitted`, ...: `shared.events.types.SEGMENT_TRACK_KINDS`), which may not be
                 named; none (the default): no track is usage
    measures     each: `id`, `group` (product_usage, support, sentiment, financial, relationship, onboarding),
                 `weight` (an integer > 0), `value` (what is measured, below), `window_days` (how far back
                 the measure looks; the signals before it are not read), and its scoring: `thresholds`
                 (ordered, first met wins: `{"at_least": "0.8", "score": 100}` where more is better, or
                 `{"at_most": 0, "score": 100}` where less is, never mixed) with `otherwise` (the score when
                 none is met), or `categories` (`{"active": 100, "past_due": 30}`) with `otherwise`

What each `value` measures, from the signals of the window (a measure with no signal to read is NA: it drops
out and the other weights share its part; it is never scored as 0):

    seat_utilization          active users / licensed seats of the latest usage report that gives both
    feature_adoption          distinct features used (events > 0) over the window's usage reports and product
                              tracks (`product_track_events`)
    active_user_trend         the change of active users, in percent, from the latest report at or before the
                              window's start to the latest report (NA without both, or when the first is 0)
    open_tickets              tickets opened and not solved (NA when the account never had a ticket)
    high_severity_tickets     the open ones whose priority is in `high_severity`
    hours_to_resolve          the median hours from opening to solving of the tickets solved in the window
    nps                       the latest NPS answer (0-10)
    csat                      the latest CSAT answer (0-`csat_max`), of a survey that may carry NPS too
    failed_payments           payments that failed in the window (NA when the account never paid or failed)
    days_past_due             days since the oldest failed payment not followed by a successful one (0 when
                              none is outstanding; NA when the account never paid or failed)
    subscription_status       the latest subscription status (`active`, `trialing`, `past_due`, `canceled`,
                              `unpaid`, ...; `downgraded` when the latest change lowered the quantity)
    days_since_touch          days since the latest CSM touch (an engagement of `touch_kinds`)
    days_since_sponsor_engaged   days since the executive sponsor of the account's latest success plan (the
                              sales -> CS handoff's, `success_plan.created`) last engaged: an engagement of
                              `sponsor_engagement_kinds` by a contact with the sponsor's email; the handoff
                              naming them counts as their first (NA without a plan naming a sponsor by email)
    milestones_on_time        the share (0-1) of the latest success plan's milestones settled by the moment
                              (completed, or past their due date) that were completed on or before their due
                              date (UTC days); NA without a plan, or before any milestone is settled

    caps         overrides a weighted mean would hide: each `id`, `when` (measures and the score each is at most,
                 all met, none NA) and `score_at_most`, the overall score's ceiling while they hold (a detractor
                 who stopped paying is red however much they use the product); the lowest ceiling met applies
                 and shows in the breakdown as its own line

    segments     customer segments, in order, the first an account meets is its segment: each `id` and the
                 conditions it needs, all of them (`min_arr`: what the account paid in the trailing twelve months,
                 in the company currency, a decimal string; `min_seats`: its latest usage report's licensed
                 seats); the last names none (every account has a segment). Playbooks, CS campaigns and launches
                 target segments by id

    playbooks    interventions: each `id`, `trigger` (`churn_risk`: opened as an account becomes a churn risk in
                 one of `bands` and, when `segments` names some, of one of those segments; `manual`: only by
                 `POST .../interventions`), a CSM `task` (`title`, where
                 `{account}` is the account's domain or id, and `due_days`), an `alert` (a Slack channel and
                 emails told when it opens), `suppress_marketing` (ask marketing to stop promotional campaigns
                 to the account), `enroll_campaign` (the campaign to enrol its contacts in) and
                 `evaluate_after_days` (when its outcome is measured: the health then against before)

    expansion    expansion readiness: `ready_from` (a readiness at or above it is a signal), `components` (each
                 `id`, `measure` (a measure's id, or `band`), `weight`, and `thresholds` or `categories`
                 with `otherwise`, scored on the measure's raw value; a measure that is NA scores
                 `otherwise`: no evidence is no readiness) and `products` (cross-sell suggestions: each `id`,
                 `name`, the `features` whose use suggests it, and `min_seat_utilization`)

Scores are 0-100 per measure; the overall score is the weighted mean of the measures that are not NA. A file
that does not meet the schema is refused with an `InvalidHealthModel` naming each offending measure by its id.
Unknown fields are refused everywhere.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt, model_validator

from shared.catalog.success import ANY_TRACK
from shared.config_files import (
    ConfigFile,
    FileProblems,
    InvalidConfigFile,
    SnakeCaseId,
    lowered,
    no_float,
    repeated_ids,
)
from shared.events.types import SEGMENT_TRACK_KINDS, EngagementKind

DEFAULT_HEALTH_MODEL_PATH = Path(__file__).resolve().parent.parent.parent / "config" / "health-model.json"


class InvalidHealthModel(InvalidConfigFile):
    """The health model is not valid; `problems` lists each problem, naming the measure it is about."""

    noun = "health model"


class MeasureGroup(StrEnum):
    PRODUCT_USAGE = "product_usage"
    SUPPORT = "support"
    SENTIMENT = "sentiment"
    FINANCIAL = "financial"
    RELATIONSHIP = "relationship"
    ONBOARDING = "onboarding"


class MeasureValue(StrEnum):
    SEAT_UTILIZATION = "seat_utilization"
    FEATURE_ADOPTION = "feature_adoption"
    ACTIVE_USER_TREND = "active_user_trend"
    OPEN_TICKETS = "open_tickets"
    HIGH_SEVERITY_TICKETS = "high_severity_tickets"
    HOURS_TO_RESOLVE = "hours_to_resolve"
    NPS = "nps"
    FAILED_PAYMENTS = "failed_payments"
    DAYS_PAST_DUE = "days_past_due"
    SUBSCRIPTION_STATUS = "subscription_status"
    DAYS_SINCE_TOUCH = "days_since_touch"
    CSAT = "csat"
    DAYS_SINCE_SPONSOR_ENGAGED = "days_since_sponsor_engaged"
    MILESTONES_ON_TIME = "milestones_on_time"


CATEGORICAL_VALUES = frozenset({MeasureValue.SUBSCRIPTION_STATUS})
SHARE_VALUES = frozenset({MeasureValue.MILESTONES_ON_TIME})  # a share from 0 to 1: a threshold above 1 is a percent

Score = Annotated[StrictInt, Field(ge=0, le=100)]
Limit = Annotated[Decimal, BeforeValidator(no_float), Field(allow_inf_nan=False, ge=-1_000_000, le=1_000_000)]
Category = Annotated[str, BeforeValidator(lowered), Field(min_length=1, max_length=40, pattern=r"^[a-z_]+$")]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Threshold(_Strict):
    """One step of a measure's scoring: met when the value is at least (or at most) the limit."""

    at_least: Limit | None = None
    at_most: Limit | None = None
    score: Score

    @model_validator(mode="after")
    def _one_limit(self) -> Threshold:
        if (self.at_least is None) == (self.at_most is None):
            raise ValueError("a threshold gives exactly one of at_least and at_most")
        return self

    def met_by(self, value: Decimal) -> bool:
        return value >= self.at_least if self.at_least is not None else value <= (self.at_most or Decimal(0))


class Measure(_Strict):
    id: SnakeCaseId
    description: str = Field(default="", max_length=500)
    group: MeasureGroup
    weight: Annotated[StrictInt, Field(ge=1, le=1000)]
    value: MeasureValue
    window_days: Annotated[StrictInt, Field(ge=1, le=730)] = 90
    thresholds: list[Threshold] | None = Field(default=None, min_length=1, max_length=20)
    categories: dict[Category, Score] | None = Field(default=None, min_length=1, max_length=40)
    otherwise: Score

    @model_validator(mode="after")
    def _scoring(self) -> Measure:
        categorical = self.value in CATEGORICAL_VALUES
        if categorical and (self.categories is None or self.thresholds is not None):
            raise ValueError(f"{self.value} is scored by categories (and otherwise), not thresholds")
        if not categorical and (self.thresholds is None or self.categories is not None):
            raise ValueError(f"{self.value} is scored by thresholds (and otherwise), not categories")
        steps = self.thresholds or []
        if len({t.at_least is None for t in steps}) > 1:
            raise ValueError("thresholds mix at_least and at_most: a measure is better either higher or lower")
        limits = [t.at_least if t.at_least is not None else (t.at_most or Decimal(0)) for t in steps]
        higher_is_better = bool(steps) and steps[0].at_least is not None
        ordered = all((a > b) if higher_is_better else (a < b) for a, b in itertools.pairwise(limits))
        if not ordered:
            order = "from the highest at_least down" if higher_is_better else "from the lowest at_most up"
            raise ValueError(f"thresholds must be listed {order}, each limit once")
        return self

    def score_of(self, value: Decimal | str) -> int:
        """The measure's score for its raw value: the first threshold met (or the category's), else otherwise."""
        if isinstance(value, str):
            return (self.categories or {}).get(value, self.otherwise)
        return next((t.score for t in self.thresholds or () if t.met_by(value)), self.otherwise)


class CapCondition(_Strict):
    measure: SnakeCaseId
    score_at_most: Score


class Cap(_Strict):
    id: SnakeCaseId
    description: str = Field(default="", max_length=500)
    when: list[CapCondition] = Field(min_length=1, max_length=10)
    score_at_most: Score


class PlaybookTrigger(StrEnum):
    CHURN_RISK = "churn_risk"
    MANUAL = "manual"


class Task(_Strict):
    title: str = Field(min_length=1, max_length=200)
    due_days: Annotated[StrictInt, Field(ge=0, le=90)] = 2


class Alert(_Strict):
    slack_channel: str | None = Field(default=None, min_length=1, max_length=80)
    emails: list[Annotated[str, Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]] = Field(
        default_factory=list, max_length=20
    )


class Segment(_Strict):
    """A customer segment: the accounts meeting every condition given (the catch-all gives none)."""

    id: SnakeCaseId
    description: str = Field(default="", max_length=500)
    min_arr: Annotated[Decimal, BeforeValidator(no_float), Field(ge=0, le=10**12, allow_inf_nan=False)] | None = None
    min_seats: Annotated[StrictInt, Field(ge=0, le=10_000_000)] | None = None

    @property
    def is_catch_all(self) -> bool:
        return self.min_arr is None and self.min_seats is None


class Playbook(_Strict):
    id: SnakeCaseId
    description: str = Field(default="", max_length=500)
    trigger: PlaybookTrigger
    bands: list[Annotated[str, Field(pattern=r"^(green|yellow|red)$")]] = Field(
        default_factory=lambda: ["red"], max_length=3
    )
    segments: list[SnakeCaseId] = Field(default_factory=list, max_length=20)  # any segment when empty
    task: Task
    alert: Alert | None = None
    suppress_marketing: bool = False
    enroll_campaign: str | None = Field(default=None, min_length=1, max_length=128)
    evaluate_after_days: Annotated[StrictInt, Field(ge=1, le=365)] = 30


# What an expansion component may score besides the model's measures: the health band, and how many features of the
# catalog's products the account asked for in product feedback (`shared.success.expansion`).
EXPANSION_FACTS = ("band", "feature_requests")


class ExpansionComponent(_Strict):
    id: SnakeCaseId
    measure: SnakeCaseId  # a measure of the model, `band` or `feature_requests`
    weight: Annotated[StrictInt, Field(ge=1, le=1000)]
    thresholds: list[Threshold] | None = Field(default=None, min_length=1, max_length=20)
    categories: dict[Category, Score] | None = Field(default=None, min_length=1, max_length=40)
    otherwise: Score = 0

    @model_validator(mode="after")
    def _scoring(self) -> ExpansionComponent:
        if (self.thresholds is None) == (self.categories is None):
            raise ValueError("a component is scored by thresholds or by categories (one of them)")
        return self

    def score_of(self, value: Decimal | str | None) -> int:
        if value is None:
            return self.otherwise
        if isinstance(value, str):
            return (self.categories or {}).get(value, self.otherwise)
        return next((t.score for t in self.thresholds or () if t.met_by(value)), self.otherwise)


class Product(_Strict):
    id: SnakeCaseId
    name: str = Field(min_length=1, max_length=200)
    features: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(min_length=1, max_length=50)
    min_seat_utilization: Limit = Decimal(0)


class Expansion(_Strict):
    ready_from: Score = 70
    components: list[ExpansionComponent] = Field(default_factory=list, max_length=20)
    products: list[Product] = Field(default_factory=list, max_length=50)


class Bands(_Strict):
    green_from: Score = 70
    yellow_from: Score = 40

    @model_validator(mode="after")
    def _ordered(self) -> Bands:
        if self.green_from <= self.yellow_from:
            raise ValueError("green_from must be above yellow_from")
        return self


class Trend(_Strict):
    flat_within: Annotated[Decimal, BeforeValidator(no_float), Field(ge=0, le=100, allow_inf_nan=False)] = Decimal(2)


class Onboarding(_Strict):
    days: Annotated[StrictInt, Field(ge=0, le=365)] = 0
    min_coverage: Annotated[Decimal, BeforeValidator(no_float), Field(ge=0, le=1, allow_inf_nan=False)] = Decimal(0)


class Renewal(_Strict):
    at_risk_within_days: Annotated[StrictInt, Field(ge=1, le=365)] = 60


class ChurnRisk(_Strict):
    drop_points: Annotated[StrictInt, Field(ge=1, le=100)] = 15
    within_days: Annotated[StrictInt, Field(ge=1, le=365)] = 30


class HealthModel(_Strict):
    """A validated health model. Immutable."""

    version: str = Field(min_length=1, max_length=80)
    description: str = ""
    bands: Bands = Field(default_factory=Bands)
    onboarding: Onboarding = Field(default_factory=lambda: Onboarding())
    trend: Trend = Field(default_factory=Trend)
    churn_risk: ChurnRisk = Field(default_factory=ChurnRisk)
    renewal: Renewal = Field(default_factory=Renewal)
    nps_answer_refs: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=lambda: ["nps"], min_length=1, max_length=20
    )
    csat_answer_refs: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=lambda: ["csat"], max_length=20
    )
    csat_max: Annotated[StrictInt, Field(ge=2, le=100)] = 5
    high_severity: list[Category] = Field(default_factory=lambda: ["high", "urgent"], max_length=20)
    touch_kinds: list[EngagementKind] = Field(
        default_factory=lambda: [EngagementKind.MEETING_BOOKED], max_length=len(EngagementKind)
    )
    product_track_events: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=200
    )
    sponsor_engagement_kinds: list[EngagementKind] = Field(
        default_factory=lambda: [EngagementKind.MEETING_BOOKED], max_length=len(EngagementKind)
    )
    measures: list[Measure] = Field(min_length=1, max_length=50)
    caps: list[Cap] = Field(default_factory=list, max_length=20)
    segments: list[Segment] = Field(default_factory=list, max_length=20)
    playbooks: list[Playbook] = Field(default_factory=list, max_length=50)
    expansion: Expansion = Field(default_factory=Expansion)

    @model_validator(mode="after")
    def _whole_file(self) -> HealthModel:
        ids = [m.id for m in self.measures]
        problems = [f'measure "{one}": id is used by another measure' for one in repeated_ids(ids)]
        problems += [f'cap "{one}": id is used by another cap' for one in repeated_ids([c.id for c in self.caps])]
        problems += [
            f'playbook "{one}": id is used by another playbook' for one in repeated_ids([p.id for p in self.playbooks])
        ]
        problems += [
            f'expansion component "{c.id}": measure "{c.measure}" is neither a measure of the model nor '
            f"{' nor '.join(EXPANSION_FACTS)}"
            for c in self.expansion.components
            if c.measure not in EXPANSION_FACTS and c.measure not in ids
        ]
        problems += [
            f'cap "{cap.id}": measure "{condition.measure}" is not a measure of the model'
            for cap in self.caps
            for condition in cap.when
            if condition.measure not in ids
        ]
        problems += _segment_problems(self)
        problems += _track_problems(self)
        problems += _survey_problems(self)
        problems += [problem for problem in (_range_problem(self, m) for m in self.measures) if problem]
        if problems:
            raise FileProblems(problems)
        return self

    def is_product_track(self, name: str) -> bool:
        """Whether a Segment track of this name (one the lead domain left `track`) is product usage."""
        return ANY_TRACK in self.product_track_events or name in self.product_track_events

    @property
    def longest_window_days(self) -> int:
        return max(m.window_days for m in self.measures)

    @property
    def segment_ids(self) -> list[str]:
        return [segment.id for segment in self.segments]

    def playbook(self, playbook_id: str) -> Playbook | None:
        return next((p for p in self.playbooks if p.id == playbook_id), None)

    def band_of(self, score_hundredths: int) -> str:
        if score_hundredths >= self.bands.green_from * 100:
            return "green"
        return "yellow" if score_hundredths >= self.bands.yellow_from * 100 else "red"


def _track_problems(model: HealthModel) -> list[str]:
    names = model.product_track_events
    problems = [f'product_track_events: "{one}" is listed twice' for one in repeated_ids(names)]
    if ANY_TRACK in names and len(names) > 1:
        problems.append(f'product_track_events: "{ANY_TRACK}" takes every product track; name no other')
    problems += [
        f'product_track_events: "{name}" is a marketing track ({SEGMENT_TRACK_KINDS[name.strip().lower()].value}), not '
        "product usage"
        for name in names
        if name.strip().lower() in SEGMENT_TRACK_KINDS
    ]
    if names and EngagementKind.TRACK in model.touch_kinds:
        problems.append("touch_kinds: track cannot be a CSM touch while product_track_events makes tracks usage")
    if names and EngagementKind.TRACK in model.sponsor_engagement_kinds:
        problems.append(
            "sponsor_engagement_kinds: track cannot be a sponsor's engagement while product_track_events makes "
            "tracks usage"
        )
    return problems


def _survey_problems(model: HealthModel) -> list[str]:
    problems = [f'csat_answer_refs: "{one}" is listed twice' for one in repeated_ids(model.csat_answer_refs)]
    problems += [
        f'csat_answer_refs: "{ref}" is an NPS answer ref too: one answer cannot be both'
        for ref in model.csat_answer_refs
        if ref in model.nps_answer_refs
    ]
    problems += [
        f'measure "{m.id}": csat reads the answers of csat_answer_refs, and it lists none'
        for m in model.measures
        if m.value is MeasureValue.CSAT and not model.csat_answer_refs
    ]
    return problems


def _range_problem(model: HealthModel, measure: Measure) -> str:
    """A threshold a bounded value can never reach: a percent given for a share, a CSAT beyond the scale."""
    if measure.value in SHARE_VALUES:
        top, what = Decimal(1), f"{measure.value} is a share from 0 to 1 (0.8 is 80%)"
    elif measure.value is MeasureValue.CSAT:
        top, what = Decimal(model.csat_max), f"csat answers run from 0 to csat_max ({model.csat_max})"
    else:
        return ""
    limits = [t.at_least if t.at_least is not None else t.at_most for t in measure.thresholds or ()]
    outside = [str(limit) for limit in limits if limit is not None and not Decimal(0) <= limit <= top]
    return f'measure "{measure.id}": {what}; a threshold of {", ".join(outside)} is outside it' if outside else ""


_FILE: ConfigFile[HealthModel] = ConfigFile(
    "health model",
    HealthModel,
    InvalidHealthModel,
    {"measures": ("measure", "id"), "caps": ("cap", "id"), "playbooks": ("playbook", "id")},
)


def parse_health_model(data: Mapping[str, Any] | str | bytes) -> HealthModel:
    """Validate a health model given as a mapping or JSON text; raises `InvalidHealthModel` naming each offending
    measure. JSON text is read with exact decimals; a mapping must hold no floats."""
    return _FILE.parse(data)


def load_health_model(path: str | Path | None = None) -> HealthModel:
    """Read and validate the health model (default: `config/health-model.json` of this repository)."""
    return _FILE.load(Path(path) if path is not None else DEFAULT_HEALTH_MODEL_PATH)


def _segment_problems(model: HealthModel) -> list[str]:
    """Segment ids once each, the last a catch-all (so every account has one), and playbooks naming segments of
    the model."""
    ids = model.segment_ids
    problems = [f'segment "{one}": id is used by another segment' for one in repeated_ids(ids)]
    for segment in model.segments[:-1]:
        if segment.is_catch_all:
            problems.append(f'segment "{segment.id}": only the last segment may name no condition (it takes the rest)')
    if model.segments and not model.segments[-1].is_catch_all:
        last = model.segments[-1].id
        problems.append(f'segment "{last}": the last segment names no condition, so every account has a segment')
    known = ", ".join(ids) or "none"
    problems += [
        f'playbook "{playbook.id}": segment "{name}" is not a segment of the model (segments: {known})'
        for playbook in model.playbooks
        for name in playbook.segments
        if name not in ids
    ]
    return problems
