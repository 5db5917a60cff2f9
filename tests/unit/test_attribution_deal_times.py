"""A deal's status and amount each go by the time of the event that said them: an older amount arriving late
does not undo a newer one (HubSpot's amounts come in updates, which say no status), a deal first seen through
an update has no status time yet (an earlier win delivered after it still counts), and a won deal reopened is
counted once, as the revenue of its win, never also as pipeline."""

from __future__ import annotations

from datetime import timedelta

from shared.attribution.deals import Deal, DealStatus, deal_report
from shared.attribution.journeys import Model
from shared.events.canonical import EventType
from shared.finance.money import Money
from tests.unit.test_attribution_deals import AT, event
from tests.unit.test_attribution_service import World, journey_of_three

HUBSPOT = "hubspot:7001"


def test_an_older_amount_arriving_late_does_not_undo_a_newer_one() -> None:
    # Given a HubSpot deal won, then two amount changes: 5,000 said at +3h, 4,000 said at +1h
    world = World()
    journey_of_three(world)
    world.service.handle(world.event(EventType.DEAL_WON, {"stage": "closedwon"}, vendor="hubspot", deal_id=HUBSPOT))
    t0 = world.clock.now()
    world.clock.moment = t0 + timedelta(hours=3)
    newer = world.event(EventType.DEAL_UPDATED, {"amount": "5000"}, vendor="hubspot", deal_id=HUBSPOT)
    world.clock.moment = t0 + timedelta(hours=1)
    older = world.event(EventType.DEAL_UPDATED, {"amount": "4000"}, vendor="hubspot", deal_id=HUBSPOT)
    world.clock.moment = t0 + timedelta(hours=4)
    # When the newer is delivered first and the older after it
    world.service.handle(newer)
    late = world.service.handle(older)
    # Then the deal and its conversion keep 5,000.00 (the latest said), credited once, never announced at 4,000.00
    conversion = world.store.conversion(f"deal:{HUBSPOT}")
    assert conversion is not None
    assert (conversion.amount, conversion.company_minor) == (Money(500_000, "USD"), 500_000)
    assert late.deal is not None
    assert (late.deal.amount, late.deal.amount_at) == (Money(500_000, "USD"), t0 + timedelta(hours=3))
    attributed = {(e.event_id, e.amount) for e in world.bus.published if e.event_type.value == "conversion.attributed"}
    assert [amount for _, amount in attributed] == ["5000.00"]  # the late report re-sends it, same id


def test_an_amount_said_after_the_status_is_taken_and_one_said_before_the_stored_amount_is_not() -> None:
    # Given a deal won with 10.00 at AT
    won = deal_report(event(EventType.DEAL_WON, {"amount": "10"}, at=AT, deal_id="s:W"), "USD")
    later = deal_report(
        event(EventType.DEAL_UPDATED, {"amount": "30"}, at=AT + timedelta(hours=2), deal_id="s:W"), "USD"
    )
    between = deal_report(
        event(EventType.DEAL_UPDATED, {"amount": "20"}, at=AT + timedelta(hours=1), deal_id="s:W"), "USD"
    )
    assert won
    assert later
    assert between
    # When an update of +2h is folded, then one of +1h
    deal = Deal.first(won).folded(later).folded(between)
    # Then the amount is the +2h one; the status and its time are the win's
    assert (deal.amount, deal.amount_at) == (Money(3000, "USD"), AT + timedelta(hours=2))
    assert (deal.status, deal.status_at) == (DealStatus.WON, AT)


def test_a_deal_stored_before_amount_at_takes_its_amount_as_of_its_status() -> None:
    # Given a deal as stored before amount_at was kept: won at AT with 10.00, no amount time
    won = deal_report(event(EventType.DEAL_WON, {"amount": "10"}, at=AT, deal_id="s:O"), "USD")
    assert won
    stored = Deal.first(won)
    old = Deal(stored.deal_id, AT, DealStatus.WON, AT, Money(1000, "USD"), stored.people, AT, events=1, version=1)
    before = deal_report(
        event(EventType.DEAL_UPDATED, {"amount": "5"}, at=AT - timedelta(hours=1), deal_id="s:O"), "USD"
    )
    after = deal_report(
        event(EventType.DEAL_UPDATED, {"amount": "20"}, at=AT + timedelta(hours=1), deal_id="s:O"), "USD"
    )
    assert before
    assert after
    # Then an amount said before its status's time does not replace it; one said after does, with its time
    assert old.folded(before).amount == Money(1000, "USD")
    assert (old.folded(after).amount, old.folded(after).amount_at) == (Money(2000, "USD"), AT + timedelta(hours=1))


def test_a_win_delivered_after_a_later_update_that_first_showed_the_deal_still_converts() -> None:
    # Given a HubSpot deal won at +1h, its amount changed at +2h
    world = World()
    journey_of_three(world)
    deal = "hubspot:7002"
    t0 = world.clock.now()
    world.clock.moment = t0 + timedelta(hours=1)
    won = world.event(EventType.DEAL_WON, {"stage": "closedwon"}, vendor="hubspot", deal_id=deal)
    world.clock.moment = t0 + timedelta(hours=2)
    amount = world.event(EventType.DEAL_UPDATED, {"amount": "4800"}, vendor="hubspot", deal_id=deal)
    world.clock.moment = t0 + timedelta(hours=3)
    # When the update is delivered first (the deal first seen through it), the win after it
    first = world.service.handle(amount)
    out = world.service.handle(won)
    # Then the update left the deal open with no status time; the win sets it, and the deal converts at the win
    assert first.deal is not None
    assert (first.deal.status, first.deal.status_at) == (DealStatus.OPEN, None)
    assert out.deal is not None
    assert (out.deal.status, out.deal.status_at) == (DealStatus.WON, t0 + timedelta(hours=1))
    conversion = world.store.conversion(f"deal:{deal}")
    assert conversion is not None
    assert (conversion.amount, conversion.converted_at) == (Money(480_000, "USD"), t0 + timedelta(hours=1))
    # And it is no longer pipeline (it counted as such while open with an amount)
    assert world.store.deal_pipeline(deal) is None


def test_a_later_stage_change_after_an_update_first_deal_still_wins_over_an_older_win() -> None:
    # Given a deal first seen by an update, then reopened (stage change at +3h), then a win of +1h delivered late
    update = deal_report(
        event(EventType.DEAL_UPDATED, {"amount": "10"}, at=AT + timedelta(hours=2), deal_id="s:R"), "USD"
    )
    reopened = deal_report(event(EventType.DEAL_STAGE_CHANGED, {}, at=AT + timedelta(hours=3), deal_id="s:R"), "USD")
    won = deal_report(event(EventType.DEAL_WON, {}, at=AT + timedelta(hours=1), deal_id="s:R"), "USD")
    assert update
    assert reopened
    assert won
    # When folded in that order
    deal = Deal.first(update).folded(reopened).folded(won)
    # Then the latest status said (open at +3h) stands
    assert (deal.status, deal.status_at) == (DealStatus.OPEN, AT + timedelta(hours=3))


def test_a_won_deal_reopened_is_revenue_once_and_not_pipeline() -> None:
    # Given a deal won for 3,000.00 over kim's journey
    world = World()
    journey_of_three(world)
    world.won("D-1", "3000.00", email="kim@acme.io")
    # When it is reopened an hour later
    world.clock.advance(timedelta(hours=1))
    reopened = world.service.handle(
        world.event(
            EventType.DEAL_STAGE_CHANGED,
            {"amount": "3000.00", "email": "kim@acme.io"},
            vendor="standard",
            deal_id="standard:D-1",
        )
    )
    # Then it stays the revenue of its win and adds no pipeline, and says why
    assert reopened.note == "deal standard:D-1 reopened: counted as the revenue of its win, not as pipeline"
    assert world.service.campaign_totals("social", ["2026-11"]).revenue[Model.FIRST_TOUCH] == 300_000
    assert world.service.pipeline("social")[Model.FIRST_TOUCH] == 0
    assert world.store.total_pipeline()[Model.LINEAR] == 0
    # And lost later, it still is the revenue of its win, once
    world.clock.advance(timedelta(hours=1))
    world.service.handle(world.event(EventType.DEAL_LOST, {}, vendor="standard", deal_id="standard:D-1"))
    assert world.service.campaign_totals("social", ["2026-11"]).revenue[Model.FIRST_TOUCH] == 300_000
    assert world.service.campaign_totals("social", ["2026-11"]).conversions == 1
    assert world.service.pipeline("social")[Model.FIRST_TOUCH] == 0


def test_a_deal_won_without_an_amount_then_reopened_with_one_is_pipeline() -> None:
    # Given a deal won with no amount (no conversion), reopened with one
    world = World()
    journey_of_three(world)
    world.service.handle(
        world.event(EventType.DEAL_WON, {"email": "kim@acme.io"}, vendor="standard", deal_id="standard:D-9")
    )
    world.clock.advance(timedelta(hours=1))
    world.service.handle(
        world.event(
            EventType.DEAL_STAGE_CHANGED,
            {"amount": "2000.00", "email": "kim@acme.io"},
            vendor="standard",
            deal_id="standard:D-9",
        )
    )
    # Then nothing was credited, and it is pipeline
    assert world.store.conversion("deal:standard:D-9") is None
    assert world.service.pipeline("social")[Model.FIRST_TOUCH] == 200_000
