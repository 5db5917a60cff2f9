"""Unmerging after nested merges, over the DynamoDB lead repository (moto) and the in-memory fake alike.

A merge flattens the absorbed contact's members onto the survivor (the head), while each member keeps the contact
it was merged into: C merged into B, then B into A, leaves A.members == [B, C] and C.merged_into == B. An unmerge
takes a contact out of its head with its whole subtree (every member whose merges run through it), with their
identities, profile parts and engagement."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from shared.adapters.dynamodb_leads import DynamoDbLeadRepository
from shared.catalog import physical_name
from shared.catalog.leads import LEADS
from shared.events.canonical import EventType, Subject
from shared.events.lead_events import LeadEvent, LeadEventType
from shared.leads.capture import LeadCapture
from shared.leads.identity import identities
from shared.leads.model import Contact
from shared.leads.outcome import Outcome
from shared.leads.ports import LeadRepository
from shared.leads.scoring_models import ScoringModels
from shared.leads.service import LeadService
from shared.scoring.model import load_model
from tests.canonical_events import canonical_event
from tests.fakes import FixedClock, InMemoryLeadRepository
from tests.integration.conftest import STAGE, only_table

TABLE = physical_name(STAGE, "leads")
ANON = "segment-anonymous#anon-1"
USER = "segment#u-1"


class Hub:
    def __init__(self, repo: LeadRepository) -> None:
        self.repo = repo
        self.clock = FixedClock()
        ids = itertools.count(1)
        self.service = LeadService(repo, ScoringModels(load_model()), self.clock, lambda: f"lead-{next(ids):04d}")
        self.published: list[LeadEvent] = []
        self._n = itertools.count(1)

    def told(self, outcome: Outcome) -> Outcome:
        self.published.extend(outcome.published)
        return outcome

    def segment(self, event_type: EventType, subject: Subject, data: dict[str, Any]) -> None:
        event = canonical_event(event_type, subject, data, at=self.clock.now(), n=next(self._n), series="nested")
        self.told(self.service.handle(event))
        self.clock.advance(timedelta(hours=1))

    def contact(self, contact_id: str) -> Contact:
        contact = self.repo.contact(contact_id)
        assert contact is not None
        return contact

    def page_views(self, contact_id: str) -> int:
        lines = self.service.score_of(self.contact(contact_id)).engagement_lines
        return len([line for line in lines if line.kind == "page_view"])

    def owner_head(self, key: str) -> str:
        [owner] = self.repo.owners(identities(None, None, [key.replace("#", ":", 1)])).values()
        return _head(self, owner)


def _head(hub: Hub, contact_id: str) -> str:
    contact = hub.contact(contact_id)
    while contact.merged_into is not None:
        contact = hub.contact(contact.merged_into)
    return contact.contact_id


@pytest.fixture(params=["dynamodb", "in-memory"])
def hub(request: pytest.FixtureRequest) -> Iterator[Hub]:
    if request.param == "in-memory":
        yield Hub(InMemoryLeadRepository())
        return
    with only_table(LEADS) as client:
        yield Hub(DynamoDbLeadRepository(client, TABLE, sleep=lambda _: None))


def nested(hub: Hub) -> tuple[str, str, str]:
    """A (captured by email); C (an anonymous visitor's page view) merged into B (a signed-in Segment user),
    then B merged into A when the user gives A's email."""
    a = hub.told(hub.service.capture(LeadCapture("ada@acme.io", "web form", company="Acme", job_title="VP"))).contact_id
    assert a is not None
    hub.clock.advance(timedelta(hours=1))
    hub.segment(EventType.ENGAGEMENT_RECORDED, Subject(contact_id="segment-anonymous:anon-1"), {"kind": "page_view"})
    hub.segment(EventType.CONTACT_UPSERTED, Subject(contact_id="segment:u-1"), {"user_id": "u-1", "traits": {}})
    owners = hub.repo.owners(identities(None, None, ["segment:u-1", "segment-anonymous:anon-1"]))
    b, c = owners[USER], owners[ANON]
    hub.segment(
        EventType.CONTACT_UPSERTED,
        Subject(contact_id="segment:u-1"),
        {"user_id": "u-1", "anonymous_id": "anon-1", "traits": {"name": "Sam", "title": "Analyst"}},
    )
    assert hub.contact(c).merged_into == b
    hub.segment(EventType.CONTACT_UPSERTED, Subject(contact_id="segment:u-1", email="ada@acme.io"), {"user_id": "u-1"})
    assert hub.contact(b).merged_into == a
    assert sorted(hub.contact(a).members) == sorted([b, c])
    assert hub.contact(c).merged_into == b
    assert hub.page_views(a) == 1
    return a, b, c


def test_a_lead_merged_into_one_merged_away_since_is_taken_out_of_the_head(hub: Hub) -> None:
    # Given C merged into B, and B merged into A since
    a, b, c = nested(hub)
    # When C is unmerged (the API names only C)
    outcome = hub.told(hub.service.unmerge(c))
    # Then C is out of A, with its anonymous id and its page view; B stays in A
    head, inner = hub.contact(a), hub.contact(c)
    assert inner.merged_into is None
    assert inner.members == []
    assert head.members == [b]
    assert hub.contact(b).merged_into == a
    assert ANON in inner.identities
    assert ANON not in head.identities
    assert USER in head.identities
    assert hub.page_views(c) == 1
    assert hub.page_views(a) == 0
    assert {a, b} <= inner.never_merge
    assert c in head.never_merge
    # and the merge that made C part of B is marked undone
    [merge] = [m for m in hub.repo.history(b).merges if m.absorbed_id == c]
    assert merge.undone_at is not None
    unmerged = {(e.lead_id, e.other_lead_id) for e in outcome.published if e.event_type is LeadEventType.UNMERGED}
    assert unmerged == {(a, c), (c, a)}
    # and the device's id finds C again, not A: the two are kept apart
    hub.segment(EventType.ENGAGEMENT_RECORDED, Subject(contact_id="segment-anonymous:anon-1"), {"kind": "page_view"})
    assert hub.page_views(c) == 2
    assert hub.page_views(a) == 0


def test_unmerging_the_middle_lead_takes_back_its_whole_subtree(hub: Hub) -> None:
    # Given C merged into B, and B merged into A since
    a, b, c = nested(hub)
    # When B is unmerged from A
    outcome = hub.told(hub.service.unmerge(a, b))
    # Then B is a lead of its own again with C still in it: both sides agree on who holds whom
    head, middle, inner = hub.contact(a), hub.contact(b), hub.contact(c)
    assert head.members == []
    assert middle.merged_into is None
    assert middle.members == [c]
    assert inner.merged_into == b
    # with C's and B's identities, profile parts and engagement
    assert {USER, ANON} <= middle.identities
    assert not {USER, ANON} & head.identities
    assert set(middle.profiles) == {b, c}
    assert set(head.profiles) == {a}
    assert middle.profile.get("job_title") == "Analyst"
    assert head.profile.get("job_title") == "VP"
    assert hub.page_views(b) == 1
    assert hub.page_views(a) == 0
    unmerged = {(e.lead_id, e.other_lead_id) for e in outcome.published if e.event_type is LeadEventType.UNMERGED}
    assert unmerged == {(a, b), (b, a)}
    # and what the ids name now is B, not A
    assert hub.owner_head(ANON) == b
    assert hub.owner_head(USER) == b


def test_unmerging_a_head_by_default_undoes_its_last_own_merge(hub: Hub) -> None:
    # Given C merged into B, and B merged into A since (A.members lists B, then C)
    a, b, c = nested(hub)
    # When A is unmerged without naming the other side
    hub.told(hub.service.unmerge(a))
    # Then the merge undone is A's own last one (B's, with C), not the one C made inside B
    assert hub.contact(a).members == []
    assert hub.contact(b).members == [c]
