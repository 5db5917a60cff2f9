"""The nurture clock: leads that have waited long enough get their time-based handoff.

Each run rescores the nurtured leads as of now, for as long as it has time, MQLs first: an MQL is the one whose
standard handoff (14 days of nurturing) can come due by time alone. A Lead's MQL criteria only fall with time
(email engagement decays, content and sessions leave the look-back, fit does not change), so a Lead qualifies by
time only when an engagement dated ahead of the hub's clock comes due; Leads are rescored too (their listed
scores decay), one after every three MQLs. Each stage is gone through in contact-id order from where the previous
run stopped (`NurtureCursors`), each contact at most once a run, so with R rescores a run, M MQLs and L Leads,
every MQL is reached within ceil(M / max(3R/4, R - L)) runs and every Lead within ceil(L / max(R/4, R - M)),
however many leads there are.

An SQL sales recycled (handed back to nurture) is nurtured as an MQL or a Lead is until it is handed off again:
its nurturing starts again at the recycle (`scoring_inputs.nurture_started`), and the clock takes it with the MQLs
when its last score met the MQL criteria (its standard handoff can come due by time alone), else with the Leads.

A lead whose consent withholds nurture (config/consent.json's `processing.nurture`) is not enrolled: the clock
passes it by (`not_enrolled` counts them), and its standard handoff does not fire on any rescore either."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator
from typing import Protocol

from shared.events.lead_events import LeadEventType
from shared.leads.model import Contact, Stage
from shared.leads.ports import LeadRepository
from shared.leads.progression import in_nurture
from shared.leads.service import LeadService

NURTURED_STAGES = (Stage.MQL, Stage.LEAD)  # in the order a run takes them
RECYCLED_STAGES = (Stage.SQL,)  # stages sales may hand a lead back to nurture from (it stays in its stage)
PAGE = 100  # contacts read at a time, and rescores between saves of the cursors
LIST_PAGE = 1000
MQLS_PER_LEAD = 3  # while both stages have contacts left in a run: one Lead after every three MQLs


class NurtureCursors(Protocol):
    """Where the nurture clock keeps, per stage, the last contact it reached, so the next run resumes there."""

    def read(self) -> dict[Stage, str]:
        """The last contact id reached in each stage; a stage not yet gone through is absent."""
        ...

    def save(self, cursors: dict[Stage, str]) -> None:
        """Keep these as the last contacts reached (all stages at once; the last save wins)."""
        ...


class _Rotation:
    """A stage's contacts (as listed when the run began: with the recycled SQLs it takes) in contact-id order,
    starting after `after` and wrapping around: each is reached at most once a run. Contacts are read a page at a
    time, as stored then; one that has left nurture or was merged away since it was listed is passed over."""

    def __init__(self, repository: LeadRepository, listed: list[str], after: str | None) -> None:
        self._repo = repository
        ids = sorted(set(listed))  # a lead rescored while it was listed may show twice
        start = bisect.bisect_right(ids, after) if after is not None else 0
        self._ids = ids[start:] + ids[:start]
        self._next = 0
        self._page: dict[str, Contact] = {}

    @property
    def remaining(self) -> int:
        return len(self._ids) - self._next

    def take(self) -> tuple[str, Contact | None]:
        """The next contact's id, and the contact when it is still nurtured."""
        if self._next % PAGE == 0:
            self._page = self._repo.contacts(self._ids[self._next : self._next + PAGE])
        contact_id = self._ids[self._next]
        self._next += 1
        contact = self._page.get(contact_id)
        if contact is None or not in_nurture(contact) or contact.merged_into is not None:
            return contact_id, None
        return contact_id, contact


class _InMemoryCursors:
    """Cursors that last one call: a caller that keeps none starts from the top every run."""

    def __init__(self) -> None:
        self._cursors: dict[Stage, str] = {}

    def read(self) -> dict[Stage, str]:
        return dict(self._cursors)

    def save(self, cursors: dict[Stage, str]) -> None:
        self._cursors = dict(cursors)


def rescore_nurtured(
    service: LeadService,
    stop_when: Callable[[], bool] = lambda: False,
    cursors: NurtureCursors | None = None,
) -> dict[str, int]:
    """One run of the clock: rescore until every nurtured lead was reached once or `stop_when` says stop.
    `complete` is 1 when every lead listed was reached; `remaining` counts those left for the next runs."""
    store = cursors if cursors is not None else _InMemoryCursors()
    positions = store.read()
    listed = _listed(service.repository)
    rotations = {stage: _Rotation(service.repository, listed[stage], positions.get(stage)) for stage in NURTURED_STAGES}
    reached = dict.fromkeys(NURTURED_STAGES, 0)
    rescored = handoffs = not_enrolled = 0

    def summary() -> dict[str, int]:
        remaining = sum(rotation.remaining for rotation in rotations.values())
        return {
            "rescored": rescored,
            "handoffs": handoffs,
            "not_enrolled": not_enrolled,
            "complete": int(remaining == 0),
            "remaining": remaining,
        }

    try:
        for stage in _turns(rotations, reached):
            if stop_when():
                break
            # past it before it is rescored: a lead whose rescore fails does not stop the next runs at it
            contact_id, contact = rotations[stage].take()
            positions[stage] = contact_id
            reached[stage] += 1
            if sum(reached.values()) % PAGE == 0:
                store.save(positions)
            if contact is None:
                continue
            if service.nurture_withheld(contact) is not None:
                not_enrolled += 1
                continue
            outcome = service.rescore(contact_id, cause="nurture clock")
            rescored += 1
            handoffs += sum(e.event_type is LeadEventType.HANDOFF_REQUESTED for e in outcome.published)
    finally:
        store.save(positions)
    return summary()


def _turns(rotations: dict[Stage, _Rotation], reached: dict[Stage, int]) -> Iterator[Stage]:
    """Whose turn it is, until both stages are gone through: an MQL, but a Lead after every three MQLs, and
    every turn once no MQL is left."""
    while True:
        mqls, leads = rotations[Stage.MQL].remaining, rotations[Stage.LEAD].remaining
        if not mqls and not leads:
            return
        lead_turn = not mqls or reached[Stage.MQL] >= MQLS_PER_LEAD * (reached[Stage.LEAD] + 1)
        yield Stage.LEAD if leads and lead_turn else Stage.MQL


def _listed(repository: LeadRepository) -> dict[Stage, list[str]]:
    """The ids of the nurtured contacts by the rotation that takes them, listed before any is rescored (rescoring
    reorders the by-score index): each nurtured stage's, and the recycled SQLs still in nurture, with the MQLs
    when their last score met the MQL criteria, else with the Leads."""
    listed: dict[Stage, list[str]] = {stage: [] for stage in NURTURED_STAGES}
    for stage in (*NURTURED_STAGES, *RECYCLED_STAGES):
        cursor: str | None = None
        while True:
            page = repository.by_stage(stage, None, LIST_PAGE, cursor)
            for contact in page.contacts:
                if stage in NURTURED_STAGES:
                    listed[stage].append(contact.contact_id)
                elif in_nurture(contact):
                    mql = contact.score is not None and contact.score.mql
                    listed[Stage.MQL if mql else Stage.LEAD].append(contact.contact_id)
            cursor = page.next_cursor
            if cursor is None:
                break
    return listed
