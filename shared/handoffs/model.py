"""Handoffs as the hub keeps them: what routing reads about a lead (or a new customer) and about each rep's
load, what it decides, and the handoff record whose every transition is stored with time, actor and cause."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any


class Priority(StrEnum):
    """How urgently a person must pick the handoff up; the lead events' `priority`."""

    IMMEDIATE = "immediate"
    PRIORITY = "priority"
    STANDARD = "standard"

    @property
    def rank(self) -> int:
        """Lower is more urgent: a second trigger raises an open handoff to the lower rank."""
        return list(Priority).index(self)


class Role(StrEnum):
    SDR = "SDR"
    AE = "AE"
    CSM = "CSM"
    MANAGER = "manager"


class HandoffKind(StrEnum):
    LEAD = "lead"  # marketing -> sales, from lead.handoff_requested
    CUSTOMER = "customer"  # sales -> customer success, from deal.won or the cs-sales API
    EXPANSION = "expansion"  # customer success -> sales: an account ready to expand, from customer.expansion_signal


class HandoffStatus(StrEnum):
    REQUESTED = "requested"
    QUEUED = "queued"  # no eligible rep: waiting in the team's fallback queue, never dropped
    ASSIGNED = "assigned"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    COMPLETED = "completed"
    RECYCLED = "recycled"

    @property
    def is_open(self) -> bool:
        """Open handoffs hold the lead (one open handoff per lead) and count against the assignee's capacity."""
        return self in _OPEN


_OPEN = frozenset({HandoffStatus.REQUESTED, HandoffStatus.QUEUED, HandoffStatus.ASSIGNED, HandoffStatus.ACCEPTED})


@dataclass(frozen=True)
class LeadFacts:
    """What routing rules read about the lead and its account. Unknown facts are None: a condition on an unknown
    fact does not match."""

    lead_id: str
    email: str | None = None
    kind: HandoffKind = HandoffKind.LEAD
    country: str | None = None  # ISO 3166-1 alpha-2, upper case
    region: str | None = None  # e.g. AMER, EMEA, APAC; derived from the country by the routing file when absent
    state: str | None = None  # state or province code
    industry: str | None = None
    employee_count: int | None = None
    annual_revenue: Decimal | None = None  # in the company currency's major units
    product_interest: tuple[str, ...] = ()
    language: str | None = None  # ISO 639-1, lower case
    score: Decimal = Decimal(0)
    fit_score: Decimal = Decimal(0)
    priority: Priority = Priority.STANDARD
    source: str | None = None  # where the lead came from: `hubspot`, `segment`, `web_form`, ...
    account_id: str | None = None
    account_owner: str | None = None  # a rep id when the account already has an owner


@dataclass(frozen=True)
class RepLoad:
    """A rep's run-time state: open handoffs now, assignments made so far (what round-robin evens out), and the
    overrides set through `PUT /api/v1/routing/reps/{rep_id}` (which win until the routing file's version
    changes). `version` is the optimistic-concurrency counter of the stored item."""

    rep_id: str
    open_handoffs: int = 0
    assignments: int = 0
    available: bool | None = None  # override of the file's `active`; None: the file decides
    capacity: int | None = None  # override of the file's capacity; None: the file decides
    overrides_version: str | None = None  # the routing file version the overrides were set under
    # The rep's place in round robin's rotation (a stride-scheduling pass, `routing_strategies.next_in_rotation`):
    # who is next goes by it, not by lifetime assignments, so a rep back from leave takes their turn, not a burst
    rotation: int = 0
    version: int = 0


class SkipReason(StrEnum):
    INACTIVE = "inactive"  # the routing file's `active` is false
    UNAVAILABLE = "unavailable"  # set unavailable at run time (`PUT /api/v1/routing/reps/{rep_id}`)
    OUT_OF_OFFICE = "out_of_office"
    AT_CAPACITY = "at_capacity"
    OUTSIDE_WORKING_HOURS = "outside_working_hours"
    NO_SKILL_MATCH = "no_skill_match"
    EXCLUDED = "excluded"  # breached this handoff's SLA or rejected it: not offered the same lead again
    NOT_IN_TEAM = "not_in_team"


@dataclass(frozen=True)
class Skip:
    rep_id: str
    reason: SkipReason


@dataclass(frozen=True)
class RoutingDecision:
    """Who gets the handoff and why. `rep_id` None means no eligible rep: the handoff waits in `queue` (the
    team's fallback queue). `skips` lists every rep passed over, with the reason, in the order considered."""

    rule_id: str | None
    team: str
    strategy: str
    rep_id: str | None
    queue: str | None
    skips: tuple[Skip, ...] = ()
    explanation: str = ""
    rotation: int | None = None  # the rep's rotation after taking it, when a round robin chose them (else kept)


HUB = "hub"  # the actor of the transitions no person makes: routing, queues, timers, the lead's progress


class SlaKind(StrEnum):
    """Which of a handoff's SLAs a breach missed."""

    ACCEPT = "accept"  # not accepted in time: the handoff moves to the next rep (or the manager)
    FIRST_TOUCH = "first_touch"  # the lead not touched in time: the manager is told, the handoff stays


class TouchChannel(StrEnum):
    """How the assignee first reached the lead."""

    CALL = "call"
    EMAIL = "email"
    MEETING = "meeting"
    SOCIAL = "social"
    OTHER = "other"


@dataclass(frozen=True)
class EntryState:
    """What a transition left the handoff at (or, for a breach or a rejection that a reassignment follows in the
    same commit, what it was at when the transition happened): the fields its event reports, as they were then,
    not as the handoff stands when the event is built."""

    team: str
    priority: Priority
    queue: str | None = None
    rule_id: str | None = None
    sla_due_at: datetime | None = None
    first_touch_due_at: datetime | None = None


@dataclass(frozen=True)
class HistoryEntry:
    """One transition of a handoff: when, to what, by whom (`hub`, a rep id, a token's username) and why."""

    at: datetime
    status: HandoffStatus
    actor: str
    cause: str
    rep_id: str | None = None
    event: str | None = None  # the handoff event type this transition published (its id derives from the entry)
    previous_rep_id: str | None = None
    sla: SlaKind | None = None  # handoff.sla_breached: which SLA (None on breaches stored before first touch: accept)
    # The handoff's fields as of this transition (None on entries stored before it was kept: the handoff's own)
    state: EntryState | None = None
    cause_event_id: str | None = None  # the event that caused it (a Slack click): a redelivery of it is a no-op


@dataclass(frozen=True)
class AssignmentRef:
    """Which assignment of a handoff something (a Slack button) is about: the handoff's reassignment count and
    its assignee then. A click on a message of an earlier assignment is not applied to the current one."""

    number: int
    rep_id: str | None

    @classmethod
    def of(cls, handoff: Handoff) -> AssignmentRef:
        return cls(handoff.reassignments, handoff.rep_id)


@dataclass(frozen=True)
class FirstTouch:
    """The assignee's first contact with a lead handed to sales (a call, an email, a meeting): what speed to lead
    is judged by. `at` is when the rep says it happened (never before the assignment, never in the future);
    the first one recorded wins."""

    at: datetime
    channel: TouchChannel
    actor: str  # who recorded it: the rep, a manager or an admin
    rep_id: str | None  # the assignee it counts for
    note: str | None = None


@dataclass(frozen=True)
class Handoff:
    handoff_id: str
    lead_id: str
    kind: HandoffKind
    priority: Priority
    status: HandoffStatus
    team: str
    requested_at: datetime
    rep_id: str | None = None
    queue: str | None = None
    rule_id: str | None = None
    strategy: str | None = None
    assigned_at: datetime | None = None
    accepted_at: datetime | None = None
    sla_due_at: datetime | None = None
    # Lead handoffs: when the assignee must first touch the lead by (the follow-up task's due time), of the
    # current assignment, or of the one the lead was touched in; kept once accepted, unlike `sla_due_at`.
    first_touch_due_at: datetime | None = None
    first_touch: FirstTouch | None = None
    reassignments: int = 0
    excluded_reps: tuple[str, ...] = ()
    skips: tuple[Skip, ...] = ()
    history: tuple[HistoryEntry, ...] = ()
    cause_event_id: str | None = None
    customer_id: str | None = None  # customer handoffs: the hub's account id
    details: dict[str, Any] = field(default_factory=dict)  # customer handoffs: stakeholders, goals, products ...
    # How many history entries have had their events published and timers set (an outbox in the record: a
    # transition stored but not yet announced is announced by whoever next reads the handoff).
    announced: int = 0
    version: int = 0
