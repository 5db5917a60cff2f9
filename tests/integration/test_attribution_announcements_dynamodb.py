"""The outbox of a re-credited conversion on DynamoDB: the mark that its `conversion.attributed` is still to be
published is written with the replacement, read back, kept by the data-driven batch's write, and cleared once
the event is out; a re-credit the bus refused is announced by the next `make reattribute`
(tests/unit/test_attribution_announcements.py has the same on the in-memory store)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from shared.adapters.dynamodb_attribution import DynamoDbAttributionStore
from shared.attribution.data_driven import recredit
from shared.attribution.markov import fit_markov, path_counts
from shared.attribution.ports import StoredConversion
from shared.attribution.service import AttributionService, BusRefused
from shared.catalog import physical_name
from shared.catalog.attribution import ATTRIBUTION
from shared.events.canonical import EventType
from tests.fakes import RecordingPublisher
from tests.integration.conftest import STAGE, only_table
from tests.unit.test_attribution_reattribution import service_with
from tests.unit.test_attribution_service import FINANCE, World, journey_of_three

CONVERSION = "deal:standard:D-1"


@pytest.fixture
def world() -> Iterator[World]:
    """The attribution of `World` over the DynamoDB adapter (moto)."""
    with only_table(ATTRIBUTION) as client:
        world = World()
        world.store = DynamoDbAttributionStore(client, physical_name(STAGE, ATTRIBUTION.name))  # type: ignore[assignment]
        world.service = AttributionService(
            store=world.store,
            leads=world.leads_repo,
            fx=world.finance,
            config=world.service.config,
            company_currency=FINANCE.company_currency,
            publisher=world.bus,
            clock=world.clock,
            spend=world.finance,
            finance=FINANCE,
        )
        yield world


def stored(world: World) -> StoredConversion:
    found = world.store.conversion(CONVERSION)
    assert found is not None
    return found


def test_a_refused_announcement_is_kept_in_dynamodb_and_published_by_the_next_run(world: World) -> None:
    # Given kim's deal credited to her three touches
    journey_of_three(world)
    body = {"amount": "12000.00", "currency": "USD", "email": "kim@acme.io"}
    world.service.handle(world.event(EventType.DEAL_WON, body, vendor="standard", deal_id="standard:D-1"))
    # When it is reattributed under a 5-day lookback and the bus refuses its new event
    world.clock.advance(timedelta(days=1))
    bus = RecordingPublisher()
    short = service_with(world, "short", bus, lookback_days=5)
    bus.refuse_next = 1
    with pytest.raises(BusRefused):
        short.reattribute(stored(world))
    # Then the table holds the re-credit marked as owing its event
    marked = stored(world)
    assert (marked.settings_version, marked.unannounced, bus.published) == ("short", True, [])
    # And the data-driven batch's write keeps the mark
    fit = fit_markov(path_counts([(["email"], True), (["paid_social"], False)]))
    moved = world.store.replace_data_driven(marked, *recredit(marked, fit), "2026-11#fit")
    assert stored(world) == moved
    assert moved.unannounced
    # When the next run reads it
    # (the fit it was moved to was never saved as the latest: recording now credits it with none, so it changes;
    # its one touch holds everything under any fit, so what its event says does not)
    assert short.reattribute(moved) == "changed"
    # Then its event is published, as stored, and the mark is cleared in the table
    (announced,) = bus.published
    assert announced == short.recredited_event(moved)
    assert (stored(world).unannounced, stored(world).fit_id) == (False, None)
    # And a further run publishes nothing
    assert short.reattribute(stored(world)) == "unchanged"
    assert len(bus.published) == 1
