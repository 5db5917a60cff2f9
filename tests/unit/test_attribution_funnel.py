"""The funnel from the stored stage transitions (issue 12 §3): a stage entry is credited to the touch before the
moment the person entered the stage, and counted in that moment's month, however late the hub processed it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.events.canonical import EventType, Subject
from shared.events.lead_events import LeadEventType
from tests.canonical_events import canonical_event
from tests.unit.test_attribution_service import World


@pytest.fixture
def world() -> World:
    world = World()
    world.clock.moment = datetime(2026, 10, 30, 9, 0, tzinfo=UTC)
    return world


def test_a_late_processed_lead_entry_is_credited_to_the_touch_before_it_happened_in_its_month(world: World) -> None:
    # Given a visitor from the social ad on 30 October, who signed up (identified) on 31 October
    world.visit("u1", "https://acme.test/?utm_campaign=social&utm_medium=paid_social", anonymous=True)
    signed_up = datetime(2026, 10, 31, 12, 0, tzinfo=UTC)
    # And who came back from a search ad on 2 November, before the hub processed the sign-up
    world.clock.moment = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    world.visit("u1", "https://acme.test/pricing?utm_campaign=search&utm_medium=cpc", anonymous=True)
    world.clock.advance(timedelta(hours=1))
    data = {"traits": {"email": "kim@acme.io"}, "anonymous_id": "a-u1"}
    late = canonical_event(
        EventType.CONTACT_UPSERTED,
        Subject(contact_id="segment:u1", email="kim@acme.io"),
        data,
        at=signed_up,
        n=99,
        series="attribution-funnel",
    )
    world.leads.handle(late)  # processed on 2 November, 10:00
    entered = [e for e in world.lead_bus.published if e.event_type is LeadEventType.STAGE_CHANGED]
    assert [e.stage for e in entered] == ["Lead"]
    assert entered[0].occurred_at == world.clock.now()  # the event carries the processing time only
    # When attribution counts the funnel entry
    outcome = world.service.handle_lead_event(entered[0])
    # Then the Lead entry is October's, brought by the social ad (the touch before the sign-up), not the search ad
    assert "(social)" in outcome.note
    assert world.store.funnel(["2026-10"])["Lead"].entered == 1
    assert world.store.funnel(["2026-11"])["Lead"].entered == 0
    assert world.store.campaign_funnel("social", ["2026-10", "2026-11"])["Lead"] == 1
    assert world.store.campaign_funnel("search", ["2026-10", "2026-11"])["Lead"] == 0
    # And it agrees with the stored transition the deal view's lead_created_at reads
    transitions = world.leads_repo.history(entered[0].lead_id).transitions
    assert [(t.to_stage.value, t.at) for t in transitions] == [("Lead", signed_up)]


def backdated_visit(world: World, n: int, url: str, at: datetime) -> None:
    """An anonymous Segment page view that happened `at` (its own `timestamp`), processed now."""
    data = {"kind": "page_view", "url": url, "path": "/", "anonymous_id": "a-kim"}
    subject = Subject(contact_id="segment-anonymous:a-kim")
    world.leads.handle(canonical_event(EventType.ENGAGEMENT_RECORDED, subject, data, at=at, n=n, series="visitor"))


def test_a_visitor_counts_when_and_where_their_first_visit_was_and_a_recount_agrees(world: World) -> None:
    # Given a first visit from the social ad on 22 October that reaches the hub on 2 November
    world.clock.moment = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    social = "https://acme.test/?utm_campaign=social&utm_medium=paid_social"
    backdated_visit(world, 1, social, datetime(2026, 10, 22, 10, 0, tzinfo=UTC))
    [first_score] = [
        e for e in world.lead_bus.published if e.event_type is LeadEventType.SCORE_CHANGED and e.previous_score is None
    ]
    assert first_score.occurred_at == world.clock.now()  # the score change carries the processing time only
    # When attribution counts the Visitor entry, and a search-ad visit of 26 October reaches the hub afterwards
    world.service.handle_lead_event(first_score)
    search = "https://acme.test/pricing?utm_campaign=search&utm_medium=cpc"
    backdated_visit(world, 2, search, datetime(2026, 10, 26, 10, 0, tzinfo=UTC))
    # Then the visitor is October's, brought by the social ad
    [entry] = [e for e in world.store.stage_entries(["2026-10", "2026-11"]) if e.stage == "Visitor"]
    assert (entry.period, entry.campaign_id) == ("2026-10", "social")
    assert entry.at == datetime(2026, 10, 22, 10, 0, tzinfo=UTC)
    # And `make reattribute` with the same settings finds the same campaign (the later visit is after it)
    assert world.service.recount(entry) == "unchanged"
