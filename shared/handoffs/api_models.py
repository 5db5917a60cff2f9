"""The handoff and routing API's bodies. Requests refuse unknown fields (a misspelt `capacty` must not pass
silently); answers are what `docs` and the OpenAPI document show."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictInt, model_validator

from shared.errors import InvalidInput
from shared.finance.money import parse_amount
from shared.handoffs.first_touch import touched_within_sla
from shared.handoffs.model import Handoff, HistoryEntry, RepLoad, TouchChannel
from shared.http.moments import Day, UtcMoment
from shared.leads.api_models import LeadView
from shared.leads.identity import normalize_email


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RejectRequest(_Request):
    reason: str = Field(min_length=1, max_length=1000, description="Why the rep turns the lead down (required).")
    recycle: bool = Field(
        False,
        description="True: the lead is not ready for sales; it goes back to marketing nurture (handoff.recycled) "
        "instead of to the next rep. An accepted handoff can be recycled too.",
    )


class AssignRequest(_Request):
    rep_id: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.@-]+$",
        description="The rep who takes the queued handoff: one of the routing file's, eligible now (active, not out "
        "of office, under capacity, not one who breached or rejected it).",
    )


class TouchRequest(_Request):
    channel: TouchChannel = Field(description="How the rep reached the lead.")
    touched_at: UtcMoment | None = Field(
        None,
        description="When (an ISO 8601 date-time; without an offset, UTC), 1970 to 2199: not in the future, not "
        "before the assignment. Default: now.",
    )
    note: str | None = Field(None, max_length=500, description="What came of it, in a line.")


class RepUpdate(_Request):
    # strict: `true` is no capacity and `"no"` no availability (lax parsing would take them as 1 and false)
    available: StrictBool | None = Field(
        None, description="False takes the rep out of routing; null leaves the file's."
    )
    capacity: StrictInt | None = Field(
        None, ge=0, le=10_000, description="Open handoffs at most (an integer); null leaves the file's."
    )


class LeadFactsInput(_Request):
    """A lead as routing sees it, for a simulation without stored leads."""

    lead_id: str = Field(min_length=1, max_length=64)
    email: str | None = Field(None, max_length=320)
    kind: str = Field("lead", pattern="^(lead|customer|expansion)$")
    country: str | None = Field(None, max_length=2)
    region: str | None = Field(None, max_length=16)
    state: str | None = Field(None, max_length=16)
    industry: str | None = Field(None, max_length=200)
    employee_count: int | None = Field(None, ge=0, le=10_000_000)
    annual_revenue: str | None = Field(None, max_length=32, pattern=r"^\d{1,18}(\.\d{1,6})?$")
    product_interest: list[str] = Field(default_factory=list, max_length=20)
    language: str | None = Field(None, max_length=16)
    score: str = Field("0", max_length=24, pattern=r"^-?\d{1,12}(\.\d{1,6})?$")
    fit_score: str = Field("0", max_length=24, pattern=r"^-?\d{1,12}(\.\d{1,6})?$")
    priority: str = Field("standard", pattern="^(immediate|priority|standard)$")
    source: str | None = Field(None, max_length=100)
    account_id: str | None = Field(None, max_length=128)
    account_owner: str | None = Field(None, max_length=64)


class RoutingSimulationRequest(_Request):
    routing: dict[str, Any] = Field(description="A candidate routing file (the shape of config/routing.json).")
    leads: list[LeadFactsInput] | None = Field(
        None, max_length=1000, description="Leads to route; without them, the stored open MQLs (up to `limit`)."
    )
    limit: int = Field(200, ge=1, le=1000)
    as_of: UtcMoment | None = Field(
        None,
        description="The moment to route at (working hours): an ISO 8601 date-time (without an offset, UTC), "
        "1970 to 2199; default now.",
    )


class SkipView(BaseModel):
    rep_id: str
    reason: str = Field(
        description="Why routing passed the rep over: `unavailable` (set unavailable at run time), `inactive` (the "
        "routing file's `active` is false), `out_of_office`, `at_capacity`, `outside_working_hours` (an "
        "`immediate` handoff), `excluded` (rejected it or breached its SLA), `no_skill_match`, `not_in_team`."
    )


class HistoryView(BaseModel):
    at: datetime
    status: str
    actor: str
    cause: str
    rep_id: str | None
    previous_rep_id: str | None
    event: str | None
    sla: str | None = Field(None, description="handoff.sla_breached: `accept` or `first_touch`.")

    @classmethod
    def of(cls, entry: HistoryEntry) -> HistoryView:
        return cls(
            at=entry.at,
            status=entry.status.value,
            actor=entry.actor,
            cause=entry.cause,
            rep_id=entry.rep_id,
            previous_rep_id=entry.previous_rep_id,
            event=entry.event,
            sla=entry.sla.value if entry.sla else None,
        )


class HandoffSummary(BaseModel):
    handoff_id: str
    lead_id: str
    kind: str
    priority: str
    status: str
    rep_id: str | None
    team: str
    queue: str | None
    rule_id: str | None
    strategy: str | None
    requested_at: datetime
    assigned_at: datetime | None
    accepted_at: datetime | None
    sla_due_at: datetime | None
    first_touch_due_at: datetime | None = Field(description="Lead handoffs: when the lead must be first touched by.")
    first_touched_at: datetime | None = Field(description="When the lead was first touched; null until then.")
    reassignments: int

    @classmethod
    def fields_of(cls, handoff: Handoff) -> dict[str, Any]:
        return {
            "handoff_id": handoff.handoff_id,
            "lead_id": handoff.lead_id,
            "kind": handoff.kind.value,
            "priority": handoff.priority.value,
            "status": handoff.status.value,
            "rep_id": handoff.rep_id,
            "team": handoff.team,
            "queue": handoff.queue,
            "rule_id": handoff.rule_id,
            "strategy": handoff.strategy,
            "requested_at": handoff.requested_at,
            "assigned_at": handoff.assigned_at,
            "accepted_at": handoff.accepted_at,
            "sla_due_at": handoff.sla_due_at,
            "first_touch_due_at": handoff.first_touch_due_at,
            "first_touched_at": handoff.first_touch.at if handoff.first_touch else None,
            "reassignments": handoff.reassignments,
        }

    @classmethod
    def of(cls, handoff: Handoff) -> HandoffSummary:
        return cls(**cls.fields_of(handoff))


class EngagementView(BaseModel):
    occurred_at: datetime
    kind: str
    source_vendor: str
    name: str | None
    url: str | None


class HandoffLead(LeadView):
    """The lead as sales receive it (seed 003 data transfer): profile, score breakdown, history, and its
    engagement, newest first."""

    engagement: list[EngagementView]


class FirstTouchView(BaseModel):
    touched_at: datetime
    channel: str
    actor: str = Field(description="Who recorded it: the rep, a manager or an admin.")
    rep_id: str | None = Field(description="The assignee it counts for.")
    note: str | None
    within_sla: bool = Field(description="By `first_touch_due_at`, with no first-touch breach told before it.")

    @classmethod
    def of(cls, handoff: Handoff) -> FirstTouchView | None:
        touch = handoff.first_touch
        if touch is None:
            return None
        return cls(
            touched_at=touch.at,
            channel=touch.channel.value,
            actor=touch.actor,
            rep_id=touch.rep_id,
            note=touch.note,
            within_sla=bool(touched_within_sla(handoff)),
        )


class HandoffView(HandoffSummary):
    skips: list[SkipView]
    excluded_reps: list[str]
    history: list[HistoryView]
    first_touch: FirstTouchView | None = Field(description="The lead's first touch; null until it is recorded.")
    details: dict[str, Any]
    lead: HandoffLead | None = Field(description="Null when the lead is no longer known (erased).")


class HandoffList(BaseModel):
    items: list[HandoffSummary]
    next_cursor: str | None = None


class Skills(BaseModel):
    products: list[str]
    languages: list[str]


class RepView(BaseModel):
    rep_id: str
    name: str
    email: str
    slack_user_id: str | None
    team: str
    role: str
    territories: list[str]
    skills: Skills
    capacity: int
    open_handoffs: int
    assignments: int
    available: bool
    availability_note: str = Field(
        description="Why the rep is (un)available: set unavailable (run-time override), inactive in the routing "
        "file, out of office, at capacity."
    )


class RepList(BaseModel):
    routing_version: str
    reps: list[RepView]


class DecisionView(BaseModel):
    lead_id: str
    gate: str = Field(
        description="What the request's gate makes of the lead, as for a real request: `route` (the rules decide), "
        "`await_identification` (no email yet: it waits, in no queue, until the lead is identified) or `qualify` "
        "(a buying signal below the fit line: the qualification queue). `explanation` says why."
    )
    rule_id: str | None
    team: str
    strategy: str
    rep_id: str | None
    queue: str | None
    skips: list[SkipView]
    explanation: str


class RoutingSimulationReport(BaseModel):
    candidate_version: str
    current_version: str
    as_of: datetime
    leads_routed: int
    decisions: list[DecisionView]
    load_per_rep: dict[str, int] = Field(description="Open handoffs per rep after the simulated assignments.")
    assigned_per_rep: dict[str, int] = Field(description="How many of these leads each rep would get.")
    unroutable: list[str] = Field(
        description="Leads no rep would get: waiting in a queue (a team's fallback, or the qualification queue), "
        "or, without an email, waiting to be identified (`gate` says which)."
    )
    changed_from_current: int = Field(description="Leads the candidate sends elsewhere than the current file does.")


class DurationFigures(BaseModel):
    count: int
    p50_seconds: float | None
    p95_seconds: float | None


class AttainmentView(BaseModel):
    priority: str
    team: str
    handoffs: int
    accepted_within_sla: int
    breached: int
    open_within_sla: int
    attainment: float | None = Field(description="accepted within SLA / (accepted + breached); null without either.")
    touched_within_sla: int = Field(description="Leads first touched by their first-touch deadline.")
    first_touch_breached: int = Field(
        description="Leads whose first-touch deadline passed untouched (the manager told), or touched late."
    )
    awaiting_touch_within_sla: int = Field(description="Leads not touched yet whose first-touch deadline is ahead.")
    first_touch_attainment: float | None = Field(
        description="touched within SLA / (touched within SLA + first-touch breached); null without either."
    )


class HandoffMetrics(BaseModel):
    start: datetime
    end: datetime
    handoffs: int
    requested_to_assigned: DurationFigures
    requested_to_accepted: DurationFigures
    assigned_to_accepted: DurationFigures
    requested_to_first_touch: DurationFigures
    assigned_to_first_touch: DurationFigures = Field(
        description="From the assignment the lead was first touched under to the touch."
    )
    sla: list[AttainmentView]


def rep_load_of(loads: dict[str, RepLoad], rep_id: str) -> RepLoad:
    return loads.get(rep_id, RepLoad(rep_id))


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _a_name(value: str) -> str:
    """An id or a name: some text that is not only spaces, with no control character (a NUL, a newline)."""
    if not value.strip():
        raise ValueError("must not be blank (only whitespace)")
    if (found := _CONTROL.search(value)) is not None:
        raise ValueError(f"must not hold a control character (U+{ord(found.group()):04X})")
    return value


def _an_email(value: str) -> str:
    if _CONTROL.search(value) is not None or normalize_email(value) is None:
        raise ValueError(f"{value[:80]!r} is not an email address (name@domain.tld)")
    return value


Name = Annotated[str, AfterValidator(_a_name)]
EmailAddress = Annotated[str, AfterValidator(_an_email)]


class PersonBody(_Request):
    name: Name = Field(min_length=1, max_length=200)
    email: EmailAddress | None = Field(None, max_length=320)
    role: Name | None = Field(None, max_length=100)


_Line = Annotated[str, Field(min_length=1, max_length=500)]


class CustomerHandoffBody(_Request):
    """What sales hand over about a won customer (seed 000). `deal_id` makes it idempotent: the same body again
    answers the stored handoff; another body for the same deal is a 409 naming the fields that differ."""

    deal_id: Name = Field(
        min_length=1,
        max_length=128,
        description="The won deal (a CRM id or the hub's): not blank, no control characters.",
    )
    stakeholders: list[PersonBody] = Field(default_factory=list, max_length=50)
    executive_sponsor: PersonBody | None = None
    goals: list[_Line] = Field(default_factory=list, max_length=20)
    success_criteria: list[_Line] = Field(default_factory=list, max_length=20)
    products: list[Annotated[Name, Field(min_length=1, max_length=100)]] = Field(default_factory=list, max_length=50)
    contract_value: str | None = Field(
        None,
        pattern=r"^\d{1,15}(\.\d{1,4})?$",
        description="Decimal string in `currency`'s major units, within its decimals (2 for USD, none for JPY).",
    )
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$", description="ISO 4217.")
    seats: StrictInt | None = Field(None, ge=0, le=10_000_000, description="A whole number (not true, not 1.0).")
    starts_on: Day | None = Field(
        None, description="Contract start (YYYY-MM-DD, 1970 to 2199); the success plan's milestones count from it."
    )
    ends_on: Day | None = Field(None, description="Contract end (YYYY-MM-DD, 1970 to 2199).")
    risks: list[_Line] = Field(default_factory=list, max_length=20)
    notes: str | None = Field(None, max_length=5000)
    country: str | None = Field(None, pattern=r"^[A-Za-z]{2}$")
    language: str | None = Field(None, pattern=r"^[A-Za-z]{2}([-_][A-Za-z]{2})?$")

    @model_validator(mode="after")
    def _dates_in_order(self) -> CustomerHandoffBody:
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise ValueError("ends_on must not be before starts_on")
        if self.contract_value is not None and self.currency is None:
            raise ValueError("currency is required with contract_value")
        if self.contract_value is not None and self.currency is not None:
            # the finance money rules: the currency's decimals (2 for USD, none for JPY), so the value is one
            # the ledger and the success baseline can hold to the minor unit
            try:
                parse_amount(self.contract_value, self.currency, field="contract_value")
            except InvalidInput as exc:  # InvalidAmount naming contract_value and its limit, UnknownCurrency
                raise ValueError(str(exc)) from None
        return self


class CustomerHandoffView(HandoffSummary):
    customer_id: str | None
    history: list[HistoryView]
    handover: dict[str, Any] = Field(description="What sales handed over: stakeholders, goals, products, contract.")
    success_plan: dict[str, Any]
    baseline: dict[str, Any]
