"""A signal from a person the lead processor links a moment later (a Typeform NPS answer from a new contact) is not
left parked: the recorder waits in place for the lead processor while the event is one it handles too, and the
nightly adopts a parked log whose event named someone linked since (its index entry), then forgets the entry; an
entry nobody links is given up after `PARKED_WATCH`, its signals still parked."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared.events.canonical import CanonicalEvent, EventType
from shared.success.service import CATCH_UP_PAUSES, PARKED_WATCH
from tests.unit.test_health_service import CUSTOMER, START, World

NEWCOMER = "jane@kestrel-labs.io"


def nps_answer(world: World, email: str = NEWCOMER) -> CanonicalEvent:
    return world.event(
        EventType.SURVEY_RESPONDED, {"answers": {"nps": 2}, "form_id": "nps"}, vendor="typeform", email=email
    )


def nps_line(world: World, tenant: str) -> Any:
    return next(line for line in world.service.health_of(tenant).health.lines if line.measure == "nps")


def test_the_recorder_waits_in_place_for_the_lead_processor_to_link_a_new_contact() -> None:
    # Given a customer, and an NPS answer from a contact the lead processor has not created yet
    world = World()
    tenant = world.customer()
    survey = nps_answer(world)
    # When the recorder takes it first, and the lead processor links jane while the recorder waits
    waits: list[float] = []

    def lead_processor_catches_up(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 2:
            world.leads.handle(survey)

    world.service._pause = lead_processor_catches_up
    outcome = world.service.handle(survey)
    # Then the answer is the account's at once, nothing parked, after two waits
    assert outcome.tenant_id == tenant
    assert waits == list(CATCH_UP_PAUSES[:2])
    assert nps_line(world, tenant).value == 2
    assert world.store.parked().logs == []


def test_a_payment_is_parked_without_waiting() -> None:
    # Given a Stripe customer the hub never saw created (the lead processor does not handle payments)
    world = World()
    # When its payment reaches the recorder
    outcome = world.service.handle(
        world.event(EventType.PAYMENT_SUCCEEDED, {"amount_minor": 4900, "currency": "usd"}, account_id=CUSTOMER)
    )
    # Then it is parked at once, and its parked log indexed under what it named
    assert "parked" in outcome.note
    assert world.pauses == []
    (entry,) = world.store.parked().logs
    assert (entry.log, entry.names) == ("unlinked:" + CUSTOMER, (CUSTOMER,))


def test_the_nightly_adopts_an_answer_parked_before_the_lead_processor_linked_its_contact() -> None:
    # Given an NPS answer parked by the recorder (the lead processor still behind after every wait)
    world = World()
    tenant = world.customer()
    survey = nps_answer(world)
    parked = world.service.handle(survey)
    assert "parked" in parked.note
    assert world.pauses == list(CATCH_UP_PAUSES)
    # And the lead processor linking jane to the account afterwards; nothing else ever names her
    world.leads.handle(survey)
    world.clock.advance(timedelta(days=1))
    # When the nightly runs
    world.service.recompute_all("nightly")
    # Then her answer counts in the account's health, it left the parked log, and the index forgot it
    assert nps_line(world, tenant).value == 2
    assert world.store.signals("unlinked:" + NEWCOMER, START - timedelta(days=1)) == []
    assert world.store.parked().logs == []


def test_a_parked_log_nobody_links_is_watched_for_a_while_then_left_to_the_next_signal() -> None:
    # Given an answer from someone at a company the hub does not know
    world = World()
    world.service.handle(nps_answer(world, "ann@unknown-co.io"))
    # When nightlies run within the watch
    world.clock.advance(PARKED_WATCH - timedelta(days=1))
    world.service.recompute_all("nightly")
    # Then it stays parked and indexed
    assert [e.log for e in world.store.parked().logs] == ["unlinked:ann@unknown-co.io"]
    # And past the watch the index forgets it, its signal still parked for a later event naming her
    world.clock.advance(timedelta(days=2))
    world.service.recompute_all("nightly")
    assert world.store.parked().logs == []
    assert len(world.store.signals("unlinked:ann@unknown-co.io", START - timedelta(days=1))) == 1
