"""What CRM sync needs from a CRM: write a batch of records, read records back, and list what changed.

A `CrmClient` speaks one CRM (HubSpot through `hubspot-api-client`, Salesforce through `simple-salesforce`)
in that CRM's own object and field names; the mappings (`config/crm-mappings.json`) translate to and from
the hub's. Values cross this port as the CRM holds them: text (or None for blank), already transformed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

CrmName = Literal["hubspot", "salesforce"]
# the hub's names; each CRM has its own (contacts / Lead ...). An expansion is an account's expansion signal, which
# the hub creates in each CRM as the mappings say (a task, or an opportunity) and never reads back
ObjectKind = Literal["contact", "account", "deal", "expansion"]


class RateLimited(Exception):
    """The CRM refused the call for its rate limit (HubSpot 429, Salesforce REQUEST_LIMIT_EXCEEDED): nothing of
    the call was applied; try again after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class CrmUnavailable(Exception):
    """The CRM could not be reached or answered 5xx: nothing of the call is known to be applied; try later."""


class CrmRefused(Exception):
    """The CRM refused the call as a whole for a reason a retry cannot fix (bad credentials, 4xx other than
    rate limits): the writes go to the dead-letter queue with this message."""


@dataclass(frozen=True)
class OutboundWrite:
    """One record to create or update. `crm_id` known: update it. Otherwise `match_on` (CRM field, value), e.g.
    ("email", "ana@example.com"): update the record that has it, or create one. `fields` maps CRM field names
    to values (None clears the field). `associate` links the record to others by their CRM ids, e.g.
    {"account": "<company id>"}; `dissociate` removes links the hub made before (a contact moved to another
    account: its old company), after `associate` has made the new ones (the contact is never left without one).
    `crm_object`: the CRM's object when the mappings choose it (an expansion is a task or an opportunity), else
    None: the client's own for the kind. `match_also`: other values of `match_on`'s field the record may hold in
    the CRM (sent in an earlier create whose answer was lost, before the hub's value changed): the record that has
    `match_on`'s value is updated, else one that has any of these (the newest first), else one is created."""

    write_id: str  # the caller's id for this write; the result carries it back
    kind: ObjectKind
    fields: Mapping[str, str | None]
    crm_id: str | None = None
    match_on: tuple[str, str] | None = None
    associate: Mapping[ObjectKind, str] = field(default_factory=dict)
    crm_object: str | None = None
    dissociate: Mapping[ObjectKind, str] = field(default_factory=dict)
    match_also: tuple[str, ...] = ()


@dataclass(frozen=True)
class WriteResult:
    """What became of one write. `ok`: applied, `crm_id` is the record's id in the CRM (new when created).
    Not ok: `error` says why, `retryable` whether trying again may succeed (a validation error will not)."""

    write_id: str
    ok: bool
    crm_id: str | None = None
    created: bool = False
    error: str | None = None
    retryable: bool = False


@dataclass(frozen=True)
class CrmSnapshot:
    """A record as the CRM holds it: the fields asked for (absent ones as None) and when it last changed."""

    kind: ObjectKind
    crm_id: str
    fields: Mapping[str, str | None]
    modified_at: datetime


class CrmClient(Protocol):
    name: CrmName
    max_batch: int  # writes per call the client sends at most (HubSpot 100, Salesforce composite 200)

    def write(self, writes: Sequence[OutboundWrite]) -> list[WriteResult]:
        """Apply the writes in as few calls as the CRM allows (all of one kind per batch call); one result per
        write, in order. A record the CRM refuses fails alone (partial success). Raises RateLimited /
        CrmUnavailable / CrmRefused when a call fails as a whole before anything is known to be applied."""
        ...

    def read(self, kind: ObjectKind, crm_ids: Sequence[str], fields: Sequence[str]) -> list[CrmSnapshot]:
        """The records that exist among `crm_ids` (missing ones are left out), with `fields`."""
        ...

    def changed_since(
        self, kind: ObjectKind, since: datetime, fields: Sequence[str], limit: int = 200
    ) -> list[CrmSnapshot]:
        """Records of `kind` modified after `since`, oldest change first, at most `limit` (reconciliation)."""
        ...


# The hub's side ------------------------------------------------------------------------------------------------


class StaleRecord(Exception):
    """The synced record is not the version the writer read (another writer stored one since)."""


@dataclass(frozen=True)
class Link:
    """A CRM record known to be the hub's record `record_key`."""

    crm: CrmName
    kind: ObjectKind
    crm_id: str
    record_key: str


@dataclass(frozen=True)
class ChangeNotice:
    """A message on the sync queue: `record_key` changed and `crm` may need to hear of it. It carries no
    values: the writer reads the record as it is when it writes (so notices may arrive in any order)."""

    crm: CrmName
    record_key: str
    version: int
    throttled: int = 0  # how often a rate-limited CRM sent it back to wait already
    held: int = 0  # how often the writer held it back to fill a batch (`shared.crm.pacing`): once at most
    claimed: int = 0  # how often another writer's create claim on the record sent it back to wait already


class ChangeQueue(Protocol):
    def send(self, notices: Sequence[ChangeNotice]) -> None:
        """Queue the notices (all or raise: the caller's event is retried)."""
        ...


@dataclass(frozen=True)
class HubProfile:
    """A hub record's own fields (a lead's profile, an account's name and domain), each with when it changed."""

    values: Mapping[str, tuple[str | None, datetime]]


class HubDirectory(Protocol):
    """The hub's other domains, read-only: who a CRM record is, and what the hub knows of a record."""

    def lead_for(self, crm: CrmName, crm_id: str, email: str | None) -> str | None:
        """The lead (hub contact id) a CRM contact is, by the identities the lead domain linked, or by email."""
        ...

    def account_for(self, crm: CrmName, crm_id: str) -> str | None: ...

    def contact_profile(self, lead_id: str) -> HubProfile | None: ...

    def score_factors(self, lead_id: str) -> str | None:
        """The lead's top score factors in words ("pricing page visits +20; title VP +15; ...")."""
        ...

    def account_profile(self, account_id: str) -> HubProfile | None: ...

    def account_contacts(self, account_id: str) -> list[str]:
        """The leads (hub contact ids, not merged away) linked to the account, sorted; may lag a moment."""
        ...
