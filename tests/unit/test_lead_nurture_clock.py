"""The hourly nurture clock over in-memory adapters: an MQL's standard handoff (14 days of nurturing) fires
however many Leads there are, and runs that run out of time resume where the last one stopped, so every lead is
reached within a bounded number of runs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import pytest

from shared.events.canonical import EventType, Subject
from shared.events.lead_events import LeadEventType
from shared.leads.capture import LeadCapture
from shared.leads.model import Stage
from shared.leads.nurture import rescore_nurtured
from shared.leads.ports import ChangeSet
from tests.lead_fakes import InMemoryNurtureCursors
from tests.unit.test_lead_service import Leads

Budget = Callable[[], bool]


def budget(rescores: int) -> Budget:
    """A run's time, as the number of leads it has time for (the stand-in for the Lambda's 280 s)."""
    left = iter(range(rescores))
    return lambda: next(left, None) is None


def leads_captured(leads: Leads, count: int) -> list[str]:
    """Ordinary Leads (an analyst at a company of unknown size: no ICP fit, so never an MQL)."""
    captured = [
        leads.service.capture(LeadCapture(f"p{n}@other.io", "web form", job_title="Analyst")) for n in range(count)
    ]
    return [outcome.contact_id for outcome in captured if outcome.contact_id]


def mqls(leads: Leads, count: int) -> list[str]:
    """ICP contacts engaged enough to be MQLs: 12 email clicks over 6 days, 3 content pieces, 5 sessions."""
    subjects = [Subject(contact_id=f"hubspot:{700 + n}", email=f"mql{n}@acme.io") for n in range(count)]
    for subject in subjects:
        traits = {
            "email": subject.email,
            "industry": "Software",
            "employees": 500,
            "title": "VP of Sales",
            "country": "US",
        }
        leads.service.handle(leads.event(EventType.CONTACT_UPSERTED, subject, {"traits": traits}, vendor="hubspot"))
    for _day in range(6):
        for subject in subjects:
            leads.engage(subject, "email_click")
            leads.engage(subject, "email_click")
        leads.clock.advance(timedelta(days=1))
    for subject in subjects:
        for piece in ("RevOps guide", "Pipeline report", "Attribution 101"):
            leads.engage(subject, "content_download", name=piece)
    for _session in range(5):
        for subject in subjects:
            leads.engage(subject, "page_view", path="/blog")
        leads.clock.advance(timedelta(hours=2))
    found = [leads.service.find_by_email(str(subject.email)) for subject in subjects]
    assert all(contact is not None and contact.stage is Stage.MQL for contact in found)
    return [contact.contact_id for contact in found if contact is not None]


def rescored_since(leads: Leads, ids: Sequence[str], moment: datetime) -> set[str]:
    """The leads scored at or after `moment` (each rescore stores its score's time)."""
    return {cid for cid in ids if (score := leads.contact(cid).score) is not None and score.as_of >= moment}


def standard_handoffs(leads: Leads) -> list[str]:
    return [e.lead_id for e in leads.published(LeadEventType.HANDOFF_REQUESTED) if e.priority == "standard"]


def test_an_mql_due_its_standard_handoff_is_handed_off_in_the_first_run_however_many_leads_wait() -> None:
    # Given six ordinary Leads, and an MQL captured after them that has been nurtured for over 14 days
    leads = Leads()
    leads_captured(leads, 6)
    [mql] = mqls(leads, 1)
    leads.clock.advance(timedelta(days=9))
    assert standard_handoffs(leads) == []
    # When the hourly clock runs with time for three leads a run
    summary = rescore_nurtured(leads.service, stop_when=budget(3))
    # Then the MQL's standard handoff is requested in that first run
    assert standard_handoffs(leads) == [mql]
    assert (summary["handoffs"], summary["rescored"], summary["complete"]) == (1, 3, 0)
    assert summary["remaining"] == 4


def test_runs_resume_where_the_last_one_stopped_so_every_lead_is_reached() -> None:
    # Given seven Leads, and a clock that keeps where it stopped
    leads = Leads()
    ids = leads_captured(leads, 7)
    cursors = InMemoryNurtureCursors()
    started = leads.clock.now() + timedelta(hours=1)
    # When it runs three times, an hour apart, with time for three leads a run
    summaries = []
    for _hour in range(3):
        leads.clock.advance(timedelta(hours=1))
        summaries.append(rescore_nurtured(leads.service, stop_when=budget(3), cursors=cursors))
    # Then each run took the next three (the last one starting over once it had reached the seventh)
    assert [s["rescored"] for s in summaries] == [3, 3, 3]
    assert rescored_since(leads, ids, started) == set(ids)
    assert rescored_since(leads, ids, leads.clock.now()) == {*sorted(ids)[-1:], *sorted(ids)[:2]}
    assert cursors.saved == {Stage.LEAD: sorted(ids)[1]}


def test_mqls_waiting_do_not_keep_the_leads_from_being_rescored() -> None:
    # Given six MQLs and two Leads
    leads = Leads()
    lead_ids = leads_captured(leads, 2)
    mql_ids = mqls(leads, 6)
    cursors = InMemoryNurtureCursors()
    before = leads.clock.now() + timedelta(minutes=1)
    # When the clock runs twice with time for four leads a run
    for _hour in range(2):
        leads.clock.advance(timedelta(hours=1))
        rescore_nurtured(leads.service, stop_when=budget(4), cursors=cursors)
    # Then every MQL was reached, and so was every Lead: one after every three MQLs
    assert rescored_since(leads, mql_ids, before) == set(mql_ids)
    assert rescored_since(leads, lead_ids, before) == set(lead_ids)


def test_a_run_with_time_for_everyone_reaches_each_lead_once_and_says_it_is_complete() -> None:
    # Given two MQLs and three Leads
    leads = Leads()
    leads_captured(leads, 3)
    mqls(leads, 2)
    # When the clock runs with all the time it needs, twice
    first = rescore_nurtured(leads.service, cursors=(cursors := InMemoryNurtureCursors()))
    second = rescore_nurtured(leads.service, cursors=cursors)
    # Then each run rescored each lead once, and said so
    for summary in (first, second):
        assert (summary["rescored"], summary["complete"], summary["remaining"]) == (5, 1, 0)


def test_a_lead_whose_rescore_fails_does_not_hold_the_clock_back() -> None:
    # Given four Leads, the first of which cannot be stored (its commit keeps failing)
    leads = Leads()
    ids = sorted(leads_captured(leads, 4))
    commit = leads.repo.commit

    def failing(change: ChangeSet) -> None:
        if ids[0] in change.contacts:
            raise RuntimeError("storage refused the lead")
        commit(change)

    leads.repo.commit = failing  # type: ignore[method-assign]
    cursors = InMemoryNurtureCursors()
    # When a run fails on it
    leads.clock.advance(timedelta(hours=1))
    with pytest.raises(RuntimeError):
        rescore_nurtured(leads.service, stop_when=budget(3), cursors=cursors)
    # Then the next run goes on from the lead after it
    leads.clock.advance(timedelta(hours=1))
    summary = rescore_nurtured(leads.service, stop_when=budget(3), cursors=cursors)
    assert summary["rescored"] == 3
    assert rescored_since(leads, ids, leads.clock.now()) == set(ids[1:])


def test_a_lead_that_left_nurture_since_it_was_listed_is_passed_over() -> None:
    # Given two Leads, one of which sales accept while the run is under way (it becomes an SQL)
    leads = Leads()
    first, second = sorted(leads_captured(leads, 2))
    accepted = False

    def stop_when() -> bool:
        nonlocal accepted
        if not accepted:
            leads.service.handoff_accepted(second, "h-1")
            accepted = True
        return False

    leads.clock.advance(timedelta(hours=1))
    summary = rescore_nurtured(leads.service, stop_when=stop_when)
    # Then only the Lead still nurtured is rescored
    assert summary["rescored"] == 1
    assert rescored_since(leads, [first, second], leads.clock.now()) == {first}
