"""The lead domain's use cases: resolve who an event is about, keep its engagement log, rescore, move it
through the lifecycle, and say so on the bus. Who a change is about is `shared.leads.resolution`'s to say;
what a contact's log scores and where that takes it, `shared.leads.progression`'s; this module applies events
and commits.

Ordering and failure: every change is computed from what is stored into one `ChangeSet` and committed all or
nothing (contacts with an optimistic version check, the identities they claim, the engagement they log, the
accounts they touch) together with the lead events it makes, which the repository keeps in its outbox for the
lead publisher to put on the bus: an event goes out exactly when its change is stored, never for a change that
was lost. A condition that no longer holds at commit makes the use case read again and redo, telling no one of
the attempt it drops.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from shared.errors import InvalidInput
from shared.events.canonical import CanonicalEvent, EventType
from shared.events.lead_events import LeadEventType
from shared.leads.accounts import account_for, domain_identity, link_contact, linked
from shared.leads.capture import LeadCapture
from shared.leads.consent import (
    ConsentStatement,
    ConsentTimeline,
    new_records,
    statements_of_capture,
    statements_of_event,
)
from shared.leads.consent_policy import ConsentPolicy, shipped_consent_policy
from shared.leads.contact_events import as_left, lead_event, read_as_either
from shared.leads.crm_changes import (
    ACCOUNT_OWNER,
    CRM_VENDORS,
    AccountOwners,
    account_link,
)
from shared.leads.crm_field_changes import CrmFieldChanges
from shared.leads.engagements import engagement_record
from shared.leads.identity import company_domain, identities, identities_of_event, normalize_email, vendor_identity
from shared.leads.inputs import ACCOUNT_EVENTS, CONTACT_EVENTS
from shared.leads.model import (
    ConsentRecord,
    Contact,
    Identity,
)
from shared.leads.outcome import Outcome
from shared.leads.ports import ChangeSet, ConcurrentUpdate, LeadRepository
from shared.leads.profile_updates import account_updates, profile_updates
from shared.leads.progression import LeadProgression
from shared.leads.resolution import ContactResolver
from shared.leads.scoring_models import ScoringModels
from shared.scoring.engine import Engagement, Profile, score
from shared.scoring.model import ScoringModel
from shared.scoring.results import Score
from shared.webhooks.ports import Clock

MAX_ATTEMPTS = 5
CLOCK_SKEW = timedelta(minutes=5)  # a form's clock may run this far ahead of the hub's


class CannotUnmerge(ValueError):
    pass


class LeadService(CrmFieldChanges):
    def __init__(
        self,
        repository: LeadRepository,
        models: ScoringModels,
        clock: Clock,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
        consent: ConsentPolicy | None = None,
        crm_synced_fields: frozenset[str] = frozenset(),
        account_owners: AccountOwners | None = None,
    ) -> None:
        """`crm_synced_fields`: the profile fields the CRM sync keeps in step (`shared.leads.crm_changes`); a
        known lead takes CRM values of these only from the sync (`crm_field_changed`), never from a webhook.
        `account_owners`: what reads an account's owner from a CRM's account event (none: owners are not kept)."""
        self._repo = repository
        self._models = models
        self._clock = clock
        self._new_id = new_id
        self._consent = consent or shipped_consent_policy()
        self._crm_synced_fields = crm_synced_fields
        self._account_owners = account_owners
        self._resolver = ContactResolver(repository, new_id, clock.now)
        self._progression = LeadProgression(repository, self._consent, clock.now)

    # ------------------------------------------------------------------------------------------ use cases

    def handle(self, event: CanonicalEvent) -> Outcome:
        """Apply a canonical event from the bus to the contact (and account) it is about."""
        if event.event_type not in CONTACT_EVENTS | ACCOUNT_EVENTS:
            return Outcome(None, note=f"{event.event_type} does not concern leads")
        model = self._models.current()
        if event.event_type is EventType.ACCOUNT_UPSERTED:
            return self._retrying(lambda: self._account_event(event, model))
        found = identities_of_event(event)
        if not found:
            return Outcome(None, note="the event names no one the hub can identify")
        return self._retrying(lambda: self._contact_event(event, found, model))

    def capture(self, lead: LeadCapture) -> Outcome:
        """A lead from a form or a partner: create the contact, or update the one this person already is."""
        found = identities(lead.email, lead.phone)
        model = self._models.current()
        # What this capture's lead events are told apart by: a capture has no event id of its own, and the same
        # person captured again with another title may move the score back to a total it had before (the same
        # event id would be taken for a redelivery by every consumer). Drawn once, so a redo keeps the ids.
        capture_key = f"capture:{uuid.uuid4().hex}"

        def attempt() -> Outcome:
            now = self._clock.now()
            answered = lead.consent.at if lead.consent is not None else None
            if answered is not None and answered > now + CLOCK_SKEW:
                raise InvalidInput(f"consent.at: {answered.isoformat()} is in the future")
            change = ChangeSet()
            cause = f"lead captured from {lead.source}"
            contact, origin = self._resolver.resolve(found, cause, now, change)
            own = contact.own_profile(origin)
            for name, value in lead.profile_values().items():
                own.set(name, value, now)
            own.attributes.update(lead.attributes)
            if lead.consent is not None:
                said = statements_of_capture(replace(lead.consent, at=min(answered or now, now)), now)
                self._record_consent(contact, origin, said, change, now, record_id=f"capture-{self._new_id()}")
            link_contact(self._repo, change, contact, None, now, self._new_id)
            self._progression.rescore(contact, change, model, cause=cause, cause_event=None, cause_key=capture_key)
            return self._commit(change, contact.contact_id)

        return self._retrying(attempt)

    def handoff_accepted(self, lead_id: str, handoff_event_id: str) -> Outcome:
        """Sales accepted the lead's handoff (the handoff domain's handoff.accepted): the lead becomes an SQL
        (stages never move back; a lead merged away moves its survivor)."""

        def attempt() -> Outcome:
            contact = self._survivor(lead_id)
            if contact is None:
                return Outcome(None, note=f"lead {lead_id} is not known")
            change = ChangeSet()
            model = self._models.current()
            result = self._progression.score(contact, model, self._clock.now())
            self._progression.move(contact, change, result, None, self._clock.now(), accepted_by_sales=handoff_event_id)
            if not change.entries:
                return Outcome(contact.contact_id, note=f"already {contact.stage.value}")
            contact.updated_at = self._clock.now()
            change.contacts[contact.contact_id] = contact
            return self._commit(change, None)

        return self._retrying(attempt)

    def _survivor(self, lead_id: str) -> Contact | None:
        """The lead, or the one it was merged into (as stored now); None for an unknown one."""
        contact = self._repo.contact(lead_id)
        while contact is not None and contact.merged_into is not None:
            contact = self._repo.contact(contact.merged_into)
        return contact

    def handoff_recycled(self, lead_id: str, at: datetime) -> Outcome:
        """Sales handed the lead back to marketing (the handoff domain's handoff.recycled, at `at`): a buying
        signal after that moment hands it off again, at a level it was handed off at before (a lead merged away
        marks its survivor)."""

        def attempt() -> Outcome:
            contact = self._survivor(lead_id)
            if contact is None:
                return Outcome(None, note=f"lead {lead_id} is not known")
            if contact.recycled_at is not None and contact.recycled_at >= at:
                return Outcome(contact.contact_id, note="recycled already")
            contact.recycled_at = at
            contact.updated_at = self._clock.now()
            change = ChangeSet()
            change.contacts[contact.contact_id] = contact
            return self._commit(change, None)

        return self._retrying(attempt)

    def _only_by_domain(self, contact: Contact, change: ChangeSet) -> bool:
        """Whether the contact is on its work domain's account, holding only hub-made identities (no vendor's id):
        the account the hub inferred, that no CRM or vendor chose, so not a link the hub chose either."""
        domain = domain_identity(company_domain(contact.email))
        if domain is None or contact.account_id is None:
            return False
        owner = change.account_claims.get(domain.key) or self._repo.account_owners([domain]).get(domain.key)
        if owner != contact.account_id:
            return False
        account = change.accounts.get(owner) or self._repo.account(owner)
        return account is not None and all(Identity.parse(key).kind == domain.kind for key in account.identities)

    def rescore(self, contact_id: str, cause: str = "rescored", model: ScoringModel | None = None) -> Outcome:
        """Score a contact again from its log as of now (model changes, the nurture clock, undone merges)."""
        in_force = model or self._models.current()

        def attempt() -> Outcome:
            change = ChangeSet()
            contact = self._resolver.load(contact_id, change)
            self._progression.rescore(contact, change, in_force, cause=cause, cause_event=None)
            return self._commit(change, contact.contact_id)

        return self._retrying(attempt)

    def unmerge(self, contact_id: str, other_id: str | None = None) -> Outcome:
        """Undo a merge: `contact_id` is either side; `other_id` picks the merge when a survivor has several (by
        default the last one made into it). The contact merged away is taken out of the one it is part of now
        (its survivor, or the contact that survivor was merged into since) with everything merged into it (the
        members whose merges run through it): its side gets back their identities, profile fields, logs and
        scores, the survivor keeps the rest, and the two never merge again."""
        model = self._models.current()

        def attempt() -> Outcome:
            change = ChangeSet()
            contact = self._resolver.load(contact_id, change)
            if contact.merged_into:
                absorbed = contact
                head = self._head_of(absorbed, change)
                ancestors = self._ancestors(absorbed, change)
                if other_id is not None and other_id not in ancestors:
                    raise CannotUnmerge(f"lead {contact_id} is not merged into {other_id}")
            else:
                if not contact.members:
                    raise CannotUnmerge(f"lead {contact_id} was never merged with another")
                if other_id is not None and other_id not in contact.members:
                    raise CannotUnmerge(f"lead {other_id} is not merged into {contact_id}")
                head = contact
                absorbed = self._resolver.load(other_id, change) if other_id else self._last_merged(contact, change)
            parent = absorbed.merged_into
            if parent is None:
                raise CannotUnmerge(f"lead {absorbed.contact_id} is not merged into another")
            # The side that comes back is told what its profile became (`told_profile` in its rescore), against
            # both what reads of it showed while merged (the head's combined profile) and its own profile as it
            # was merged away: a consumer may hold either.
            change.profiles_read[absorbed.contact_id] = read_as_either(
                change.profiles_read.get(head.contact_id, dict(head.profile.values)), dict(absorbed.profile.values)
            )
            now = self._clock.now()
            side = self._subtree(head, absorbed)
            side_ids = {absorbed.contact_id, *side}
            absorbed.members = [member for member in head.members if member in side]
            head.members = [member for member in head.members if member not in side_ids]
            # the identities go with the contacts that claimed them
            keys = head.identities | absorbed.identities
            owners = self._repo.owners([Identity.parse(key) for key in sorted(keys)])
            absorbed.identities = {key for key in keys if owners.get(key) in side_ids}
            head.identities -= absorbed.identities
            # the absorbed side takes back what its own events set, including since the merge
            parts = {origin: head.profiles.pop(origin, None) or absorbed.profiles.get(origin) for origin in side_ids}
            absorbed.profiles = {origin: part for origin, part in parts.items() if part is not None}
            absorbed.own_profile(absorbed.contact_id)
            absorbed.merged_into = None
            for apart in {head.contact_id, parent}:
                absorbed.never_merge.add(apart)
                self._resolver.load(apart, change).never_merge.add(absorbed.contact_id)
            for merge in self._repo.history(parent).merges:
                if merge.absorbed_id == absorbed.contact_id and merge.undone_at is None:
                    change.entries.append(replace(merge, undone_at=now))
            for one, other in ((head, absorbed), (absorbed, head)):
                change.events.append(
                    lead_event(
                        one,
                        LeadEventType.UNMERGED,
                        f"unmerge:{now.isoformat()}",
                        now,
                        reason="merge undone",
                        other_lead_id=other.contact_id,
                    )
                )
                self._progression.rescore(
                    one, change, model, cause=f"unmerged from {other.contact_id}", cause_event=None
                )
            return self._commit(change, head.contact_id)

        return self._retrying(attempt)

    def _head_of(self, contact: Contact, change: ChangeSet) -> Contact:
        head = self._resolver.head(contact.contact_id, change)
        assert head is not None  # not missing_ok: a missing one raises LeadNotFound
        return head

    def _ancestors(self, contact: Contact, change: ChangeSet) -> list[str]:
        """The contacts `contact` was merged into, the one it was merged into first."""
        found: list[str] = []
        at: Contact | None = contact
        while at is not None and at.merged_into is not None and at.merged_into not in {contact.contact_id, *found}:
            found.append(at.merged_into)
            at = change.contacts.get(at.merged_into) or self._repo.contact(at.merged_into)
        return found

    def _last_merged(self, head: Contact, change: ChangeSet) -> Contact:
        """The contact last merged into `head` itself (its members are listed oldest merge first, each followed by
        those that were merged into it before)."""
        members = self._repo.contacts(head.members)
        for member_id in reversed(head.members):
            member = members.get(member_id)
            if member is not None and member.merged_into == head.contact_id:
                return self._resolver.load(member_id, change)
        raise CannotUnmerge(f"no lead is merged into {head.contact_id} itself")

    def _subtree(self, head: Contact, absorbed: Contact) -> set[str]:
        """The members of `head` whose merges run through `absorbed` (merged into it, or into one merged into it).
        Read, not changed: they stay merged into the contact they were merged into."""
        parents = {cid: member.merged_into for cid, member in self._repo.contacts(head.members).items()}
        subtree: set[str] = set()
        for member_id in head.members:
            seen = {member_id}
            parent = parents.get(member_id)
            while parent is not None and parent not in seen and parent not in (head.contact_id, absorbed.contact_id):
                seen.add(parent)
                parent = parents.get(parent)
            if parent == absorbed.contact_id and member_id != absorbed.contact_id:
                subtree.add(member_id)
        return subtree

    def find_by_email(self, email: str) -> Contact | None:
        """The lead an email belongs to today: its owner, or the contact that owner was merged into."""
        found = identities(email)
        if not found:
            return None
        owner = self._repo.owners(found[:1]).get(found[0].key)
        return self._resolver.head(owner, ChangeSet(), missing_ok=True) if owner else None

    def score_of(
        self, contact: Contact, as_of: datetime | None = None, consent: ConsentTimeline | None = None
    ) -> Score:
        """The contact's score with its breakdown, from its log (and its merged contacts' logs), by the model it
        was last scored with, so an explanation always matches the score the stage lists show. `consent`: the
        contact's consent as the caller read it (so what it shows and what the score honoured are one read)."""
        scored_with = contact.score.model_version if contact.score else None
        model = (self._models.version(scored_with) if scored_with else None) or self._models.current()
        moment = as_of or self._clock.now()
        profile, engagements = self.inputs(contact, as_of=moment, consent=consent)
        return score(model, profile, engagements, moment)

    def inputs(
        self, contact: Contact, as_of: datetime | None = None, consent: ConsentTimeline | None = None
    ) -> tuple[Profile, list[Engagement]]:
        """What scoring reads of the contact as of `as_of` (default now): see `LeadProgression.inputs`."""
        return self._progression.inputs(contact, as_of=as_of, consent=consent)

    def consent_of(self, contact: Contact, pending: Sequence[ConsentRecord] = ()) -> ConsentTimeline:
        """The contact's consent: its own log and its merged contacts', with the changes this change will log."""
        return self._progression.consent_of(contact, pending)

    def nurture_withheld(self, contact: Contact) -> str | None:
        """Why the contact is not nurtured now (its consent), or None when it is."""
        return self.consent_of(contact).nurture_withheld(self._clock.now())

    @property
    def consent_policy(self) -> ConsentPolicy:
        return self._consent

    @property
    def model(self) -> ScoringModel:
        """The model in force."""
        return self._models.current()

    @property
    def models(self) -> ScoringModels:
        return self._models

    @property
    def repository(self) -> LeadRepository:
        return self._repo

    # ---------------------------------------------------------------------------------------- internals

    def _contact_event(self, event: CanonicalEvent, found: list[Identity], model: ScoringModel) -> Outcome:
        # An event's data goes to the owner of its strongest identity (`_resolve`'s origin), which claims that
        # identity in the same commit and keeps the claim when it is merged into another contact: so whether the
        # event was applied before is one read under that owner, whatever merged since.
        owners = self._repo.owners(found)  # all of them at once: the resolver below takes them as read
        found, owners = self._crm_identities(event, found, owners)
        strongest = owners.get(found[0].key)
        is_engagement = engagement_record(event, strongest or "") is not None
        if strongest is not None and is_engagement and self._repo.has_engagement(strongest, event.event_id):
            return Outcome(strongest, note="duplicate engagement; scored once already")
        if strongest is not None and not is_engagement and self._repo.applied("contact", strongest, event.event_id):
            return Outcome(strongest, note="duplicate event; applied once already")
        said = statements_of_event(event, self._consent)
        states_consent = bool(new_records(said, (), "", self._clock.now()))  # as it would for a new contact
        if strongest is None and not is_engagement and not states_consent and _says_nothing_of_the_person(event, found):
            # A CRM's bare record creation (HubSpot's contact.creation names only its id): a contact made of it
            # would be an empty visitor merged away by the next property change that names the person
            return Outcome(None, note="a CRM record with nothing known of its person yet; not a contact")
        change = ChangeSet()
        cause = f"{event.source_vendor} {event.vendor_event_type} {event.vendor_event_id or event.event_id}"
        contact, origin = self._resolver.resolve(found, cause, event.received_at, change, owners=owners)
        account_before = contact.account_id
        own = contact.own_profile(origin)
        updates = profile_updates(event)
        if event.source_vendor in CRM_VENDORS and contact.email:
            # the CRM sync keys this lead (it has an email): it decides the synced fields (echoes, rules, a
            # critical conflict held for a person, the email's included) and tells this processor through
            # sync.field_changed and sync.conflict_resolved (`crm_field_changed`); the webhook's CRM id still
            # names the lead (resolved above), its new address does not (`_crm_identities`)
            updates = {name: value for name, value in updates.items() if name not in self._crm_synced_fields}
        profile_changed = [own.set(name, value, event.occurred_at) for name, value in updates.items()]
        self._record_consent(contact, origin, said, change, self._clock.now())
        named_account = vendor_identity(event.subject.account_id)
        # When the CRM sync keys this lead and decides its account link from that CRM (a critical field: a move both
        # sides made waits for a person), a lead with an account takes the one the webhook names only through
        # sync.field_changed and sync.conflict_resolved (`crm_field_changed`), never straight from the webhook; a
        # lead with none yet (new, or of a free mailbox) is linked from it as before, and the sync then sees that
        # account as the hub's (the sync may have taken the webhook before the lead existed, and dropped it)
        if (
            named_account is None
            or not contact.email
            or not contact.account_id
            or account_link(event.source_vendor) not in self._crm_synced_fields
        ):
            link_contact(self._repo, change, contact, named_account, self._clock.now(), self._new_id, event.occurred_at)
        elif self._only_by_domain(contact, change):
            # the lead is on the account its email's domain gave it, which no CRM or vendor chose and which is not in
            # that CRM: the webhook's company is the contact's first, linked as before (the sync settles a first
            # company by time the same way, so the two agree)
            link_contact(self._repo, change, contact, named_account, self._clock.now(), self._new_id, event.occurred_at)
        record = engagement_record(event, origin)
        if record is not None:
            change.engagements.append(record)  # logged once: the log is its record of having been applied
        else:
            change.applied.append(("contact", origin, event.event_id))
        nothing_new = (
            event.event_type is EventType.CONTACT_UPSERTED
            and not any(profile_changed)
            and record is None
            and not change.consents
            and contact.account_id == account_before
        )
        if nothing_new and not (change.created or change.claims or change.entries or change.accounts):
            # A CRM telling what the hub knows (its own write coming back, through the CRM sync): rescoring here
            # would only move the score by its decay since, which the sync would write back, and so on.
            return Outcome(contact.contact_id, note="nothing new about the person")
        self._progression.rescore(contact, change, model, cause=cause, cause_event=event)
        return self._commit(change, contact.contact_id)

    def _crm_identities(
        self, event: CanonicalEvent, found: list[Identity], owners: dict[str, str]
    ) -> tuple[list[Identity], dict[str, str]]:
        """The identities a CRM's contact event resolves, and their owners: all of them, but for an email other
        than the lead's on a CRM record the hub knows by its id (that lead having an email). That is the CRM's
        change of the lead's email, which the lead takes (the address claimed, or merged with its holder) only
        as the CRM sync decides it (`crm_field_changed`): resolved here, it would claim the address for the
        lead, or merge the lead with the address's holder, while a critical conflict waits for a person, and
        stay so whatever they chose. Such an event is the lead's by the CRM's id alone. While the CRM's id is
        not known yet, its email finds (or makes) the lead, as it always did: that is how a CRM's record is
        first matched to the hub's lead."""
        if event.source_vendor not in CRM_VENDORS or not found or found[0].kind != "email":
            return found, owners
        email = found[0]
        crm_ids = [identity for identity in found if identity.kind in CRM_VENDORS and identity.key in owners]
        named = [self._resolver.head(owners[identity.key], ChangeSet(), missing_ok=True) for identity in crm_ids]
        if not any(lead is not None and lead.email and normalize_email(lead.email) != email.value for lead in named):
            return found, owners
        return found[1:], {key: owner for key, owner in owners.items() if key != email.key}

    def _account_event(self, event: CanonicalEvent, model: ScoringModel) -> Outcome:
        named = vendor_identity(event.subject.account_id)
        if named is None:
            return Outcome(None, note="account event without an account id")
        updates = account_updates(event)
        domain = updates.pop("domain", None) or company_domain(event.subject.email)
        change = ChangeSet()
        now = self._clock.now()
        found = [i for i in (named, domain_identity(domain)) if i is not None]
        account = account_for(self._repo, change, found, now, self._new_id)
        # recorded under the account it changed (a new one, not stored yet, has applied nothing)
        if account.version and self._repo.applied("account", account.account_id, event.event_id):
            return Outcome(None, note="duplicate account event; applied once already")
        change.applied.append(("account", account.account_id, event.event_id))
        for name, value in updates.items():
            account.profile.set(name, value, event.occurred_at)
        owner = self._account_owners.owner_change(event) if self._account_owners is not None else None
        if owner is not None:
            account.profile.set(ACCOUNT_OWNER, owner.owner, owner.changed_at)  # routes its leads and expansions
        account.updated_at = now
        change.accounts[account.account_id] = account
        person = identities_of_event(event)  # a Segment group's user, a Stripe customer's email
        if not person or (not event.subject.email and not self._repo.owners(person)):
            # no one to link: an account event creates no email-less person
            self._commit(change, None)
            return Outcome(None, note=f"account {account.account_id} updated")
        cause = f"{event.source_vendor} {event.vendor_event_type} {event.vendor_event_id or event.event_id}"
        contact, origin = self._resolver.resolve(person, cause, event.received_at, change)
        if event.subject.email:
            contact.own_profile(origin).set("email", event.subject.email, event.occurred_at)
        self._record_consent(contact, origin, statements_of_event(event, self._consent), change, now)
        linked(contact, account.account_id, event.occurred_at)
        self._progression.rescore(contact, change, model, cause=cause, cause_event=event)
        return self._commit(change, contact.contact_id)

    def _record_consent(
        self,
        contact: Contact,
        origin: str,
        said: Sequence[ConsentStatement],
        change: ChangeSet,
        now: datetime,
        record_id: str | None = None,
    ) -> None:
        """Log, under `origin`, what of `said` changes what its source said last (see shared.leads.consent)."""
        if not said:
            return
        ids = {contact.contact_id, *contact.members}
        log = [*self._repo.consents(sorted(ids)), *(r for r in change.consents if r.contact_id in ids)]
        change.consents.extend(new_records(said, log, origin, now, record_id))

    def _commit(self, change: ChangeSet, contact_id: str | None) -> Outcome:
        # each event tells of its contact as the whole change leaves it (a merge made before the rescore)
        change.events = [
            as_left(event, change.contacts[event.lead_id]) if event.lead_id in change.contacts else event
            for event in change.events
        ]
        self._repo.commit(change)  # the lead events with it, in the repository's outbox
        created = contact_id is not None and contact_id in change.created
        return Outcome(contact_id, created=created, published=tuple(change.events))

    def _retrying(self, attempt: Callable[[], Outcome]) -> Outcome:
        for n in range(MAX_ATTEMPTS):
            try:
                return attempt()
            except ConcurrentUpdate:
                if n == MAX_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")


def _says_nothing_of_the_person(event: CanonicalEvent, found: Sequence[Identity]) -> bool:
    return (
        event.event_type is EventType.CONTACT_UPSERTED
        and event.source_vendor in ("hubspot", "salesforce")
        and [identity.kind for identity in found] == [event.source_vendor]
        and not profile_updates(event)
        and not event.subject.account_id
    )
