"""Who a change is about: the contact a set of identities belongs to (found, created, or the survivor of the
merge they call for), and the contact a merged-away id now lives in."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from shared.events.lead_events import LeadEventType
from shared.leads.contact_events import lead_event
from shared.leads.model import Contact, Identity, MergeRecord
from shared.leads.ports import ChangeSet, IdentityClaim, LeadRepository


class LeadNotFound(LookupError):
    pass


class ContactResolver:
    def __init__(self, repository: LeadRepository, new_id: Callable[[], str], now: Callable[[], datetime]) -> None:
        self._repo = repository
        self._new_id = new_id
        self._now = now

    def resolve(
        self,
        found: Sequence[Identity],
        cause: str,
        at: datetime,
        change: ChangeSet,
        owners: Mapping[str, str] | None = None,
    ) -> tuple[Contact, str]:
        """The one contact these identities belong to (found, created, or the survivor of a merge), and the
        contact whose own part of the profile and log the event's data goes to: the owner of the strongest
        identity, so an unmerge gives a visitor back what it did before it was known.

        `owners`: the identities' owners as the caller read them in this attempt (`LeadRepository.owners` of
        `found`), so they are read once."""
        if owners is None:
            owners = self._repo.owners(found)
        heads: dict[str, Contact] = {}
        dangling: dict[str, str] = {}
        for key, owner in owners.items():
            head = self.head(owner, change, missing_ok=True)
            if head is None:  # a claim whose contact was never written: taken over below
                dangling[key] = owner
            else:
                heads[head.contact_id] = head
        if not heads:
            contact = Contact(self._new_id(), created_at=at, updated_at=at)
            change.contacts[contact.contact_id] = contact
            change.created.add(contact.contact_id)
        else:
            ordered = sorted(heads.values(), key=_survivor_rank)
            contact = ordered[0]
            for other in ordered[1:]:
                if other.contact_id not in contact.never_merge:  # an unmerge keeps them apart for good
                    self.merge(contact, other, cause, at, change)
        for identity in found:
            if identity.key not in owners or identity.key in dangling:
                change.claims[identity.key] = IdentityClaim(identity, contact.contact_id, dangling.get(identity.key))
        contact.identities |= {identity.key for identity in found}
        strongest = found[0].key
        origin = owners[strongest] if strongest in owners and strongest not in dangling else contact.contact_id
        return contact, origin

    def take(self, contact: Contact, identity: Identity, cause: str, at: datetime, change: ChangeSet) -> Contact | None:
        """`contact` (a head) taking `identity` as its own, as an event naming both would make it (`resolve`): the
        contact claims it when no one holds it (or only a claim whose contact was never written); when another
        contact holds it, the two merge (the known, then the oldest, survives) and the survivor is returned. None
        when an unmerge keeps the two apart for good: the identity stays its holder's, and nothing is changed."""
        owner = self._repo.owners([identity]).get(identity.key)
        holder = self.head(owner, change, missing_ok=True) if owner is not None else None
        if holder is None:
            change.claims[identity.key] = IdentityClaim(identity, contact.contact_id, owner)
            contact.identities.add(identity.key)
            return contact
        if holder.contact_id == contact.contact_id:
            contact.identities.add(identity.key)
            return contact
        if holder.contact_id in contact.never_merge or contact.contact_id in holder.never_merge:
            return None
        survivor, absorbed = sorted((contact, holder), key=_survivor_rank)
        self.merge(survivor, absorbed, cause, at, change)
        survivor.identities.add(identity.key)
        return survivor

    def merge(self, survivor: Contact, absorbed: Contact, cause: str, at: datetime, change: ChangeSet) -> None:
        absorbed.merged_into = survivor.contact_id
        survivor.members.extend([absorbed.contact_id, *absorbed.members])
        absorbed.members = []
        survivor.identities |= absorbed.identities
        for origin, part in absorbed.profiles.items():
            survivor.profiles.setdefault(origin, part)
        for level, when in absorbed.handoffs.items():
            survivor.handoffs.setdefault(level, when)
        record = MergeRecord(self._new_id(), survivor.contact_id, absorbed.contact_id, at, cause)
        change.entries.append(record)
        change.events.append(
            lead_event(
                survivor,
                LeadEventType.MERGED,
                record.merge_id,
                self._now(),
                reason=cause,
                other_lead_id=absorbed.contact_id,
            )
        )

    def load(self, contact_id: str, change: ChangeSet) -> Contact:
        """The contact as this change holds it (read once, then the change's copy)."""
        if contact_id in change.contacts:
            return change.contacts[contact_id]
        contact = self._repo.contact(contact_id)
        if contact is None:
            raise LeadNotFound(f"no lead {contact_id}")
        change.contacts[contact_id] = contact
        return contact

    def head(self, contact_id: str, change: ChangeSet, missing_ok: bool = False) -> Contact | None:
        """The contact `contact_id` was merged into (itself if none); None for a missing one if `missing_ok`."""
        try:
            contact = self.load(contact_id, change)
        except LeadNotFound:
            if missing_ok:
                return None
            raise
        seen = {contact_id}
        while contact.merged_into and contact.merged_into not in seen:
            seen.add(contact.merged_into)
            contact = self.load(contact.merged_into, change)
        return contact


def _survivor_rank(contact: Contact) -> tuple[int, datetime, str]:
    """Known people survive anonymous ones; among equals the oldest survives."""
    return (0 if contact.is_identified else 1, contact.created_at, contact.contact_id)
