"""Leads as the hub keeps them: one contact per person, the identities that prove who it is, its lifecycle
stage, its last score, and the records that make every change explainable and reversible."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Stage(StrEnum):
    VISITOR = "Visitor"
    LEAD = "Lead"
    MQL = "MQL"
    SQL = "SQL"
    OPPORTUNITY = "Opportunity"
    CUSTOMER = "Customer"
    ADVOCATE = "Advocate"

    @property
    def rank(self) -> int:
        return list(Stage).index(self)


@dataclass(frozen=True, order=True)
class Identity:
    """A deterministic identifier of a person: `email`, `phone`, or a vendor's id (`hubspot`, `salesforce`,
    `segment`, `segment-anonymous`, `stripe`, `calendly`, ...)."""

    kind: str
    value: str

    @property
    def key(self) -> str:
        return f"{self.kind}#{self.value}"

    @classmethod
    def parse(cls, key: str) -> Identity:
        kind, _, value = key.partition("#")
        return cls(kind, value)

    @property
    def is_anonymous(self) -> bool:
        return self.kind.endswith("-anonymous")


PROFILE_FIELDS = (
    "email",
    "first_name",
    "last_name",
    "company",
    "job_title",
    "phone",
    "country",
    "industry",
    "employee_count",
    "annual_revenue",
    "company_domain",
    "source",
    "campaign_id",
)


@dataclass
class ContactProfile:
    """What is known about the person. Each field remembers when it was last set, so updates arriving out
    of order resolve as last-modified-wins."""

    values: dict[str, Any] = field(default_factory=dict)
    updated_at: dict[str, datetime] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)

    def get(self, name: str) -> Any:
        return self.values.get(name)

    def set(self, name: str, value: Any, at: datetime) -> bool:
        """Sets the field unless a later value is already held; True when something changed."""
        if value in (None, ""):
            return False
        held = self.updated_at.get(name)
        if held is not None and held > at:
            return False
        changed = self.values.get(name) != value
        self.values[name] = value
        self.updated_at[name] = at
        return changed

    @staticmethod
    def combined(profiles: Iterable[ContactProfile]) -> ContactProfile:
        """One read-only view of several profiles, last modified wins per field (on a tie, the later one)."""
        view = ContactProfile()
        for profile in profiles:
            for name, value in profile.values.items():
                view.set(name, value, profile.updated_at[name])
            view.attributes.update(profile.attributes)
        return ProfileView(view.values, view.updated_at, view.attributes)


class ProfileView(ContactProfile):
    """A combination of profile parts: setting a field here would change nothing stored, so it is refused."""

    def set(self, name: str, value: Any, at: datetime) -> bool:
        raise TypeError("a contact's combined profile is read-only; set fields on contact.own_profile(origin)")


@dataclass(frozen=True)
class ScoreSnapshot:
    total: float
    fit: float
    engagement: float
    mql: bool
    handoff: str | None
    model_version: str
    as_of: datetime
    email_engagement: float = 0.0
    content_pieces: int = 0
    website_sessions: int = 0
    icp_fit: bool = False


@dataclass
class Contact:
    contact_id: str
    created_at: datetime
    updated_at: datetime
    stage: Stage = Stage.VISITOR
    stage_entered_at: datetime | None = None
    lead_since: datetime | None = None  # when nurturing started: the 14-day standard handoff counts from here
    # What each contact's own events set, by that contact's id: this one's, and those merged into it. The
    # profile is their combination; an unmerge hands the absorbed contact its own part back.
    profiles: dict[str, ContactProfile] = field(default_factory=dict)
    identities: set[str] = field(default_factory=set)
    account_id: str | None = None
    # when the contact was linked to its account (the CRM sync's time of the hub's account link); None: unknown
    account_linked_at: datetime | None = None
    score: ScoreSnapshot | None = None
    merged_into: str | None = None
    members: list[str] = field(default_factory=list)  # contacts merged into this one, oldest merge first
    handoffs: dict[str, datetime] = field(default_factory=dict)  # level -> when it was requested
    recycled_at: datetime | None = None  # when sales last handed it back (handoff.recycled)
    never_merge: set[str] = field(default_factory=set)  # contacts an unmerge separated from this one
    version: int = 0

    @property
    def profile(self) -> ContactProfile:
        """The person as the hub sees them: every part combined, this contact's own last (it wins ties)."""
        others = [profile for origin, profile in self.profiles.items() if origin != self.contact_id]
        own = self.profiles.get(self.contact_id)
        return ContactProfile.combined([*others, own] if own else others)

    def own_profile(self, origin: str) -> ContactProfile:
        """The part of the profile `origin`'s events set (this contact's or a merged one's)."""
        return self.profiles.setdefault(origin, ContactProfile())

    @property
    def email(self) -> str | None:
        value = self.profile.get("email")
        return str(value) if value else None

    @property
    def is_identified(self) -> bool:
        return bool(self.email) or any(not Identity.parse(key).is_anonymous for key in self.identities)


@dataclass(frozen=True)
class EngagementRecord:
    """One engagement as it arrived, kept under the contact it arrived for (merges never move it)."""

    event_id: str
    contact_id: str
    occurred_at: datetime
    kind: str
    source_vendor: str
    name: str | None = None
    url: str | None = None
    path: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    referrer: str | None = None  # the URL the visitor came from, as the browser reported it
    # The campaign it came with (Segment's `context.campaign`, Calendly's UTM `tracking`): any of name (the
    # campaign id), source, medium, term, content, each a string; {} when none came.
    campaign: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ConsentRecord:
    """A change of what a person said about a consent purpose, as one source (Segment, a CRM, a capture) said
    it: kept under the contact whose event said it (merges never move it), append-only like the engagement log.
    `record_id` is `<event id>:<purpose>`, so a redelivered event writes nothing new."""

    record_id: str
    contact_id: str
    purpose: str
    granted: bool
    at: datetime  # when the person said so (the event's time), which is when it applies from
    source: str  # the consent policy's vendor (`segment`, `hubspot`, `salesforce`) or `capture`
    detail: str  # what said so, e.g. `hs_email_optout = true`
    recorded_at: datetime  # when the hub learned it
    event_id: str | None = None  # the canonical event that said it; None for a capture


@dataclass(frozen=True)
class Transition:
    contact_id: str
    at: datetime
    from_stage: Stage
    to_stage: Stage
    cause: str


@dataclass(frozen=True)
class ScoreChange:
    contact_id: str
    at: datetime
    previous: float | None
    total: float
    fit: float
    engagement: float
    cause: str


@dataclass
class MergeRecord:
    merge_id: str
    survivor_id: str
    absorbed_id: str
    at: datetime
    cause: str
    undone_at: datetime | None = None


@dataclass
class Account:
    account_id: str
    created_at: datetime
    updated_at: datetime
    domain: str | None = None
    profile: ContactProfile = field(default_factory=ContactProfile)
    identities: set[str] = field(default_factory=set)
    version: int = 0
