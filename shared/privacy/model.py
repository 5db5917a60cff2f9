"""The privacy domain's records: the person an erasure or an export is about, what identifies them inside
free-form data, and the receipt of an erasure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from shared.privacy.subject_keys import contact_key, email_key, subject_hash

# The stores an erasure and an export visit, in the receipt's order (the tables of the catalog that hold
# personal data, and the CRMs through the sync).
STORES = ("webhook-deliveries", "leads", "handoffs", "attribution", "success", "crm-sync", "crm")


class ErasureStatus(StrEnum):
    IN_PROGRESS = "in_progress"  # kept before the stores are visited: a run that failed half way is run again
    COMPLETED = "completed"


@dataclass(frozen=True)
class Person:
    """Everyone the hub knows as this email: the contact that holds it and the contacts merged with it (survivor
    first), every identity they claimed (`<kind>#<value>`), their accounts, and what names them in free text."""

    email: str  # normalized (`subject_keys.normalized_email`)
    contact_ids: tuple[str, ...] = ()
    identity_keys: tuple[str, ...] = ()  # the email's key first
    account_ids: tuple[str, ...] = ()
    names: tuple[str, ...] = ()  # full name, last name, first name: what free text may call them
    # Subject hashes found on an earlier run (the receipt's): identities whose clear value the hub no longer
    # holds once erased, still looked up for data that arrived since.
    known_subjects: tuple[str, ...] = ()
    event_ids: frozenset[str] = frozenset()  # canonical event ids of the person's stored deliveries

    @property
    def subject_keys(self) -> tuple[str, ...]:
        keys = [email_key(self.email) or f"email#{self.email}", *self.identity_keys]
        keys += [contact_key(contact_id) for contact_id in self.contact_ids]
        return tuple(dict.fromkeys(keys))

    @property
    def subjects(self) -> tuple[str, ...]:
        """The hashed keys: tombstones, the delivery log's subject index."""
        hashed = [subject_hash(key) for key in self.subject_keys]
        return tuple(dict.fromkeys([*hashed, *self.known_subjects]))

    @property
    def needles(self) -> Needles:
        values = [key.partition("#")[2] for key in self.identity_keys if not key.startswith("email#")]
        names = [name for name in self.names if len(name.strip()) >= 3]
        return Needles(
            exact=frozenset(v.casefold() for v in [*values, *self.contact_ids] if v),
            contained=tuple(dict.fromkeys([self.email.casefold(), *(n.strip().casefold() for n in names)])),
        )


@dataclass(frozen=True)
class Needles:
    """What identifies a person inside free-form data: values that are theirs when a whole value equals one
    (vendor ids, phone numbers, contact ids), and text that is theirs wherever it appears (the email, the name)."""

    exact: frozenset[str] = frozenset()
    contained: tuple[str, ...] = ()

    def strong(self, text: str) -> bool:
        """An identifier (not only a name): enough to say a record is about the person."""
        folded = text.strip().casefold()
        return folded in self.exact or (bool(self.contained) and self.contained[0] in folded)

    def found_in(self, text: str) -> bool:
        folded = text.casefold()
        return folded.strip() in self.exact or any(needle in folded for needle in self.contained)


@dataclass
class ErasureReceipt:
    """What an erasure did, kept under the hash of the email (never the email): the same request again answers
    it, with what a later run erased added."""

    erasure_id: str
    status: ErasureStatus
    requested_at: datetime
    completed_at: datetime | None = None
    erased: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STORES, 0))
    subjects: tuple[str, ...] = ()
    contact_ids: tuple[str, ...] = ()
    runs: int = 0

    def add(self, counts: Mapping[str, int]) -> None:
        for store, count in counts.items():
            self.erased[store] = self.erased.get(store, 0) + count

    def remember(self, subjects: Iterable[str], contact_ids: Iterable[str]) -> None:
        self.subjects = tuple(dict.fromkeys([*self.subjects, *subjects]))
        self.contact_ids = tuple(dict.fromkeys([*self.contact_ids, *contact_ids]))


@dataclass(frozen=True)
class CrmRecordRef:
    """A CRM's record of the person, to be deleted there: `kind` the hub's (contact), `crm_id` the CRM's; or, with
    `crm_id` empty, the one a create sent but never answered holds: found by `match_field` = one of `match_values`."""

    crm: str
    kind: str
    crm_id: str
    match_field: str | None = None
    match_values: tuple[str, ...] = ()
