"""Who a change is about: the contact a set of identities belongs to (found, created, or the survivor of the
merge they call for), and the contact a merged-away id now lives in."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from shared.events.lead_events import LeadEventType
from shared.leads.contact_events import lead_event
from shared.leads.identity import normalize_email
from shared.leads.model import Contact, Identity, MergeRecord, Transition
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

        An anonymous id (a device's, a browser's) is a weak identity: it merges an anonymous visitor's history
        into the person who identifies on it, but never two people known by another email or another id of the
        same vendor (one laptop, two colleagues). When the identities this change names identify a person, an
        anonymous id held by someone else known moves to that person (the one who identified last): its claim
        is taken over, and the older holder keeps what it did with it so far, but no longer the id.

        `owners`: the identities' owners as the caller read them in this attempt (`LeadRepository.owners` of
        `found`), so they are read once."""
        if owners is None:
            owners = self._repo.owners(found)
        heads: dict[str, Contact] = {}
        reached: dict[str, set[str]] = {}  # head id -> the keys of `found` that reach it
        dangling: dict[str, str] = {}
        for key, owner in owners.items():
            head = self.head(owner, change, missing_ok=True)
            if head is None:  # a claim whose contact was never written: taken over below
                dangling[key] = owner
            else:
                heads[head.contact_id] = head
                reached.setdefault(head.contact_id, set()).add(key)
        person = {identity.key for identity in found if not identity.is_anonymous}
        known = set(person)
        joined: list[Contact] = []
        apart: list[Contact] = []  # known as someone else, reached only through an anonymous id
        for head in sorted(heads.values(), key=lambda h: (_weakly(h, reached), _survivor_rank(h))):
            if _weakly(head, reached) and _someone_else(_held(head), known):
                apart.append(head)
                continue
            joined.append(head)
            known |= _held(head)
        if not joined:
            contact = Contact(self._new_id(), created_at=at, updated_at=at)
            change.contacts[contact.contact_id] = contact
            change.created.add(contact.contact_id)
        else:
            ordered = sorted(joined, key=_survivor_rank)
            contact = ordered[0]
            for other in ordered[1:]:
                if other.contact_id not in contact.never_merge:  # an unmerge keeps them apart for good
                    self.merge(contact, other, cause, at, change)
        left: set[str] = set()  # anonymous ids that stay with a holder this change does not identify
        for holder in apart:
            for key in reached[holder.contact_id]:
                if person:  # the person identifying now takes the device's id over
                    change.claims[key] = IdentityClaim(Identity.parse(key), contact.contact_id, owners[key])
                    holder.identities.discard(key)
                else:
                    left.add(key)
        for identity in found:
            if identity.key not in owners or identity.key in dangling:
                change.claims[identity.key] = IdentityClaim(identity, contact.contact_id, dangling.get(identity.key))
        contact.identities |= {identity.key for identity in found} - left
        strongest = found[0].key
        taken_over = {key for holder in apart for key in reached[holder.contact_id]}
        kept = strongest in owners and strongest not in dangling and strongest not in taken_over
        origin = owners[strongest] if kept else contact.contact_id
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
        """`absorbed` becomes part of `survivor`: its identities, profile, handoffs, and how far the person got (the
        furthest stage, the earliest start of nurturing, the latest recycle). Its members become the survivor's
        (each keeps the contact it was merged into, so an unmerge knows whose they are); its logs stay its own."""
        absorbed.merged_into = survivor.contact_id
        survivor.members.extend([absorbed.contact_id, *absorbed.members])
        absorbed.members = []
        survivor.identities |= absorbed.identities
        for origin, part in absorbed.profiles.items():
            survivor.profiles.setdefault(origin, part)
        for level, when in absorbed.handoffs.items():
            survivor.handoffs.setdefault(level, when)
        survivor.lead_since = _earliest(survivor.lead_since, absorbed.lead_since)
        survivor.recycled_at = _latest(survivor.recycled_at, absorbed.recycled_at)
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
        if absorbed.stage.rank > survivor.stage.rank:
            self._reach(survivor, absorbed, change)

    def _reach(self, survivor: Contact, absorbed: Contact, change: ChangeSet) -> None:
        """The survivor takes the absorbed contact's later stage, as any stage move is recorded: a transition in its
        history and a lead.stage_changed. It entered it when the absorbed one did (never before the stage it
        leaves was entered, so its history stays in order). The person's lead.mql_reached was told already, under
        the absorbed contact, so it is not told again."""
        now = self._now()
        happened = _latest(absorbed.stage_entered_at or now, survivor.stage_entered_at) or now
        reason = f"merged with {absorbed.contact_id}, which was {absorbed.stage.value}"
        previous = survivor.stage
        change.entries.append(Transition(survivor.contact_id, happened, previous, absorbed.stage, reason))
        survivor.stage, survivor.stage_entered_at = absorbed.stage, happened
        change.events.append(
            lead_event(
                survivor,
                LeadEventType.STAGE_CHANGED,
                absorbed.stage.value,
                now,
                reason=reason,
                previous_stage=previous.value,
                cause_event_id=None,
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
        if contact.merged_into is None:
            change.profiles_read[contact_id] = dict(contact.profile.values)
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


def _earliest(first: datetime | None, second: datetime | None) -> datetime | None:
    return min(first, second) if first is not None and second is not None else first or second


def _latest(first: datetime | None, second: datetime | None) -> datetime | None:
    return max(first, second) if first is not None and second is not None else first or second


def _weakly(head: Contact, reached: Mapping[str, set[str]]) -> bool:
    """Whether only anonymous ids of the change reach the contact."""
    return all(Identity.parse(key).is_anonymous for key in reached[head.contact_id])


def _held(contact: Contact) -> set[str]:
    """The identity keys a contact (with its members) holds, its profile's email among them."""
    email = normalize_email(contact.email)
    return contact.identities | ({Identity("email", email).key} if email else set())


def _someone_else(held: set[str], known: set[str]) -> bool:
    """Whether identities `held` name another person than `known`: an email, or an id of a vendor, on both sides
    with no value in common. (Phone numbers are left out: one person has several, and people share them.)"""

    def by_kind(keys: set[str]) -> dict[str, set[str]]:
        kinds: dict[str, set[str]] = {}
        for key in keys:
            identity = Identity.parse(key)
            if not identity.is_anonymous and identity.kind != "phone":
                kinds.setdefault(identity.kind, set()).add(identity.value)
        return kinds

    mine, theirs = by_kind(held), by_kind(known)
    return any(mine[kind].isdisjoint(theirs[kind]) for kind in mine.keys() & theirs.keys())
