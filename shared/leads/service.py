"""The lead domain's use cases: resolve who an event is about, keep its engagement log, rescore, move it
through the lifecycle, and say so on the bus.

Ordering and failure: every change is computed from what is stored into one `ChangeSet`, its lead events
are published, and the change is committed all or nothing (contacts with an optimistic version check, the
identities they claim, the engagement they log, the accounts they touch). Publishing before committing makes
lead events at-least-once (their ids are deterministic, so a redo publishes the same ids); a condition that
no longer holds at commit makes the use case read again and redo. The contacts a lost commit created had been
told of already: the redo stores them (the contact it creates, or merged into the one it finds), so no consumer
of the bus is left holding a contact the lead store never had.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from shared.errors import InvalidInput
from shared.events.canonical import CanonicalEvent, EventType
from shared.events.lead_events import LeadEvent, LeadEventType
from shared.leads.accounts import account_for, domain_identity, link_contact
from shared.leads.capture import LeadCapture
from shared.leads.consent import (
    ConsentStatement,
    ConsentTimeline,
    new_records,
    statements_of_capture,
    statements_of_event,
)
from shared.leads.consent_policy import ConsentPolicy, shipped_consent_policy
from shared.leads.crm_changes import ACCOUNT_OWNER, CRM_VENDORS, AccountOwners, CrmFieldChange
from shared.leads.engagements import engagement_record
from shared.leads.identity import company_domain, identities, identities_of_event, vendor_identity
from shared.leads.inputs import ACCOUNT_EVENTS, CONTACT_EVENTS
from shared.leads.lifecycle import next_stages
from shared.leads.model import (
    ConsentRecord,
    Contact,
    ContactProfile,
    EngagementRecord,
    Identity,
    MergeRecord,
    ScoreChange,
    Stage,
    Transition,
)
from shared.leads.ports import ChangeSet, ConcurrentUpdate, IdentityClaim, LeadRepository
from shared.leads.profile_updates import account_updates, profile_updates
from shared.leads.scoring_inputs import scoring_engagement, scoring_profile, snapshot
from shared.leads.scoring_models import ScoringModels
from shared.scoring.engine import Engagement, Profile, score
from shared.scoring.model import ScoringModel
from shared.scoring.results import Score
from shared.webhooks.ports import Clock, EventPublisher

MAX_ATTEMPTS = 5
# The contacts an earlier attempt of the running use case created and told the bus of, then lost its commit (a
# capture and an identify of one new person at once): its redo stores them (`_resolve`). Set by `_retrying` for
# its attempts, which are closures over each use case's arguments.
_TOLD_OF: ContextVar[tuple[str, ...]] = ContextVar("told_of", default=())
CLOCK_SKEW = timedelta(minutes=5)  # a form's clock may run this far ahead of the hub's
_HANDOFF_STAGES = {Stage.LEAD, Stage.MQL}


class LeadNotFound(LookupError):
    pass


class CannotUnmerge(ValueError):
    pass


class LostAfterTelling(ConcurrentUpdate):
    """A commit lost to a concurrent one after its lead events were published, naming contacts it created."""

    def __init__(self, told_of: Sequence[str]) -> None:
        super().__init__(f"lost the commit of lead(s) {', '.join(told_of)} already told of")
        self.told_of = tuple(told_of)


@dataclass(frozen=True)
class Outcome:
    contact_id: str | None
    created: bool = False
    published: tuple[LeadEvent, ...] = ()
    note: str = ""


class LeadService:
    def __init__(
        self,
        repository: LeadRepository,
        publisher: EventPublisher,
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
        self._publisher = publisher
        self._models = models
        self._clock = clock
        self._new_id = new_id
        self._consent = consent or shipped_consent_policy()
        self._crm_synced_fields = crm_synced_fields
        self._account_owners = account_owners

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
            contact, origin = self._resolve(found, cause, now, change)
            own = contact.own_profile(origin)
            for name, value in lead.profile_values().items():
                own.set(name, value, now)
            own.attributes.update(lead.attributes)
            if lead.consent is not None:
                said = statements_of_capture(replace(lead.consent, at=min(answered or now, now)), now)
                self._record_consent(contact, origin, said, change, now, record_id=f"capture-{self._new_id()}")
            link_contact(self._repo, change, contact, None, now, self._new_id)
            self._rescore(contact, change, model, cause=cause, cause_event=None, cause_key=capture_key)
            return self._commit(change, contact.contact_id)

        return self._retrying(attempt)

    def handoff_accepted(self, lead_id: str, handoff_event_id: str) -> Outcome:
        """Sales accepted the lead's handoff (the handoff domain's handoff.accepted): the lead becomes an SQL
        (stages never move back; a lead merged away moves its survivor)."""

        def attempt() -> Outcome:
            contact = self._repo.contact(lead_id)
            while contact is not None and contact.merged_into is not None:
                contact = self._repo.contact(contact.merged_into)
            if contact is None:
                return Outcome(None, note=f"lead {lead_id} is not known")
            change = ChangeSet()
            model = self._models.current()
            result = self._score(contact, model, self._clock.now())
            self._move(contact, change, result, None, self._clock.now(), accepted_by_sales=handoff_event_id)
            if not change.entries:
                return Outcome(contact.contact_id, note=f"already {contact.stage.value}")
            contact.updated_at = self._clock.now()
            change.contacts[contact.contact_id] = contact
            return self._commit(change, None)

        return self._retrying(attempt)

    def crm_field_changed(self, change_of: CrmFieldChange) -> Outcome:
        """A CRM's change the CRM sync decided wins (not an echo of the hub's, not a conflict a person holds):
        the lead's field takes it, timed when the CRM made it, and the lead is rescored. A lead merged away
        changes its survivor; a blank is not applied (a CRM's blank does not erase what a person told the hub)."""
        if change_of.field not in self._crm_synced_fields:
            return Outcome(None, note=f"{change_of.field} is no profile field the CRM sync keeps in step")
        value = (change_of.value or "").strip()
        if not value:
            return Outcome(None, note=f"{change_of.crm} blanked {change_of.field}: kept")
        model = self._models.current()

        def attempt() -> Outcome:
            change = ChangeSet()
            contact = self._head(change_of.lead_id, change, missing_ok=True)
            if contact is None:
                return Outcome(None, note=f"lead {change_of.lead_id} is not known")
            if self._repo.applied("contact", contact.contact_id, change_of.event_id):
                return Outcome(contact.contact_id, note="duplicate event; applied once already")
            own = contact.own_profile(contact.contact_id)
            if not own.set(change_of.field, value, change_of.changed_at):
                return Outcome(contact.contact_id, note=f"{change_of.field} already holds it, or a later value")
            change.applied.append(("contact", contact.contact_id, change_of.event_id))
            cause = f"{change_of.crm} change of {change_of.field}, through the CRM sync ({change_of.event_id})"
            self._rescore(contact, change, model, cause=cause, cause_event=None)
            return self._commit(change, contact.contact_id)

        return self._retrying(attempt)

    def rescore(self, contact_id: str, cause: str = "rescored", model: ScoringModel | None = None) -> Outcome:
        """Score a contact again from its log as of now (model changes, the nurture clock, undone merges)."""
        in_force = model or self._models.current()

        def attempt() -> Outcome:
            change = ChangeSet()
            contact = self._load(contact_id, change)
            self._rescore(contact, change, in_force, cause=cause, cause_event=None)
            return self._commit(change, contact.contact_id)

        return self._retrying(attempt)

    def unmerge(self, contact_id: str, other_id: str | None = None) -> Outcome:
        """Undo a merge: `contact_id` is either side; `other_id` picks the merge when a survivor has several.
        Both contacts get back their own identities, profile fields, logs and scores, and never merge again."""
        model = self._models.current()

        def attempt() -> Outcome:
            change = ChangeSet()
            contact = self._load(contact_id, change)
            if contact.merged_into:
                survivor, absorbed = self._load(contact.merged_into, change), contact
            else:
                if not contact.members:
                    raise CannotUnmerge(f"lead {contact_id} was never merged with another")
                if other_id is not None and other_id not in contact.members:
                    raise CannotUnmerge(f"lead {other_id} is not merged into {contact_id}")
                survivor, absorbed = contact, self._load(other_id or contact.members[-1], change)
            now = self._clock.now()
            survivor.members.remove(absorbed.contact_id)
            survivor.identities -= absorbed.identities
            # the absorbed side takes back what its own events set, including since the merge
            own = survivor.profiles.pop(absorbed.contact_id, None) or absorbed.profiles.get(absorbed.contact_id)
            absorbed.profiles = {absorbed.contact_id: own or ContactProfile()}
            absorbed.merged_into = None
            survivor.never_merge.add(absorbed.contact_id)
            absorbed.never_merge.add(survivor.contact_id)
            for merge in self._repo.history(survivor.contact_id).merges:
                if merge.absorbed_id == absorbed.contact_id and merge.undone_at is None:
                    change.entries.append(replace(merge, undone_at=now))
            for side, other in ((survivor, absorbed), (absorbed, survivor)):
                change.events.append(
                    self._lead_event(
                        side,
                        LeadEventType.UNMERGED,
                        f"unmerge:{now.isoformat()}",
                        reason="merge undone",
                        other_lead_id=other.contact_id,
                    )
                )
                self._rescore(side, change, model, cause=f"unmerged from {other.contact_id}", cause_event=None)
            return self._commit(change, survivor.contact_id)

        return self._retrying(attempt)

    def find_by_email(self, email: str) -> Contact | None:
        """The lead an email belongs to today: its owner, or the contact that owner was merged into."""
        found = identities(email)
        if not found:
            return None
        owner = self._repo.owners(found[:1]).get(found[0].key)
        return self._head(owner, ChangeSet(), missing_ok=True) if owner else None

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
        self,
        contact: Contact,
        pending: Sequence[EngagementRecord] = (),
        as_of: datetime | None = None,
        pending_consents: Sequence[ConsentRecord] = (),
        consent: ConsentTimeline | None = None,
    ) -> tuple[Profile, list[Engagement]]:
        """What scoring reads as of `as_of` (default now): the profile (with its account's firmographics, and
        whether nurture is withheld) and the engagement log (each tracked engagement the person's consent
        withholds marked so), with the engagements and consent changes this change is about to log."""
        moment = as_of or self._clock.now()
        ids = [contact.contact_id, *contact.members]
        records = [*self._repo.engagements(ids), *(record for record in pending if record.contact_id in ids)]
        consent = consent or self.consent_of(contact, pending_consents)
        account = self._repo.account(contact.account_id) if contact.account_id else None
        profile = replace(scoring_profile(contact, account), nurture_withheld=consent.nurture_withheld(moment))
        return profile, [scoring_engagement(record, consent.withheld_reason(record, moment)) for record in records]

    def consent_of(self, contact: Contact, pending: Sequence[ConsentRecord] = ()) -> ConsentTimeline:
        """The contact's consent: its own log and its merged contacts', with the changes this change will log."""
        ids = [contact.contact_id, *contact.members]
        records = [*self._repo.consents(ids), *(record for record in pending if record.contact_id in ids)]
        return ConsentTimeline(self._consent, records)

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
        strongest = self._repo.owners(found[:1]).get(found[0].key)
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
        contact, origin = self._resolve(found, cause, event.received_at, change)
        account_before = contact.account_id
        own = contact.own_profile(origin)
        updates = profile_updates(event)
        if event.source_vendor in CRM_VENDORS and contact.email:
            # the CRM sync keys this lead (it has an email): it decides the synced fields (echoes, rules) and
            # tells this processor through sync.field_changed (`crm_field_changed`)
            updates = {name: value for name, value in updates.items() if name not in self._crm_synced_fields}
        profile_changed = [own.set(name, value, event.occurred_at) for name, value in updates.items()]
        self._record_consent(contact, origin, said, change, self._clock.now())
        named_account = vendor_identity(event.subject.account_id)
        link_contact(self._repo, change, contact, named_account, self._clock.now(), self._new_id)
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
        self._rescore(contact, change, model, cause=cause, cause_event=event)
        return self._commit(change, contact.contact_id)

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
        contact, origin = self._resolve(person, cause, event.received_at, change)
        if event.subject.email:
            contact.own_profile(origin).set("email", event.subject.email, event.occurred_at)
        self._record_consent(contact, origin, statements_of_event(event, self._consent), change, now)
        contact.account_id = account.account_id
        self._rescore(contact, change, model, cause=cause, cause_event=event)
        return self._commit(change, contact.contact_id)

    def _resolve(self, found: Sequence[Identity], cause: str, at: datetime, change: ChangeSet) -> tuple[Contact, str]:
        """The one contact these identities belong to (found, created, or the survivor of a merge), and the
        contact whose own part of the profile and log the event's data goes to: the owner of the strongest
        identity, so an unmerge gives a visitor back what it did before it was known."""
        owners = self._repo.owners(found)
        heads: dict[str, Contact] = {}
        dangling: dict[str, str] = {}
        for key, owner in owners.items():
            head = self._head(owner, change, missing_ok=True)
            if head is None:  # a claim whose contact was never written: taken over below
                dangling[key] = owner
            else:
                heads[head.contact_id] = head
        # Contacts an earlier attempt told the bus of and never stored: every consumer of its events (the CRM sync's
        # record, a handoff) names them. The first is the contact this creates, any other is stored merged into
        # the one found, so the person is every contact ever told of (an erasure finds them all).
        told_of = [c for c in _TOLD_OF.get() if c not in change.contacts]
        if not heads:
            contact = Contact(told_of.pop(0) if told_of else self._new_id(), created_at=at, updated_at=at)
            change.contacts[contact.contact_id] = contact
            change.created.add(contact.contact_id)
        else:
            ordered = sorted(heads.values(), key=_survivor_rank)
            contact = ordered[0]
            for other in ordered[1:]:
                if other.contact_id not in contact.never_merge:  # an unmerge keeps them apart for good
                    self._merge(contact, other, cause, at, change)
        for told in told_of:
            change.contacts[told] = Contact(told, created_at=at, updated_at=at)
            change.created.add(told)
            self._merge(contact, change.contacts[told], cause, at, change)
        for identity in found:
            if identity.key not in owners or identity.key in dangling:
                change.claims[identity.key] = IdentityClaim(identity, contact.contact_id, dangling.get(identity.key))
        contact.identities |= {identity.key for identity in found}
        strongest = found[0].key
        origin = owners[strongest] if strongest in owners and strongest not in dangling else contact.contact_id
        return contact, origin

    def _merge(self, survivor: Contact, absorbed: Contact, cause: str, at: datetime, change: ChangeSet) -> None:
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
            self._lead_event(
                survivor, LeadEventType.MERGED, record.merge_id, reason=cause, other_lead_id=absorbed.contact_id
            )
        )

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

    def _score(
        self,
        contact: Contact,
        model: ScoringModel,
        as_of: datetime,
        pending: Sequence[EngagementRecord] = (),
        pending_consents: Sequence[ConsentRecord] = (),
    ) -> Score:
        profile, engagements = self.inputs(contact, pending, as_of, pending_consents)
        return score(model, profile, engagements, as_of)  # compiled once per model, then cached

    def _rescore(
        self,
        contact: Contact,
        change: ChangeSet,
        model: ScoringModel,
        cause: str,
        cause_event: CanonicalEvent | None,
        cause_key: str | None = None,
    ) -> None:
        """`cause_key`: what tells this change's lead events apart when no event caused it (default: `cause`)."""
        now = self._clock.now()
        result = self._score(contact, model, now, change.engagements, change.consents)
        previous = contact.score
        contact.score = snapshot(result)
        contact.updated_at = now
        cause_id = cause_event.event_id if cause_event else None
        if previous is None or previous.total != contact.score.total:
            change.entries.append(
                ScoreChange(
                    contact.contact_id,
                    now,
                    previous.total if previous else None,
                    contact.score.total,
                    contact.score.fit,
                    contact.score.engagement,
                    cause,
                )
            )
            change.events.append(
                self._lead_event(
                    contact,
                    LeadEventType.SCORE_CHANGED,
                    f"{cause_id or cause_key or cause}:{result.total_hundredths}",
                    reason=cause,
                    previous_score=previous.total if previous else None,
                    cause_event_id=cause_id,
                )
            )
        self._move(contact, change, result, cause_event, now)
        self._request_handoff(contact, change, result, cause_id, now)
        change.contacts[contact.contact_id] = contact

    def _move(
        self,
        contact: Contact,
        change: ChangeSet,
        result: Score,
        cause_event: CanonicalEvent | None,
        now: datetime,
        accepted_by_sales: str | None = None,
    ) -> None:
        cause_id = cause_event.event_id if cause_event else accepted_by_sales
        moves = next_stages(
            contact.stage,
            identified=contact.is_identified,
            mql=result.mql,
            event_type=cause_event.event_type.value
            if cause_event
            else "handoff.accepted"
            if accepted_by_sales
            else None,
            event_data=cause_event.data if cause_event else None,
        )
        # The history says when the person did what moved them (a late or backfilled event keeps its own time:
        # attribution's lead-creation touch and stage velocity read it), never before the stage they leave was
        # entered, so stages stay in order; lead_since runs from when the hub learned it (the nurture handoff
        # counts from then).
        happened = min(now, cause_event.occurred_at) if cause_event else now
        if contact.stage_entered_at is not None:
            happened = max(happened, contact.stage_entered_at)
        for move in moves:
            change.entries.append(Transition(contact.contact_id, happened, contact.stage, move.to, move.cause))
            previous_stage = contact.stage
            contact.stage, contact.stage_entered_at = move.to, happened
            if move.to is Stage.LEAD:
                contact.lead_since = now
            change.events.append(
                self._lead_event(
                    contact,
                    LeadEventType.STAGE_CHANGED,
                    move.to.value,
                    reason=move.cause,
                    previous_stage=previous_stage.value,
                    cause_event_id=cause_id,
                )
            )
            if move.to is Stage.MQL:
                change.events.append(
                    self._lead_event(
                        contact, LeadEventType.MQL_REACHED, "mql", reason=move.cause, cause_event_id=cause_id
                    )
                )

    def _request_handoff(
        self, contact: Contact, change: ChangeSet, result: Score, cause_id: str | None, now: datetime
    ) -> None:
        """Sales are handed identified people only: a trigger on someone without an email waits (it is in the
        log) and fires when they identify, if it is still within the model's lookback."""
        if contact.stage not in _HANDOFF_STAGES or contact.merged_into is not None or not contact.email:
            return
        for trigger in result.handoff:
            if trigger.level not in contact.handoffs:
                contact.handoffs[trigger.level] = now
                change.events.append(
                    self._lead_event(
                        contact,
                        LeadEventType.HANDOFF_REQUESTED,
                        trigger.level,
                        priority=trigger.level,
                        reason=trigger.reason,
                        cause_event_id=trigger.event_id or cause_id,
                    )
                )
                return  # the most urgent new trigger; sales need one request, not three

    def _lead_event(self, contact: Contact, kind: LeadEventType, discriminator: str, **fields: Any) -> LeadEvent:
        snapshot_ = contact.score
        return LeadEvent(
            event_id=LeadEvent.id_for(contact.contact_id, kind, discriminator),
            event_type=kind,
            occurred_at=self._clock.now(),
            lead_id=contact.contact_id,
            email=contact.email,
            stage=contact.stage.value,
            score=snapshot_.total if snapshot_ else 0.0,
            fit_score=snapshot_.fit if snapshot_ else 0.0,
            engagement_score=snapshot_.engagement if snapshot_ else 0.0,
            model_version=snapshot_.model_version if snapshot_ else None,
            **fields,
        )

    def _commit(self, change: ChangeSet, contact_id: str | None) -> Outcome:
        if change.events:
            failed = self._publisher.publish(change.events).failed
            if failed:
                raise RuntimeError(f"the bus refused {len(failed)} lead event(s): {next(iter(failed.values()))}")
        try:
            self._repo.commit(change)
        except ConcurrentUpdate as lost:
            told_of = sorted({e.lead_id for e in change.events} & change.created)
            if told_of:
                raise LostAfterTelling(told_of) from lost
            raise
        created = contact_id is not None and contact_id in change.created
        return Outcome(contact_id, created=created, published=tuple(change.events))

    def _retrying(self, attempt: Callable[[], Outcome]) -> Outcome:
        told_of: tuple[str, ...] = ()
        for n in range(MAX_ATTEMPTS):
            token = _TOLD_OF.set(told_of)
            try:
                return attempt()
            except LostAfterTelling as lost:
                if n == MAX_ATTEMPTS - 1:
                    raise
                told_of = tuple(dict.fromkeys([*told_of, *lost.told_of]))
            except ConcurrentUpdate:
                if n == MAX_ATTEMPTS - 1:
                    raise
            finally:
                _TOLD_OF.reset(token)
        raise AssertionError("unreachable")

    def _load(self, contact_id: str, change: ChangeSet) -> Contact:
        if contact_id in change.contacts:
            return change.contacts[contact_id]
        contact = self._repo.contact(contact_id)
        if contact is None:
            raise LeadNotFound(f"no lead {contact_id}")
        change.contacts[contact_id] = contact
        return contact

    def _head(self, contact_id: str, change: ChangeSet, missing_ok: bool = False) -> Contact | None:
        """The contact `contact_id` was merged into (itself if none); None for a missing one if `missing_ok`."""
        try:
            contact = self._load(contact_id, change)
        except LeadNotFound:
            if missing_ok:
                return None
            raise
        seen = {contact_id}
        while contact.merged_into and contact.merged_into not in seen:
            seen.add(contact.merged_into)
            contact = self._load(contact.merged_into, change)
        return contact


def _says_nothing_of_the_person(event: CanonicalEvent, found: Sequence[Identity]) -> bool:
    return (
        event.event_type is EventType.CONTACT_UPSERTED
        and event.source_vendor in ("hubspot", "salesforce")
        and [identity.kind for identity in found] == [event.source_vendor]
        and not profile_updates(event)
        and not event.subject.account_id
    )


def _survivor_rank(contact: Contact) -> tuple[int, datetime, str]:
    """Known people survive anonymous ones; among equals the oldest survives."""
    return (0 if contact.is_identified else 1, contact.created_at, contact.contact_id)
