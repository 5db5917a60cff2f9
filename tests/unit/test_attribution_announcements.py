"""A re-credited conversion's `conversion.attributed` never runs ahead of the store: `make reattribute` and the
crediting of a deal whose buyer is named late write the new credits first, marked as not yet announced in the
same write (an outbox), publish after, and clear the mark; a bus refusal leaves the mark, and whoever reads the
conversion next (the next run, the deal's next event) publishes the same event. A HubSpot deal credited to
nobody and later to its buyer is announced with an id of its own, so the CRM sync writes its summary."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from shared.attribution.ports import StoredConversion
from shared.attribution.service import AttributionService, BusRefused
from shared.crm.inbound import CrmReport
from shared.events.attribution_events import AttributionEvent
from shared.events.canonical import EventType
from shared.webhooks.ports import PublishResult
from tests.attribution_fakes import InMemoryAttributionStore
from tests.fakes import RecordingPublisher
from tests.unit.test_attribution_reattribution import service_with
from tests.unit.test_attribution_service import FINANCE, START, World, journey_of_three
from tests.unit.test_crm_sync import Hub as CrmHub

DEAL = "hubspot:7001"
CONVERSION = f"deal:{DEAL}"


class StoreReadingBus(RecordingPublisher):
    """A bus whose consumer reads the attribution store as each event goes out (a CRM sync looking the deal's
    credits up): it records what the store held for the event's conversion at that moment."""

    def __init__(self, store: InMemoryAttributionStore) -> None:
        super().__init__()
        self.store = store
        self.store_said: list[StoredConversion | None] = []

    def publish(self, events: Sequence[Any]) -> PublishResult:
        for event in events:
            if isinstance(event, AttributionEvent) and event.conversion_id:
                self.store_said.append(self.store.conversion(event.conversion_id))
        return super().publish(events)


class FailingReplacement(InMemoryAttributionStore):
    """A store whose next replacement fails after it was asked (a transaction DynamoDB cancels)."""

    def __init__(self) -> None:
        super().__init__()
        self.fail_next = False

    def replace_conversion(self, old: StoredConversion, new: StoredConversion) -> bool:
        if self.fail_next:
            self.fail_next = False
            raise ValueError("the transaction was cancelled")
        return super().replace_conversion(old, new)


@pytest.fixture
def world() -> World:
    return World()


def stored(world: World) -> StoredConversion:
    found = world.store.conversion(CONVERSION)
    assert found is not None
    return found


def crm_with_the_deal() -> CrmHub:
    crm = CrmHub()
    crm.crms["hubspot"].records["7001"] = {"dealname": "Kestrel", "amount": "4800"}
    crm.crms["hubspot"].kinds["7001"] = "deal"
    crm.service.crm_changed(CrmReport("hubspot", "deal", "7001", {"amount": "4800"}, START, None, None, "d", False))
    return crm


def deliver(crm: CrmHub, *events: AttributionEvent) -> None:
    for event in events:
        crm.service.on_bus_event("revops.attribution", event.model_dump(mode="json"))
    crm.drain()


def summary_in_hubspot(crm: CrmHub) -> str | None:
    return crm.crms["hubspot"].records["7001"].get("revops_attribution_summary")


def won_with_kims_journey(world: World) -> None:
    journey_of_three(world)
    body = {"amount": "4800.00", "currency": "USD", "email": "kim@acme.io"}
    world.service.handle(world.event(EventType.DEAL_WON, body, vendor="standard", deal_id=DEAL))


def attribution_over(world: World, store: InMemoryAttributionStore, bus: RecordingPublisher) -> AttributionService:
    world.store = store
    world.bus = bus
    world.service = AttributionService(
        store=store,
        leads=world.leads_repo,
        fx=world.finance,
        config=world.service.config,
        company_currency=world.service.company_currency,
        publisher=bus,
        clock=world.clock,
        spend=world.finance,
        finance=FINANCE,
    )
    return world.service


# ----------------------------------------------------------------------------------------- make reattribute


def test_a_reattributions_event_goes_out_once_the_store_holds_what_it_says(world: World) -> None:
    # Given kim's deal credited to her three touches, and a consumer that reads the store as each event goes out
    bus = StoreReadingBus(world.store)
    won_with_kims_journey(world)
    # When the lookback becomes 5 days and the conversion is reattributed
    world.clock.advance(timedelta(days=1))
    short = service_with(world, "short", bus, lookback_days=5)
    assert short.reattribute(stored(world)) == "changed"
    # Then its new conversion.attributed went out when the store already held the re-credited conversion
    (event,) = bus.published
    (seen,) = bus.store_said
    assert seen is not None
    assert seen.settings_version == "short"
    assert event == short.recredited_event(stored(world))
    # And the conversion is no longer marked as owing its event
    assert stored(world).unannounced is False


def test_a_replacement_that_fails_publishes_nothing(world: World) -> None:
    # Given kim's deal credited, over a store whose next replacement fails
    failing = FailingReplacement()
    bus = RecordingPublisher()
    attribution_over(world, failing, bus)
    won_with_kims_journey(world)
    first = stored(world)
    published = len(bus.published)
    # When it is reattributed under a 5-day lookback and the replacement fails
    world.clock.advance(timedelta(days=1))
    short = service_with(world, "short", bus, lookback_days=5)
    failing.fail_next = True
    with pytest.raises(ValueError, match="cancelled"):
        short.reattribute(first)
    # Then the store holds what it held and the bus was told nothing new
    assert stored(world) == first
    assert len(bus.published) == published


def test_a_stale_reattribution_publishes_nothing(world: World) -> None:
    # Given kim's deal credited and read by a reattribution, then re-credited by someone else meanwhile
    won_with_kims_journey(world)
    read = stored(world)
    world.clock.advance(timedelta(days=1))
    assert service_with(world, "other", None, lookback_days=8).reattribute(read) == "changed"
    bus = RecordingPublisher()
    # When the reattribution replaces what it read
    short = service_with(world, "short", bus, lookback_days=5)
    assert short.reattribute(read) == "stale"
    # Then nothing is announced: the store never held what it would have said
    assert bus.published == []
    assert stored(world).settings_version == "other"


def test_a_refused_announcement_is_published_by_the_next_run_and_reaches_the_crm(world: World) -> None:
    # Given kim's HubSpot deal credited to her three touches, its summary written in the CRM
    crm = crm_with_the_deal()
    won_with_kims_journey(world)
    (recorded,) = world.bus.published
    deliver(crm, recorded)
    assert summary_in_hubspot(crm) == "3 touches; first: social; last: mail; 4800.00 USD"
    # When it is reattributed under a 5-day lookback and the bus refuses its new event
    world.clock.advance(timedelta(days=1))
    bus = RecordingPublisher()
    short = service_with(world, "short", bus, lookback_days=5)
    bus.refuse_next = 1
    with pytest.raises(BusRefused):
        short.reattribute(stored(world))
    # Then the re-credit is stored, marked as owing its event, and the CRM still shows what it was told
    marked = stored(world)
    assert (marked.settings_version, marked.unannounced, bus.published) == ("short", True, [])
    assert summary_in_hubspot(crm) == "3 touches; first: social; last: mail; 4800.00 USD"
    # When the next run reads it
    assert short.reattribute(marked) == "unchanged"
    # Then it publishes the event of what is stored, clears the mark, and the CRM writes the new summary
    (again,) = bus.published
    assert again == short.recredited_event(marked)
    assert stored(world) == replace(marked, unannounced=False)
    deliver(crm, again)
    assert summary_in_hubspot(crm) == "1 touches; first: mail; last: mail; 4800.00 USD"
    # And a further run publishes nothing more
    assert short.reattribute(stored(world)) == "unchanged"
    assert len(bus.published) == 1


# -------------------------------------------------------------------------------- the live path (recorder)


def test_a_first_credit_is_published_once_stored(world: World) -> None:
    # Given a consumer that reads the store as each event goes out
    bus = StoreReadingBus(world.store)
    attribution_over(world, world.store, bus)
    # When kim's deal is won
    won_with_kims_journey(world)
    # Then its conversion.attributed went out when the store held the conversion
    assert bus.store_said == [stored(world)]


# ------------------------------------------------------------------------- a HubSpot buyer named later


def hubspot_deal_credited_to_nobody(world: World) -> AttributionEvent:
    """A HubSpot deal won, then priced: credited to nobody (HubSpot's deal events name no contact)."""
    world.service.handle(world.event(EventType.DEAL_WON, {"stage": "closedwon"}, vendor="hubspot", deal_id=DEAL))
    amount = {"property": "amount", "value": "4800", "amount": "4800"}
    priced = world.service.handle(world.event(EventType.DEAL_UPDATED, amount, vendor="hubspot", deal_id=DEAL))
    (event,) = priced.events
    return event


def test_a_deal_credited_again_to_its_buyer_named_later_reaches_the_crm(world: World) -> None:
    # Given kim's journey, and a HubSpot deal credited to nobody whose summary the CRM sync wrote
    journey_of_three(world)
    crm = crm_with_the_deal()
    bus = StoreReadingBus(world.store)
    attribution_over(world, world.store, bus)
    first = hubspot_deal_credited_to_nobody(world)
    deliver(crm, first)
    assert summary_in_hubspot(crm) == "0 touches; first: none; last: none; 4800.00 USD"
    # When a later deal.won of the same deal names kim
    naming = world.event(EventType.DEAL_WON, {"deal_id": DEAL, "email": "kim@acme.io"}, vendor="standard", deal_id=DEAL)
    outcome = world.service.handle(naming)
    # Then it is announced with an id of its own, once the store holds the new credits
    (credited_again,) = outcome.events
    assert credited_again.event_id != first.event_id
    assert credited_again == world.service.recredited_event(stored(world))
    assert bus.store_said[-1] is not None
    assert len(bus.store_said[-1].touches) == 3
    assert stored(world).unannounced is False
    # And the CRM sync writes the deal's summary with kim's journey
    deliver(crm, credited_again)
    assert summary_in_hubspot(crm) == "3 touches; first: social; last: mail; 4800.00 USD"
    # And the same event delivered again changes nothing in the CRM
    deliver(crm, *world.service.handle(naming).events)
    assert summary_in_hubspot(crm) == "3 touches; first: social; last: mail; 4800.00 USD"


def test_a_refused_announcement_of_a_buyer_named_later_is_published_by_the_retry(world: World) -> None:
    # Given kim's journey, and a HubSpot deal credited to nobody whose summary the CRM sync wrote
    journey_of_three(world)
    crm = crm_with_the_deal()
    deliver(crm, hubspot_deal_credited_to_nobody(world))
    # When a deal.won naming kim arrives and the bus refuses its event
    naming = world.event(EventType.DEAL_WON, {"deal_id": DEAL, "email": "kim@acme.io"}, vendor="standard", deal_id=DEAL)
    world.bus.refuse_next = 1
    with pytest.raises(BusRefused):
        world.service.handle(naming)
    # Then the store holds kim's credits, marked as owing their event
    marked = stored(world)
    assert (len(marked.touches), marked.unannounced) == (3, True)
    # When the event is retried (Lambda's retry, or make redrive)
    retried = world.service.handle(naming)
    # Then the same re-credit is announced, with the id its stored credits give, and the CRM takes it
    (event,) = retried.events
    assert event == world.service.recredited_event(marked)
    assert stored(world) == replace(marked, unannounced=False)
    deliver(crm, event)
    assert summary_in_hubspot(crm) == "3 touches; first: social; last: mail; 4800.00 USD"
