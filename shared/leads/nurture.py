"""The nurture clock: leads that have waited long enough get their time-based handoff."""

from __future__ import annotations

from collections.abc import Callable

from shared.events.lead_events import LeadEventType
from shared.leads.model import Stage
from shared.leads.service import LeadService

NURTURED_STAGES = (Stage.LEAD, Stage.MQL)
PAGE = 100


def rescore_nurtured(service: LeadService, stop_when: Callable[[], bool] = lambda: False) -> dict[str, int]:
    rescored = handoffs = 0
    for contact_id in _nurtured(service):  # listed first: rescoring reorders the by-score index being paged
        if stop_when():
            return {"rescored": rescored, "handoffs": handoffs, "complete": 0}
        outcome = service.rescore(contact_id, cause="nurture clock")
        rescored += 1
        handoffs += sum(e.event_type is LeadEventType.HANDOFF_REQUESTED for e in outcome.published)
    return {"rescored": rescored, "handoffs": handoffs, "complete": 1}


def _nurtured(service: LeadService) -> list[str]:
    ids: list[str] = []
    for stage in NURTURED_STAGES:
        cursor: str | None = None
        while True:
            page = service.repository.by_stage(stage, None, PAGE, cursor)
            ids.extend(contact.contact_id for contact in page.contacts)
            cursor = page.next_cursor
            if cursor is None:
                break
    return ids
