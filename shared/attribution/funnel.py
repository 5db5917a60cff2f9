"""The funnel as attribution counts it, from the lead domain's events: visitors (a contact's first score) and
each entry into Lead, MQL, SQL, Opportunity and Customer, per month, with the time spent in the stage left
(stage velocity) and the campaign that brought it.

The moment a stage was entered is when the person did what moved them, as the lead store's transition says
(`Transition.at`: the cause event's time, never before the stage left was entered; the deal view's
`lead_created_at` reads the same), not when the hub processed it: `lead.stage_changed` carries only the
processing time (`occurred_at`) and the cause's id, not the cause's time, so the entry is matched to the stored
transition it announces (the lead's latest from `previous_stage` to `stage`, for the same reason, at or before
the event), and the event's own time is used only when no such transition is stored. A visitor (a first
score) became one when they did what was first scored: the time of the engagement the score change names as
its cause (`cause_event_id`), found in the person's engagement log; a first score with no engagement as its
cause (a capture) is at its own time. Counted at the processing time instead, a visitor whose first visit
reached the hub late would count in a later month than the visit, after touches they made since, and a
recount (`make reattribute`) would find a later campaign than the live count did.

The campaign of a stage entry is the campaign of the person's last touch at or before the moment they entered
the stage (`(none)` when that touch carries none or there is no touch): the touch at which they entered it;
the entry counts in that moment's month. Time in the stage left is from the person's latest stored transition
into that stage before this one (none for a stage they never entered through a transition, e.g. a contact
created as a Lead). Each lead event is counted once (the store keeps its id). After a settings change,
`make reattribute` finds each counted entry's campaign again (`recounted_campaign`) and moves the entry there.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from shared.attribution.config import AttributionConfig
from shared.attribution.funnel_counts import FUNNEL_STAGES, VISITOR, StageEntry
from shared.attribution.journey_builder import LeadLog
from shared.attribution.ports import NO_CAMPAIGN
from shared.attribution.touchpoints import touches_from
from shared.events.lead_events import LeadEvent, LeadEventType
from shared.leads.model import Stage, Transition


def stage_entry(event: LeadEvent, leads: LeadLog, config: AttributionConfig) -> StageEntry | None:
    """The funnel entry a lead event is; None for the others (a score change that is not the first, a move
    back to an earlier stage, Advocate)."""
    if event.event_type is LeadEventType.SCORE_CHANGED and event.previous_score is None:
        stage = VISITOR
    elif event.event_type is LeadEventType.STAGE_CHANGED and event.stage in FUNNEL_STAGES[1:]:
        previous = event.previous_stage
        if previous in FUNNEL_STAGES and FUNNEL_STAGES.index(previous) >= FUNNEL_STAGES.index(event.stage):
            return None  # a move back or sideways is not an entry into the funnel's next stage
        stage = event.stage
    else:
        return None
    if stage == VISITOR:
        at, seconds_in = _first_scored_at(leads, event), None
    else:
        transitions = leads.history(event.lead_id).transitions  # one read, for both
        at = _entered_at(transitions, event)
        seconds_in = _seconds_in(transitions, event.previous_stage, at)
    return StageEntry(
        event_id=event.event_id,
        lead_id=event.lead_id,
        stage=stage,
        at=at,
        campaign_id=_campaign_at(leads, config, event.lead_id, at),
        seconds_in_previous=seconds_in,
    )


def _entered_at(transitions: Sequence[Transition], event: LeadEvent) -> datetime:
    """When the stage change the event announces happened: its stored transition's time (see the docstring)."""
    announced = [
        t.at
        for t in transitions
        if t.to_stage.value == event.stage
        and t.from_stage.value == event.previous_stage
        and (event.reason is None or t.cause == event.reason)
        and t.at <= event.occurred_at
    ]
    return max(announced) if announced else event.occurred_at


def _first_scored_at(leads: LeadLog, event: LeadEvent) -> datetime:
    """When a visitor did what first scored them (see the docstring): never later than the score change."""
    if event.cause_event_id is None:
        return event.occurred_at
    caused = [
        record.occurred_at
        for record in leads.engagements(_people(leads, event.lead_id))
        if record.event_id == event.cause_event_id
    ]
    return min([*caused, event.occurred_at])


def recounted_campaign(entry: StageEntry, leads: LeadLog, config: AttributionConfig) -> str | None:
    """The campaign a counted entry gets when counted now (`make reattribute`, after a settings change): its
    lead's last touch at or before the entry under `config`, from the lead store as it stands, exactly as
    `stage_entry` finds it. None when the lead store no longer holds the lead (erased): the entry stays as
    counted, as the erasure left the counts."""
    found = leads.contacts([entry.lead_id]).get(entry.lead_id)
    if found is None:
        return None
    return _campaign_of(leads, config, [entry.lead_id, *found.members], entry.at)


def _campaign_at(leads: LeadLog, config: AttributionConfig, lead_id: str, at: datetime) -> str:
    return _campaign_of(leads, config, _people(leads, lead_id), at)


def _people(leads: LeadLog, lead_id: str) -> list[str]:
    """The lead and the contacts merged into it: whose engagements are the lead's."""
    found = leads.contacts([lead_id]).get(lead_id)
    return [lead_id, *(found.members if found else [])]


def _campaign_of(leads: LeadLog, config: AttributionConfig, ids: list[str], at: datetime) -> str:
    window = at - timedelta(days=config.lookback_days)
    touches = [t for t in touches_from(leads.engagements(ids), config) if window <= t.occurred_at <= at]
    return (touches[-1].campaign_id or NO_CAMPAIGN) if touches else NO_CAMPAIGN


def _seconds_in(transitions: Sequence[Transition], previous: str | None, at: datetime) -> int | None:
    if previous is None:
        return None
    try:
        left = Stage(previous)
    except ValueError:
        return None
    entered = [t.at for t in transitions if t.to_stage is left and t.at <= at]
    return int((at - max(entered)).total_seconds()) if entered else None
