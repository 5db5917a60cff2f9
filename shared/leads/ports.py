"""What the lead domain needs from storage. The DynamoDB adapter and the in-memory fake both honour it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from shared.leads.model import (
    Account,
    Contact,
    EngagementRecord,
    Identity,
    MergeRecord,
    ScoreChange,
    Stage,
    Transition,
)

HistoryEntry = Transition | ScoreChange | MergeRecord


class ConcurrentUpdate(Exception):
    """Someone saved the contact since it was read; read it again and redo the change."""


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

    def claim(self, contact_id: str, identities: Sequence[Identity]) -> dict[str, str]:
        """Claim the unclaimed identities for the contact; returns those another contact holds."""
        ...

    def contact(self, contact_id: str) -> Contact | None: ...

    def contacts(self, contact_ids: Sequence[str]) -> dict[str, Contact]: ...

    def save(self, contact: Contact, *entries: HistoryEntry, create: bool = False) -> None:
        """Store the contact and history entries atomically. `contact.version` is the version read (0 for a
        new contact); the stored version becomes one more. Raises ConcurrentUpdate when it moved on."""
        ...

    def save_many(self, contacts: Sequence[Contact], *entries: HistoryEntry) -> None:
        """Like `save` for several contacts at once (merges touch two), all or nothing."""
        ...

    def append(self, record: EngagementRecord) -> bool:
        """Add an engagement to its contact's append-only log; False when that event is already there."""
        ...

    def engagements(self, contact_ids: Sequence[str]) -> list[EngagementRecord]: ...

    def history(self, contact_id: str) -> History: ...

    def by_stage(self, stage: Stage, min_score: float | None, limit: int, cursor: str | None) -> ContactPage:
        """Contacts in a stage (that are not merged away), highest score first."""
        ...

    def contact_ids(self) -> Iterator[str]:
        """Every contact that is not merged into another, for rescoring and simulation."""
        ...

    def account(self, account_id: str) -> Account | None: ...

    def account_owner(self, identity: Identity) -> str | None: ...

    def save_account(self, account: Account, identities: Sequence[Identity]) -> None: ...
