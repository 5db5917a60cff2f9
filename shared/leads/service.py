"""The lead domain's use cases: resolve who an event is about, keep its engagement log, rescore, move it
through the lifecycle, and say so on the bus.

Ordering and failure: every change is computed from what is stored, published, then saved with an
optimistic version check. Publishing before saving makes lead events at-least-once (their ids are
deterministic, so a redo publishes the same ids); a concurrent save makes the loser read again and redo.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from shared.events.canonical import CanonicalEvent, EventType
from shared.events.lead_events import LeadEvent, LeadEventType
from shared.leads.identity import company_domain, identities, identities_of_event, vendor_identity
from shared.leads.lifecycle import next_stages
from shared.leads.model import (
    Account,
    Contact,
    EngagementRecord,
    Identity,
    MergeRecord,
    ScoreChange,
    ScoreSnapshot,
    Stage,
    Transition,
)
from shared.leads.ports import ConcurrentUpdate, HistoryEntry, LeadRepository
from shared.leads.profile_updates import profile_updates
from shared.scoring.engine import Engagement, Profile, score
from shared.scoring.model import ScoringModel
from shared.scoring.results import Score
from shared.webhooks.ports import Clock, EventPublisher

MAX_ATTEMPTS = 5
_LEAD_EVENT_TYPES = {
    EventType.CONTACT_UPSERTED,
    EventType.ENGAGEMENT_RECORDED,
    EventType.DEAL_STAGE_CHANGED,
    EventType.DEAL_WON,
    EventType.DEAL_LOST,
    EventType.HANDOFF_ACCEPTED,
    EventType.SURVEY_RESPONDED,
}
_HANDOFF_STAGES = {Stage.LEAD, Stage.MQL}


class LeadNotFound(LookupError):
    pass


class CannotUnmerge(ValueError):
    pass


@dataclass(frozen=True)
class LeadCapture:
    email: str
    source: str
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    job_title: str | None = None
    phone: str | None = None
    campaign_id: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    contact_id: str | None
    created: bool = False
    published: tuple[LeadEvent, ...] = ()
    note: str = ""


@dataclass
class _Change:
    """What one use case does to contacts before it is published and saved."""

    contacts: dict[str, Contact] = field(default_factory=dict)
    created: set[str] = field(default_factory=set)
    entries: list[HistoryEntry] = field(default_factory=list)
    events: list[LeadEvent] = field(default_factory=list)


class LeadService:
    def __init__(
        self,
        repository: LeadRepository,
        publisher: EventPublisher,
        model: ScoringModel,
        clock: Clock,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self._repo = repository
        self._publisher = publisher
        self._model = model
        self._compiled = model.compiled()
        self._clock = clock
        self._new_id = new_id

    # ------------------------------------------------------------------------------------------ use cases

    def handle(self, event: CanonicalEvent) -> Outcome:
        """Apply a canonical event from the bus to the contact it is about."""
        if event.event_type is EventType.ACCOUNT_UPSERTED:
            return self._upsert_account(event)
        if event.event_type not in _LEAD_EVENT_TYPES:
            return Outcome(None, note=f"{event.event_type} does not concern leads")
        found = identities_of_event(event)
        if not found:
            return Outcome(None, note="the event names no one the hub can identify")
        cause = f"{event.source_vendor} {event.vendor_event_type} {event.vendor_event_id or event.event_id}"
        return self._retrying(lambda: self._apply_event(event, found, cause))

    def capture(self, lead: LeadCapture) -> Outcome:
        """A lead from a form or a partner: create the contact, or update the one this person already is."""
        found = identities(lead.email, lead.phone)
        now = self._clock.now()

        def attempt() -> Outcome:
            change = _Change()
            contact, _ = self._resolve(found, f"lead captured from {lead.source}", now, change)
            values = {
                "email": found[0].value,
                "first_name": lead.first_name,
                "last_name": lead.last_name,
                "company": lead.company,
                "job_title": lead.job_title,
                "phone": lead.phone,
                "source": lead.source,
                "campaign_id": lead.campaign_id,
            }
            for name, value in values.items():
                contact.profile.set(name, value, now)
            contact.profile.attributes.update(lead.attributes)
            self._link_account(contact)
            self._rescore(contact, change, cause=f"lead captured from {lead.source}", cause_event=None)
            return self._commit(change, contact.contact_id)

        return self._retrying(attempt)

    def rescore(self, contact_id: str, cause: str = "rescored") -> Outcome:
        """Score a contact again from its log as of now (model changes, the nurture clock, undone merges)."""

        def attempt() -> Outcome:
            change = _Change()
            contact = self._load(contact_id, change)
            self._rescore(contact, change, cause=cause, cause_event=None)
            return self._commit(change, contact.contact_id)

        return self._retrying(attempt)

    def unmerge(self, contact_id: str, other_id: str | None = None) -> Outcome:
        """Undo a merge: `contact_id` is either side; `other_id` picks the merge when a survivor has several.
        Both contacts get their own identities, logs and scores back, and are never merged again."""

        def attempt() -> Outcome:
            change = _Change()
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
                self._rescore(side, change, cause=f"unmerged from {other.contact_id}", cause_event=None)
            return self._commit(change, survivor.contact_id)

        return self._retrying(attempt)

    def find_by_email(self, email: str) -> Contact | None:
        """The lead an email belongs to today: its owner, or the contact that owner was merged into."""
        found = identities(email)
        if not found:
            return None
        owner = self._repo.owners(found[:1]).get(found[0].key)
        return self._head(owner, _Change()) if owner else None

    def score_of(self, contact: Contact, as_of: datetime | None = None) -> Score:
        """The contact's score with its breakdown, from its log (and its merged contacts' logs)."""
        profile, engagements = self.inputs(contact)
        return score(self._compiled, profile, engagements, as_of or self._clock.now())

    def inputs(self, contact: Contact) -> tuple[Profile, list[Engagement]]:
        """What scoring reads: the profile (with its account's firmographics) and the engagement log."""
        records = self._repo.engagements([contact.contact_id, *contact.members])
        account = self._repo.account(contact.account_id) if contact.account_id else None
        return _profile(contact, account), [_engagement(record) for record in records]

    @property
    def model(self) -> ScoringModel:
        return self._model

    @property
    def repository(self) -> LeadRepository:
        return self._repo

    # ---------------------------------------------------------------------------------------- internals

    def _apply_event(self, event: CanonicalEvent, found: list[Identity], cause: str) -> Outcome:
        change = _Change()
        contact, origin = self._resolve(found, cause, event.received_at, change)
        for name, value in profile_updates(event).items():
            contact.profile.set(name, value, event.occurred_at)
        if event.event_type is EventType.CONTACT_UPSERTED:  # the events that say where someone works
            self._link_account(contact, event)
        if event.event_type is EventType.ENGAGEMENT_RECORDED and not self._repo.append(_record(event, origin)):
            self._commit_profile_only(change, contact)
            return Outcome(contact.contact_id, note="duplicate engagement; scored once already")
        self._rescore(contact, change, cause=cause, cause_event=event)
        return self._commit(change, contact.contact_id)

    def _resolve(self, found: Sequence[Identity], cause: str, at: datetime, change: _Change) -> tuple[Contact, str]:
        """The one contact these identities belong to (found, created, or the survivor of a merge), and the
        contact an engagement with them is logged under: the owner of the strongest identity, so an unmerge
        gives a visitor back what it did before it was known."""
        owners = self._repo.owners(found)
        heads: dict[str, Contact] = {}
        for owner in dict.fromkeys(owners.values()):
            head = self._head(owner, change)
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
                    self._merge(contact, other, cause, at, change)
        taken = self._repo.claim(contact.contact_id, [i for i in found if i.key not in owners])
        if taken:  # claimed meanwhile by a contact created concurrently: redo with it in view
            raise ConcurrentUpdate(f"identities {', '.join(taken)} were claimed concurrently")
        contact.identities |= {identity.key for identity in found}
        return contact, owners.get(found[0].key, contact.contact_id)

    def _merge(self, survivor: Contact, absorbed: Contact, cause: str, at: datetime, change: _Change) -> None:
        absorbed.merged_into = survivor.contact_id
        survivor.members.extend([absorbed.contact_id, *absorbed.members])
        absorbed.members = []
        survivor.identities |= absorbed.identities
        for name, value in absorbed.profile.values.items():
            survivor.profile.set(name, value, absorbed.profile.updated_at.get(name, absorbed.created_at))
        for level, when in absorbed.handoffs.items():
            survivor.handoffs.setdefault(level, when)
        record = MergeRecord(self._new_id(), survivor.contact_id, absorbed.contact_id, at, cause)
        change.entries.append(record)
        change.events.append(
            self._lead_event(
                survivor, LeadEventType.MERGED, record.merge_id, reason=cause, other_lead_id=absorbed.contact_id
            )
        )

    def _rescore(self, contact: Contact, change: _Change, cause: str, cause_event: CanonicalEvent | None) -> None:
        now = self._clock.now()
        result = self.score_of(contact, now)
        previous = contact.score
        contact.score = _snapshot(result)
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
                    f"{cause_id or cause}:{result.total_hundredths}",
                    reason=cause,
                    previous_score=previous.total if previous else None,
                    cause_event_id=cause_id,
                )
            )
        moves = next_stages(
            contact.stage,
            identified=contact.is_identified,
            mql=result.mql,
            event_type=cause_event.event_type.value if cause_event else None,
            event_data=cause_event.data if cause_event else None,
        )
        for move in moves:
            change.entries.append(Transition(contact.contact_id, now, contact.stage, move.to, move.cause))
            previous_stage = contact.stage
            contact.stage, contact.stage_entered_at = move.to, now
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
        if contact.stage in _HANDOFF_STAGES and contact.merged_into is None:
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
                    break  # the most urgent new trigger; sales need one request, not three
        change.contacts[contact.contact_id] = contact

    def _lead_event(self, contact: Contact, kind: LeadEventType, discriminator: str, **fields: Any) -> LeadEvent:
        snapshot = contact.score
        return LeadEvent(
            event_id=LeadEvent.id_for(contact.contact_id, kind, discriminator),
            event_type=kind,
            occurred_at=self._clock.now(),
            lead_id=contact.contact_id,
            email=contact.email,
            stage=contact.stage.value,
            score=snapshot.total if snapshot else 0.0,
            fit_score=snapshot.fit if snapshot else 0.0,
            engagement_score=snapshot.engagement if snapshot else 0.0,
            model_version=snapshot.model_version if snapshot else None,
            **fields,
        )

    def _commit(self, change: _Change, contact_id: str) -> Outcome:
        if change.events:
            failed = self._publisher.publish(change.events).failed
            if failed:
                raise RuntimeError(f"the bus refused {len(failed)} lead event(s): {next(iter(failed.values()))}")
        contacts = list(change.contacts.values())
        if len(contacts) == 1 and contacts[0].contact_id in change.created:
            self._repo.save(contacts[0], *change.entries, create=True)
        else:
            self._repo.save_many(contacts, *change.entries)
        return Outcome(contact_id, created=contact_id in change.created, published=tuple(change.events))

    def _commit_profile_only(self, change: _Change, contact: Contact) -> None:
        change.contacts[contact.contact_id] = contact
        change.events.clear()
        self._repo.save_many(list(change.contacts.values()), *change.entries)

    def _retrying(self, attempt: Callable[[], Outcome]) -> Outcome:
        for _ in range(MAX_ATTEMPTS - 1):
            try:
                return attempt()
            except ConcurrentUpdate:
                continue
        return attempt()

    def _load(self, contact_id: str, change: _Change) -> Contact:
        if contact_id in change.contacts:
            return change.contacts[contact_id]
        contact = self._repo.contact(contact_id)
        if contact is None:
            raise LeadNotFound(f"no lead {contact_id}")
        change.contacts[contact_id] = contact
        return contact

    def _head(self, contact_id: str, change: _Change) -> Contact:
        contact = self._load(contact_id, change)
        seen = {contact_id}
        while contact.merged_into and contact.merged_into not in seen:
            seen.add(contact.merged_into)
            contact = self._load(contact.merged_into, change)
        return contact

    def _link_account(self, contact: Contact, event: CanonicalEvent | None = None) -> None:
        if contact.account_id:
            return
        candidates = [vendor_identity(event.subject.account_id)] if event else []
        domain = company_domain(contact.email)
        if domain:
            candidates.append(Identity("domain", domain))
        for candidate in candidates:
            if candidate is not None and (owner := self._repo.account_owner(candidate)):
                contact.account_id = owner
                return

    def _upsert_account(self, event: CanonicalEvent) -> Outcome:
        found = [i for i in (vendor_identity(event.subject.account_id),) if i is not None]
        if not found:
            return Outcome(None, note="account event without an account id")
        owner = self._repo.account_owner(found[0])
        now = self._clock.now()
        account = (self._repo.account(owner) if owner else None) or Account(self._new_id(), now, now)
        updates = profile_updates(event)
        name = event.data.get("name") or (event.data.get("fields") or {}).get("Name")
        for key, value in {**updates, "name": name}.items():
            account.profile.set(key, value, event.occurred_at)
        domain = event.data.get("domain") or company_domain(event.subject.email)
        if isinstance(domain, str) and domain:
            account.domain = domain.casefold()
            found.append(Identity("domain", account.domain))
        account.updated_at = now
        self._repo.save_account(account, found)
        return Outcome(None, note=f"account {account.account_id} updated")


def _survivor_rank(contact: Contact) -> tuple[int, datetime, str]:
    """Known people survive anonymous ones; among equals the oldest survives."""
    return (0 if contact.is_identified else 1, contact.created_at, contact.contact_id)


def _record(event: CanonicalEvent, contact_id: str) -> EngagementRecord:
    data = event.data
    properties = data.get("properties")
    return EngagementRecord(
        event_id=event.event_id,
        contact_id=contact_id,
        occurred_at=event.occurred_at,
        kind=str(data.get("kind") or ""),
        source_vendor=event.source_vendor,
        name=_text(data.get("name") or data.get("event_name")),
        url=_text(data.get("url")),
        path=_text(data.get("path")),
        properties=dict(properties) if isinstance(properties, dict) else {},
    )


def _engagement(record: EngagementRecord) -> Engagement:
    return Engagement.of(
        record.event_id,
        record.occurred_at,
        record.kind,
        name=record.name,
        url=record.url,
        path=record.path,
        properties=record.properties,
    )


def _profile(contact: Contact, account: Account | None) -> Profile:
    def value(name: str) -> Any:
        own = contact.profile.get(name)
        return own if own not in (None, "") or account is None else account.profile.get(name)

    return Profile(
        email=contact.email,
        job_title=value("job_title"),
        industry=value("industry"),
        country=value("country"),
        company_domain=(account.domain if account else None) or company_domain(contact.email),
        employee_count=_int(value("employee_count")),
        annual_revenue=_float(value("annual_revenue")),
        nurture_started_at=contact.lead_since,
        attributes=contact.profile.attributes,
    )


def _snapshot(result: Score) -> ScoreSnapshot:
    return ScoreSnapshot(
        total=result.total,
        fit=result.fit_score,
        engagement=result.engagement_score,
        mql=result.mql,
        handoff=result.handoff_level,
        model_version=result.model_version,
        as_of=result.as_of,
        email_engagement=result.email_engagement,
        content_pieces=result.content_pieces,
        website_sessions=result.website_sessions,
        icp_fit=result.icp_fit,
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: object) -> int | None:
    number = _float(value)
    return int(number) if number is not None else None


def _float(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
