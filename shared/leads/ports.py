"""What the lead domain needs from storage. The DynamoDB adapters and the in-memory fakes both honour it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from shared.errors import InvalidInput, TooLarge
from shared.events.lead_events import LeadEvent
from shared.leads.model import (
    Account,
    ConsentRecord,
    Contact,
    EngagementRecord,
    Identity,
    MergeRecord,
    ScoreChange,
    Stage,
    Transition,
)

HistoryEntry = Transition | ScoreChange | MergeRecord
OwnerKind = Literal["contact", "account"]
AppliedEvent = tuple[OwnerKind, str, str]  # (owner kind, contact or account id, canonical event id)


class ConcurrentUpdate(Exception):
    """Someone changed what this change was computed from (a contact's version, an identity's claim, an
    engagement already logged); read again and redo the change."""


class TooLargeToStore(TooLarge):
    """A record would pass the store's item limit; retrying cannot help. The message names what is too big."""


@dataclass(frozen=True)
class IdentityClaim:
    """An identity taken by a contact. `replaces` names a claimant whose contact does not exist (a claim left
    dangling by a failed write of an older version of the hub): the claim is taken over only from it."""

    identity: Identity
    contact_id: str
    replaces: str | None = None


@dataclass
class ChangeSet:
    """Everything one use case writes, committed all or nothing: contacts (each conditioned on the version it
    was read at, new ones on not existing), the identities they claim, the engagements and consent changes they
    log and the events they apply (each conditioned on not being logged yet), the accounts they create or change
    and the accounts' identities, and their history; and the lead events the change makes, which the repository keeps
    in its outbox with the rest, to be put on the bus once committed (deterministic ids)."""

    contacts: dict[str, Contact] = field(default_factory=dict)
    created: set[str] = field(default_factory=set)
    claims: dict[str, IdentityClaim] = field(default_factory=dict)
    engagements: list[EngagementRecord] = field(default_factory=list)
    consents: list[ConsentRecord] = field(default_factory=list)
    accounts: dict[str, Account] = field(default_factory=dict)
    account_claims: dict[str, str] = field(default_factory=dict)  # identity key -> account id
    entries: list[HistoryEntry] = field(default_factory=list)
    events: list[LeadEvent] = field(default_factory=list)
    # The canonical events this change applies that leave no engagement in a log (contact, deal, subscription,
    # survey and account events), as (owner kind, owner id, event id): each is recorded with the change, once,
    # so a redelivery or a replay of it is recognised (`LeadRepository.applied`) and changes nothing.
    applied: list[AppliedEvent] = field(default_factory=list)
    # Not written: each contact's profile values as this change read it (a contact made by the change has none, nor
    # has one merged away when read, unless an unmerge brings it back: `read_as_either`), which the
    # lead.profile_changed of the change is told against (`told_profile`).
    profiles_read: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class History:
    transitions: list[Transition]
    score_changes: list[ScoreChange]
    merges: list[MergeRecord]


@dataclass(frozen=True)
class ContactPage:
    contacts: list[Contact]
    next_cursor: str | None


class LeadRepository(Protocol):
    def owners(self, identities: Sequence[Identity]) -> dict[str, str]:
        """The contact that claimed each identity (by identity key); unclaimed identities are absent."""
        ...

    def contact(self, contact_id: str) -> Contact | None: ...

    def contacts(self, contact_ids: Sequence[str]) -> dict[str, Contact]: ...

    def commit(self, change: ChangeSet) -> None:
        """Write the change all or nothing, its lead events into the outbox the lead publisher puts on the bus
        (published only once the change is stored). Raises ConcurrentUpdate when a condition no longer holds, and
        TooLargeToStore (before writing anything) when a record would not fit. Saved contacts and accounts
        come out with their stored version (one more than read)."""
        ...

    def has_engagement(self, contact_id: str, event_id: str) -> bool:
        """Whether the event is in the contact's engagement log already."""
        ...

    def applied(self, owner_kind: OwnerKind, owner_id: str, event_id: str) -> bool:
        """Whether a change recorded the canonical event as applied to that contact or account already
        (`ChangeSet.applied`)."""
        ...

    def engagements(self, contact_ids: Sequence[str]) -> list[EngagementRecord]: ...

    def consents(self, contact_ids: Sequence[str]) -> list[ConsentRecord]:
        """The consent logs of these contacts (each record under the contact whose event said it)."""
        ...

    def history(self, contact_id: str) -> History: ...

    def by_stage(self, stage: Stage, min_score: float | None, limit: int, cursor: str | None) -> ContactPage:
        """Contacts in a stage (that are not merged away), highest score first."""
        ...

    def contact_ids(self) -> Iterator[str]:
        """Every contact that is not merged into another, for rescoring and simulation."""
        ...

    def account(self, account_id: str) -> Account | None: ...

    def account_contacts(self, account_id: str) -> list[str]:
        """The ids of the account's contacts that are not merged into another, sorted. A merged-away contact
        is reached through its survivor's `members`. May lag the latest commits by a moment (an index read)."""
        ...

    def account_owners(self, identities: Sequence[Identity]) -> dict[str, str]:
        """The account that claimed each identity (by identity key); unclaimed identities are absent."""
        ...


@dataclass(frozen=True)
class AppliedModel:
    """A scoring model as applied to the stored leads: its version, its document and when it was applied."""

    version: str
    document: str
    sha256: str
    applied_at: datetime


class ScoringModelStore(Protocol):
    """Where the model `make rescore` applied is kept, so every function scores and explains with it."""

    def active_version(self) -> str | None:
        """The version last applied, or None when none has been (the shipped model is in force)."""
        ...

    def applied(self, version: str) -> AppliedModel | None: ...

    def apply(self, model: AppliedModel) -> None:
        """Keep the model and make it the active one. A version is immutable: applying a version again with a
        different document raises ModelVersionConflict."""
        ...


class ModelVersionConflict(InvalidInput):
    pass
