"""A CRM's change to a lead's profile, as the CRM sync decided it: the one way CRM values of the fields the sync
keeps in step reach a known lead.

Why not straight from the CRM's webhook: only the CRM sync can tell a person's change from the CRM's echo of the
hub's own earlier write (it remembers what it wrote), and only it applies the mappings' rules (last modified
wins, prefer the CRM unless blank, a person for critical conflicts). Applied straight, an echo of an older value
that arrives after a newer one (a capture's title, written out, echoed back after the person identified with a
better one) would win on time. So the lead processor takes a synced field from a CRM webhook only while the
sync cannot key the lead yet (it has no email: a CRM record the hub is just learning of); after that, from the
sync's `sync.field_changed`.

The email is one of those fields. A CRM's email change reaches a known lead only as the sync decided it:
applied when the CRM alone changed it (`sync.field_changed`), held while it is a critical conflict waiting for a
person (nothing changes, the lead included), and a person's choice once they settle it (`sync.conflict_resolved`
of the field). The address becomes the lead's identity the same way, with the change (claimed, or merged with the
lead holding it, as an event naming both would): the CRM's webhook names a lead it knows by the CRM's id alone,
so an address held in conflict is no one's, and merges no one, unless a person chooses it.

A contact's lifecycle stage is one too, when the mappings take it in (`contact.lifecycle_stage`): a stage a person
set in a CRM (sales marking a contact SQL) moves the lead forward to it, as the hub's own evidence would, with a
`lead.stage_changed` naming the CRM; an earlier stage is not applied (stages are milestones: the hub never moves a
lead back on its own, and a CRM's reset does not either; the note says so).

A contact's account link is one too, when the mappings sync it (`contact.account`, from the CRMs whose field it
names: HubSpot's `associatedcompanyid`; a Salesforce Lead has none): a known lead takes the account a CRM's
webhook names only through the sync's decision once it has an account, so a move both sides made waits for a
person, lead included (a lead with none yet takes it from the webhook, and the sync then sees it as the hub's).

An account's owner is the exception, taken straight from the CRM's webhook about the account (`AccountOwners`):
the hub never writes an account's owner to a CRM, so there is no echo to tell apart, and the webhook that makes
the account in the hub is often the one naming its owner (HubSpot reports a new company's owner as a property
change of it), which the sync, deciding on the same event at the same time, may not know the account by yet."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # the catalog imports this module, and the canonical (and sync) events import the catalog
    from shared.events.canonical import CanonicalEvent
    from shared.events.sync_events import SyncEvent

# The lead profile fields a CRM sync mapping may keep in step: the email too (a critical field: a CRM's change of
# it that conflicts with the hub's waits for a person, and the lead must not take it meanwhile)
SYNCABLE_PROFILE_FIELDS = frozenset({"email", "first_name", "last_name", "company", "job_title", "phone", "country"})
CRM_VENDORS = frozenset({"hubspot", "salesforce"})
RECORD_PREFIX = "contact:"
# The sync events that change a lead's synced field (`crm_field_change`); the lead processor's rule matches them
FIELD_CHANGED = "sync.field_changed"
CONFLICT_RESOLVED = "sync.conflict_resolved"
ACCOUNT_OWNER = "owner"  # the account profile field holding its owner: a rep id, or `<crm>:<user id>`
# The contact's account link, a field the CRM sync may keep in step (critical): its value is the hub's account id,
# or a CRM's account id the hub did not know yet (`hubspot:501`)
ACCOUNT_LINK = "account"
# The contact's lifecycle stage, a field the CRM sync may keep in step (critical): its value is the hub's stage name
# (the mapping translates the CRMs' picklist values); a stage a CRM moves it to moves the lead forward, never back
LIFECYCLE_STAGE = "lifecycle_stage"


@dataclass(frozen=True)
class CrmFieldChange:
    lead_id: str
    field: str
    value: str | None
    changed_at: datetime  # when it was changed in the CRM: the profile field's time
    crm: str
    event_id: str  # the sync event's id: applied once
    resolved_by: str | None = None  # a person who settled a conflict on the field with this value


def crm_field_change(event: SyncEvent) -> CrmFieldChange | None:
    """What a sync event changes on a lead: a CRM's change the sync applied to a `contact:` record (timed when the
    CRM made it), or a person's resolution of a conflict on one (timed when they resolved it: the record's value
    is theirs as of then, whatever the two sides' times were). None for any other event, or one naming no field."""
    lead_id = lead_id_of_record(event.record)
    if lead_id is None or event.field is None or event.crm is None:
        return None
    if event.event_type == FIELD_CHANGED and event.changed_at is not None:
        return CrmFieldChange(lead_id, event.field, event.value, event.changed_at, event.crm, event.event_id)
    if event.event_type == CONFLICT_RESOLVED:
        resolver = event.actor or "a person"
        return CrmFieldChange(lead_id, event.field, event.value, event.occurred_at, event.crm, event.event_id, resolver)
    return None


def synced_profile_fields(inbound_contact_fields: Iterable[str], linked_from: Iterable[str] = ()) -> frozenset[str]:
    """The profile fields (and the lifecycle stage) the CRM sync owns, from the hub fields its contact mappings take
    in from a CRM; and, when a mapping takes a contact's account link in from `linked_from` (the CRMs whose field
    it names), the account (`ACCOUNT_LINK`, which `crm_field_changed` applies) and that link from each of them
    (`account_link`)."""
    crms = frozenset(linked_from) & CRM_VENDORS
    links = {ACCOUNT_LINK, *(account_link(crm) for crm in crms)} if crms else set()
    return (frozenset(inbound_contact_fields) & (SYNCABLE_PROFILE_FIELDS | {LIFECYCLE_STAGE})) | links


def account_link(vendor: str) -> str:
    """The name in the synced fields saying the sync decides a contact's account link from `vendor`'s webhooks."""
    return f"{ACCOUNT_LINK}@{vendor}"


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
