"""A person's erasure leaves no claim of the signals their events filed (`FILED#<event id>`, which names their
event's id as the signal does): the claims go with the signals."""

from __future__ import annotations

from typing import Any

from shared.adapters.dynamodb_success import DynamoDbHealthStore
from shared.privacy.service import PrivacyService
from shared.success.service import HealthService
from tests.fakes import FixedClock
from tests.integration import test_privacy_success_carried as carried
from tests.integration.test_privacy_success_carried import LOG, OLAF_TICKET, TABLE, TENANT, stored_text

world = carried.world  # the erasure's world: Fjord's log, Greta and Olaf


def test_erasing_a_person_removes_the_claims_of_the_signals_their_events_filed(
    world: tuple[PrivacyService, HealthService, FixedClock, Any],
) -> None:
    privacy, _, _, client = world
    # Given Olaf's ticket filed under Fjord with its claim (as the recorder files an event's signal)
    store = DynamoDbHealthStore(client, TABLE)
    (ticket,) = [s for s in LOG if s.signal_id == OLAF_TICKET]
    store.drop_signals(TENANT, [ticket])
    assert store.file_signal(TENANT, ticket) is None
    assert store.filed_under(ticket) == TENANT
    # When Olaf is erased
    privacy.erase("olaf@fjord.io")
    # Then no item of the table holds his event's id: neither the signal nor its claim
    assert [t for t in stored_text(client) if OLAF_TICKET in t] == []
    assert store.filed_under(ticket) is None
