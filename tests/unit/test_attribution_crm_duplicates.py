"""One deal, one conversion: a deal both CRMs report (HubSpot's deal naming its Salesforce Opportunity in
`hs_salesforceopportunityid`) and a customer's first payment beside the customer's won deal are credited once,
whatever order their events arrive in, and replaying them changes nothing."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from shared.attribution.journeys import Model
from shared.attribution.ports import Overall, StoredConversion
from shared.events.canonical import EventType
from tests.unit.test_attribution_service import World, journey_of_three

HS = "hubspot:7001"
SF = "salesforce:006A000001"
LINK = {"action": "propertyChange", "property": "hs_salesforceopportunityid", "value": "006A000001"}


def _link(world: World) -> Any:
    return world.service.handle(world.event(EventType.DEAL_UPDATED, LINK, vendor="hubspot", deal_id=HS))


def _hubspot_won(world: World) -> Any:
    amount = {"action": "propertyChange", "property": "amount", "value": "12000", "amount": "12000"}
    world.service.handle(world.event(EventType.DEAL_UPDATED, amount, vendor="hubspot", deal_id=HS))
    world.service.handle(world.event(EventType.DEAL_WON, {"stage": "closedwon"}, vendor="hubspot", deal_id=HS))
    buyer = {"amount": "12000.00", "email": "kim@acme.io"}
    return world.service.handle(world.event(EventType.DEAL_WON, buyer, vendor="standard", deal_id=HS))


def _salesforce_won(world: World) -> Any:
    fields = {"Id": "006A000001", "StageName": "Closed Won", "IsWon": "true", "IsClosed": "true", "Amount": "12000.0"}
    data = {"fields": fields, "email": "kim@acme.io"}
    return world.service.handle(world.event(EventType.DEAL_WON, data, vendor="salesforce", deal_id=SF))


def _live(world: World) -> list[StoredConversion]:
    return [c for c in world.store.stored.values() if c.superseded_by is None]


def _assert_credited_once(world: World) -> None:
    live = _live(world)
    assert [c.conversion_id for c in live] == [f"deal:{SF}"]
    assert live[0].company_minor == 1_200_000
    assert [t.touch.campaign_id for t in live[0].touches] == ["social", "search", "mail"]
    totals = world.service.campaign_totals("mail", ["2026-11"])
    assert totals.revenue[Model.LAST_TOUCH] == 1_200_000
    assert totals.conversions == 1
    everything = sum(t.revenue[Model.LAST_TOUCH] for t in world.service.channel_totals(["2026-11"]).values())
    assert everything == 1_200_000
    assert world.store.overall(["2026-11"]) == {"2026-11": Overall(1_200_000, 1, 1_200_000, 1)}
    assert not any(world.store.total_pipeline().values())
    hubspot = world.store.conversion(f"deal:{HS}")
    assert hubspot is None or (hubspot.superseded_by == f"deal:{SF}" and hubspot.company_minor == 0)


STEPS: dict[str, Callable[[World], Any]] = {"link": _link, "hubspot": _hubspot_won, "salesforce": _salesforce_won}


@pytest.mark.parametrize("order", list(itertools.permutations(STEPS)), ids="-".join)
def test_a_deal_both_crms_report_is_one_conversion_in_any_order(order: tuple[str, ...]) -> None:
    world = World()
    journey_of_three(world)
    for step in order:
        world.clock.advance(timedelta(minutes=5))
        STEPS[step](world)
    _assert_credited_once(world)
    # And a replay of everything, in any order, changes nothing
    stored = dict(world.store.stored)
    for step in reversed(order):
        STEPS[step](world)
    _assert_credited_once(world)
    assert world.store.stored == stored


def test_the_hubspot_deal_is_folded_into_the_salesforce_one_and_its_conversion_announced() -> None:
    world = World()
    journey_of_three(world)
    _hubspot_won(world)
    _salesforce_won(world)
    before = len(world.bus.published)
    outcome = _link(world)
    # The HubSpot deal is an alias of the Salesforce deal, which lists it
    assert outcome.deal is not None
    assert outcome.deal.deal_id == SF
    assert outcome.deal.aliases == (HS,)
    alias = world.store.deal(HS)
    assert alias is not None
    assert alias.alias_of == SF
    # The emptied HubSpot conversion is announced as a re-attribution is (an id of its own)
    announced = world.bus.published[before:]
    salesforce = world.store.conversion(f"deal:{SF}")
    assert salesforce is not None
    # the Salesforce deal's own event again, with the id it had (a duplicate consumers drop)
    assert {e.event_id for e in announced if e.conversion_id == f"deal:{SF}"} == {
        world.service.event_of(salesforce).event_id
    }
    [event] = [e for e in announced if e.conversion_id == f"deal:{HS}"]
    assert event.amount == "0.00"
    assert event.touches == 0
    hubspot = world.store.conversion(f"deal:{HS}")
    assert hubspot is not None
    assert not hubspot.unannounced
    # And the deal's attribution, asked for by either id, is the Salesforce deal's
    assert world.service.deal_credit(HS) == salesforce
    assert world.service.deal_credit(SF) == salesforce


def test_a_hubspot_deal_linked_before_it_was_won_reads_as_its_salesforce_deal() -> None:
    world = World()
    journey_of_three(world)
    _link(world)
    _hubspot_won(world)
    assert world.store.conversion(f"deal:{HS}") is None
    credited = world.service.deal_credit(HS)
    assert credited is not None
    assert credited.conversion_id == f"deal:{SF}"
    assert world.service.deal_credit("hubspot:404") is None


def test_the_same_open_deal_from_both_crms_is_pipeline_once() -> None:
    world = World()
    journey_of_three(world)
    open_hs = {"stage": "presentationscheduled", "amount": "5000", "email": "kim@acme.io"}
    world.service.handle(world.event(EventType.DEAL_STAGE_CHANGED, open_hs, vendor="standard", deal_id=HS))
    sf = {"Id": "006A000001", "StageName": "Proposal", "IsWon": "false", "IsClosed": "false", "Amount": "5000.0"}
    world.service.handle(
        world.event(
            EventType.DEAL_STAGE_CHANGED, {"fields": sf, "email": "kim@acme.io"}, vendor="salesforce", deal_id=SF
        )
    )
    assert world.service.pipeline("mail")[Model.LAST_TOUCH] == 1_000_000  # two deals until the link is known
    _link(world)
    assert world.service.pipeline("mail")[Model.LAST_TOUCH] == 500_000
    assert world.store.total_pipeline()[Model.LAST_TOUCH] == 500_000
    assert world.store.deal_pipeline(HS) is None
    _link(world)  # a replay
    assert world.store.total_pipeline()[Model.LAST_TOUCH] == 500_000


def test_a_link_to_another_opportunity_later_does_not_move_the_deal() -> None:
    world = World()
    journey_of_three(world)
    _link(world)
    other = {"action": "propertyChange", "property": "hs_salesforceopportunityid", "value": "006B000009"}
    outcome = world.service.handle(world.event(EventType.DEAL_UPDATED, other, vendor="hubspot", deal_id=HS))
    assert outcome.deal is not None
    assert outcome.deal.deal_id == SF
    assert world.store.deal("salesforce:006B000009") is None


# ------------------------------------------------------------------------------------- first payments


def _payment(world: World, object_id: str = "in_1") -> Any:
    who = {"contact_id": "stripe:cus_k", "account_id": "stripe:cus_k", "email": "kim@acme.io"}
    data = {"amount_minor": 1_200_000, "currency": "usd", "object": "invoice", "object_id": object_id}
    return world.service.handle(world.event(EventType.PAYMENT_SUCCEEDED, data, vendor="stripe", **who))


def _assert_the_deal_alone(world: World) -> None:
    totals = world.service.campaign_totals("mail", ["2026-11"])
    assert totals.revenue[Model.LAST_TOUCH] == 1_200_000
    assert totals.conversions == 1
    assert world.store.overall(["2026-11"])["2026-11"].conversions == 1
    assert [c.conversion_id for c in _live(world)] == ["deal:standard:D-3"]
    payment = world.store.conversion("first-payment:stripe:cus_k")
    assert payment is not None
    assert payment.superseded_by == "deal:standard:D-3"
    assert payment.company_minor == 0


def test_a_customers_first_payment_after_its_won_deal_is_not_credited_again() -> None:
    world = World()
    journey_of_three(world)
    world.won("D-3", "12000.00", email="kim@acme.io")
    world.clock.advance(timedelta(days=1))
    outcome = _payment(world)
    assert "won deal" in outcome.note
    _assert_the_deal_alone(world)
    _payment(world, "ch_1")  # Stripe's charge for the same payment, a later payment: nothing more
    _assert_the_deal_alone(world)


def test_a_won_deal_after_the_customers_first_payment_replaces_it() -> None:
    world = World()
    journey_of_three(world)
    first = _payment(world)
    assert first.conversion is not None
    assert first.conversion.company_minor == 1_200_000
    assert world.service.campaign_totals("mail", ["2026-11"]).revenue[Model.LAST_TOUCH] == 1_200_000
    world.clock.advance(timedelta(days=1))
    before = len(world.bus.published)
    world.won("D-3", "12000.00", email="kim@acme.io")
    _assert_the_deal_alone(world)
    said = {e.conversion_id for e in world.bus.published[before:]}
    assert said == {"deal:standard:D-3", "first-payment:stripe:cus_k"}
    # replays change nothing
    stored = dict(world.store.stored)
    _payment(world)
    world.won("D-3", "12000.00", email="kim@acme.io")
    assert world.store.stored == stored
    _assert_the_deal_alone(world)


def test_another_customers_first_payment_is_still_credited() -> None:
    world = World()
    journey_of_three(world)
    journey_of_three(world, "u2", "lee@other.io")
    world.won("D-3", "12000.00", email="kim@acme.io")
    who = {"contact_id": "stripe:cus_l", "account_id": "stripe:cus_l", "email": "lee@other.io"}
    data = {"amount_minor": 50_000, "currency": "usd", "object": "invoice", "object_id": "in_9"}
    outcome = world.service.handle(world.event(EventType.PAYMENT_SUCCEEDED, data, vendor="stripe", **who))
    assert outcome.conversion is not None
    assert outcome.conversion.superseded_by is None
    assert outcome.conversion.company_minor == 50_000


# ------------------------------------------------------------------------------------------ normalizer


def test_hubspots_salesforce_opportunity_property_is_surfaced_on_the_deal_event() -> None:
    from tests.unit.test_normalization import normalize
    from tests.webhook_samples import hubspot_event, hubspot_events

    link = hubspot_event(
        subscriptionType="deal.propertyChange", propertyName="hs_salesforceopportunityid", propertyValue="006A000001"
    )
    [event] = normalize("hubspot", hubspot_events(link))
    assert event.event_type is EventType.DEAL_UPDATED
    assert event.subject.deal_id == "hubspot:123"
    assert event.data["salesforce_opportunity_id"] == "006A000001"
    cleared = hubspot_event(
        subscriptionType="deal.propertyChange", propertyName="hs_salesforceopportunityid", propertyValue=""
    )
    [event] = normalize("hubspot", hubspot_events(cleared))
    assert "salesforce_opportunity_id" not in event.data
    won = hubspot_event(
        subscriptionType="deal.propertyChange",
        propertyName="dealstage",
        propertyValue="closedwon",
        properties={"hs_salesforceopportunityid": "006A000001"},
    )
    [event] = normalize("hubspot", hubspot_events(won))
    assert event.event_type is EventType.DEAL_WON
    assert event.data["salesforce_opportunity_id"] == "006A000001"


def test_a_15_character_salesforce_id_in_hubspot_names_the_18_character_opportunity() -> None:
    # Given Salesforce's documented example of one id in both forms
    from shared.attribution.deals import salesforce_id_18

    # When the 15-character (case-sensitive) form is read as HubSpot's property may hold it
    # Then it is the 18-character id Salesforce's outbound messages give; an 18-character id stays as it is
    assert salesforce_id_18("001A0000006Vm9r") == "001A0000006Vm9rIAC"
    assert salesforce_id_18("001A0000006Vm9rIAC") == "001A0000006Vm9rIAC"
    assert salesforce_id_18("not-an-id") == "not-an-id"
