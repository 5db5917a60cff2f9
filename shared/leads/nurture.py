"""The nurture clock: leads that have waited long enough get their time-based handoff.

A lead whose consent withholds nurture (config/consent.json's `processing.nurture`) is not enrolled: the clock
passes it by (`not_enrolled` counts them), and its standard handoff does not fire on any rescore either."""

from __future__ import annotations

from collections.abc import Callable

from shared.events.lead_events import LeadEventType
from shared.leads.model import Contact, Stage
from shared.leads.service import LeadService

NURTURED_STAGES = (Stage.LEAD, Stage.MQL)
PAGE = 100


def rescore_nurtured(service: LeadService, stop_when: Callable[[], bool] = lambda: False) -> dict[str, int]:
    rescored = handoffs = not_enrolled = 0
    for contact in _nurtured(service):  # listed first: rescoring reorders the by-score index being paged
        if stop_when():
            return {"rescored": rescored, "handoffs": handoffs, "not_enrolled": not_enrolled, "complete": 0}
        if service.nurture_withheld(contact) is not None:
            not_enrolled += 1
            continue
        outcome = service.rescore(contact.contact_id, cause="nurture clock")
        rescored += 1
        handoffs += sum(e.event_type is LeadEventType.HANDOFF_REQUESTED for e in outcome.published)
    return {"rescored": rescored, "handoffs": handoffs, "not_enrolled": not_enrolled, "complete": 1}


def _nurtured(service: LeadService) -> list[Contact]:
    contacts: list[Contact] = []
    for stage in NURTURED_STAGES:
        cursor: str | None = None
        while True:
            page = service.repository.by_stage(stage, None, PAGE, cursor)
            contacts.extend(page.contacts)
            cursor = page.next_cursor
            if cursor is None:
                break
    return contacts
