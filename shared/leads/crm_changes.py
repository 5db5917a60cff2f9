"""A CRM's change to a lead's profile, as the CRM sync decided it: the one way CRM values of the fields the sync
keeps in step reach a known lead.

Why not straight from the CRM's webhook: only the CRM sync can tell a person's change from the CRM's echo of the
hub's own earlier write (it remembers what it wrote), and only it applies the mappings' rules (last modified
wins, prefer the CRM unless blank, a person for critical conflicts). Applied straight, an echo of an older value
that arrives after a newer one (a capture's title, written out, echoed back after the person identified with a
better one) would win on time. So the lead processor takes a synced field from a CRM webhook only while the
sync cannot key the lead yet (it has no email: a CRM record the hub is just learning of); after that, from the
sync's `sync.field_changed`.

An account's owner is the exception, taken straight from the CRM's webhook about the account (`AccountOwners`):
the hub never writes an account's owner to a CRM, so there is no echo to tell apart, and the webhook that makes
the account in the hub is often the one naming its owner (HubSpot reports a new company's owner as a property
change of it), which the sync, deciding on the same event at the same time, may not know the account by yet."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # the catalog imports this module, and the canonical events import the catalog
    from shared.events.canonical import CanonicalEvent

# The lead profile fields a CRM sync mapping may keep in step (email is not one of them here: it is an identity,
# which the lead processor resolves from every event; a CRM's email change is the sync's critical-field case).
SYNCABLE_PROFILE_FIELDS = frozenset({"first_name", "last_name", "company", "job_title", "phone", "country"})
CRM_VENDORS = frozenset({"hubspot", "salesforce"})
RECORD_PREFIX = "contact:"
ACCOUNT_OWNER = "owner"  # the account profile field holding its owner: a rep id, or `<crm>:<user id>`


@dataclass(frozen=True)
class CrmFieldChange:
    lead_id: str
    field: str
    value: str | None
    changed_at: datetime  # when it was changed in the CRM: the profile field's time
    crm: str
    event_id: str  # the sync event's id: applied once


def synced_profile_fields(inbound_contact_fields: Iterable[str]) -> frozenset[str]:
    """The profile fields the CRM sync owns, from the hub fields its contact mappings take in from a CRM."""
    return frozenset(inbound_contact_fields) & SYNCABLE_PROFILE_FIELDS


def lead_id_of_record(record: str | None) -> str | None:
    """`contact:<lead id>` -> the lead id; None for another kind of record."""
    if record is None or not record.startswith(RECORD_PREFIX):
        return None
    return record.removeprefix(RECORD_PREFIX) or None


@dataclass(frozen=True)
class AccountOwnerChange:
    owner: str  # a rep id, or `<crm>:<user id>` for a CRM user the mappings name no rep for
    changed_at: datetime  # when it was changed in the CRM: last modified wins
    crm: str


class AccountOwners(Protocol):
    def owner_change(self, event: CanonicalEvent) -> AccountOwnerChange | None:
        """The owner a CRM's account event names, None when it names none (or blanks it: kept)."""
        ...
