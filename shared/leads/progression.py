"""What a contact's log scores, and where that score takes it: the score change, the lifecycle stages it moves
through (MQL among them) and the handoff it asks sales for, each recorded in the change with its lead event."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

from shared.events.canonical import CanonicalEvent
from shared.events.lead_events import LeadEventType
from shared.leads.consent import ConsentTimeline
from shared.leads.consent_policy import ConsentPolicy
from shared.leads.contact_events import lead_event, told_profile
from shared.leads.lifecycle import Move, next_stages
from shared.leads.model import ConsentRecord, Contact, EngagementRecord, ScoreChange, Stage, Transition
from shared.leads.ports import ChangeSet, LeadRepository
from shared.leads.scoring_inputs import scoring_engagement, scoring_profile, snapshot
from shared.scoring.engine import Engagement, Profile, score
from shared.scoring.model import ScoringModel
from shared.scoring.results import HandoffTrigger, Score, from_us

# The stages marketing nurtures, whose leads are handed off to sales. An SQL sales recycled is back in nurture
# too (`in_nurture`): stages never move back, so it stays an SQL, but is nurtured and handed off as an MQL is.
_HANDOFF_STAGES = {Stage.LEAD, Stage.MQL}


class LeadProgression:
    def __init__(self, repository: LeadRepository, consent: ConsentPolicy, now: Callable[[], datetime]) -> None:
        self._repo = repository
        self._consent = consent
        self._now = now

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
        moment = as_of or self._now()
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

    def score(
        self,
        contact: Contact,
        model: ScoringModel,
        as_of: datetime,
        pending: Sequence[EngagementRecord] = (),
        pending_consents: Sequence[ConsentRecord] = (),
    ) -> Score:
        profile, engagements = self.inputs(contact, pending, as_of, pending_consents)
        return score(model, profile, engagements, as_of)  # compiled once per model, then cached

    def rescore(
        self,
        contact: Contact,
        change: ChangeSet,
        model: ScoringModel,
        cause: str,
        cause_event: CanonicalEvent | None,
        cause_key: str | None = None,
    ) -> None:
        """Score the contact as the change leaves it, with the events that makes: first the lead.profile_changed of
        the profile values the change set (`told_profile`), then the score change, the stages and the handoff.
        `cause_key`: what tells this change's lead events apart when no event caused it (default: `cause`)."""
        now = self._now()
        cause_id = cause_event.event_id if cause_event else None
        told_profile(contact, change, cause, cause_id or cause_key or cause, cause_id, now)
        result = self.score(contact, model, now, change.engagements, change.consents)
        previous = contact.score
        contact.score = snapshot(result)
        contact.updated_at = now
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
            # A change no event caused (the nurture clock, a rescore) is told apart by the score it moves from,
            # as stored (a redo keeps the id): the same cause bringing the score back to a total it had (a model
            # rolled back, a decay after new engagement) is another change, which consumers must not take for
            # the first.
            after = "" if cause_id or cause_key or previous is None else f":after:{previous.as_of.isoformat()}"
            change.events.append(
                lead_event(
                    contact,
                    LeadEventType.SCORE_CHANGED,
                    f"{cause_id or cause_key or cause}{after}:{result.total_hundredths}",
                    now,
                    reason=cause,
                    previous_score=previous.total if previous else None,
                    cause_event_id=cause_id,
                )
            )
        self.move(contact, change, result, cause_event, now)
        self._request_handoff(contact, change, result, cause_id, now)
        change.contacts[contact.contact_id] = contact

    def move(
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
            self.enter(contact, change, move, happened, now, cause_id)

    def enter(
        self, contact: Contact, change: ChangeSet, move: Move, happened: datetime, now: datetime, cause_id: str | None
    ) -> None:
        """The contact enters `move.to` (ahead of its stage) at `happened`: the transition and its events."""
        change.entries.append(Transition(contact.contact_id, happened, contact.stage, move.to, move.cause))
        previous_stage = contact.stage
        contact.stage, contact.stage_entered_at = move.to, happened
        if move.to is Stage.LEAD:
            contact.lead_since = now
        change.events.append(
            lead_event(
                contact,
                LeadEventType.STAGE_CHANGED,
                move.to.value,
                now,
                reason=move.cause,
                previous_stage=previous_stage.value,
                cause_event_id=cause_id,
            )
        )
        if move.to is Stage.MQL:
            change.events.append(
                lead_event(contact, LeadEventType.MQL_REACHED, "mql", now, reason=move.cause, cause_event_id=cause_id)
            )

    def _request_handoff(
        self, contact: Contact, change: ChangeSet, result: Score, cause_id: str | None, now: datetime
    ) -> None:
        """Sales are handed identified people only: a trigger on someone without an email waits (it is in the
        log) and fires when they identify, if it is still within the model's lookback."""
        if not in_nurture(contact) or contact.merged_into is not None or not contact.email:
            return
        for trigger in result.handoff:
            if _may_request(contact, trigger, result):
                # A request after a recycle is another request: its id says which one it follows (the time of
                # the level's previous request, as stored: a redo of this change keeps the id), so no consumer
                # de-duplicating on event ids takes it for the first.
                previous = contact.handoffs.get(trigger.level)
                occurrence = trigger.level if previous is None else f"{trigger.level}:after:{previous.isoformat()}"
                contact.handoffs[trigger.level] = now
                change.events.append(
                    lead_event(
                        contact,
                        LeadEventType.HANDOFF_REQUESTED,
                        occurrence,
                        now,
                        priority=trigger.level,
                        reason=trigger.reason,
                        cause_event_id=trigger.event_id or cause_id,
                    )
                )
                return  # the most urgent new trigger; sales need one request, not three


def in_nurture(contact: Contact) -> bool:
    """Whether marketing nurtures the contact, so it may be handed off (and the nurture clock rescores it): a Lead
    or an MQL, or an SQL sales handed back (recycled, the handoff domain's `handoff.recycled`: an accepted handoff
    may be recycled too) after its last handoff request. A later request hands it to sales again, until they
    recycle it again."""
    if contact.stage in _HANDOFF_STAGES:
        return True
    recycled = contact.recycled_at
    if contact.stage is not Stage.SQL or recycled is None:
        return False
    return all(requested <= recycled for requested in contact.handoffs.values())


def _may_request(contact: Contact, trigger: HandoffTrigger, result: Score) -> bool:
    """A level is requested once; after sales recycled the lead (handed it back to marketing), again when a
    buying signal that came after the recycle fires it (the signals sales already saw do not), or, for the
    standard level, 14 days of nurturing: they count from the recycle (`nurture_started`)."""
    requested = contact.handoffs.get(trigger.level)
    if requested is None:
        return True
    recycled = contact.recycled_at
    if recycled is None or requested > recycled:
        return False
    if trigger.level == "standard":
        return True
    at_us = next((line.at_us for line in result.engagement_lines if line.event_id == trigger.event_id), None)
    return trigger.event_id is not None and at_us is not None and from_us(at_us) > recycled
