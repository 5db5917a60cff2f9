"""State that outlives the log's read window (a ticket never solved, a payment never made good), and a customer too
new to score, through the health service on in-memory stores."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from shared.events.canonical import EventType
from shared.events.success_events import SuccessEventType
from shared.success.api_models import HealthResponse
from shared.success.carry import copies_in
from shared.success.service import EPOCH
from shared.success.signals import Signal, SignalKind
from tests.unit.test_health_service import CUSTOMER, World

PAID = {"amount_minor": 4900, "currency": "usd"}


@pytest.fixture
def world() -> World:
    return World()


def line(world: World, tenant: str, measure: str) -> tuple[Any, int | None]:
    found = next(m for m in world.service.health_of(tenant).health.lines if m.measure == measure)
    return found.value, found.score


def nightly_for(world: World, days: int) -> None:
    """The nightly recomputation, every day for so many days."""
    for day in range(days):
        world.clock.advance(timedelta(days=1))
        world.service.recompute_all(cause=f"nightly:{day}")


def open_ticket_and_fail_a_payment(world: World) -> str:
    """A paying customer whose urgent ticket is opened and whose next payment fails, neither resolved after."""
    tenant = world.customer()
    world.service.handle(world.event(EventType.PAYMENT_SUCCEEDED, PAID, account_id=CUSTOMER))
    world.usage("u-1", 17, 20)
    world.clock.advance(timedelta(days=1))
    ticket = {"ticket_id": "4711", "priority": "urgent"}
    world.service.handle(
        world.event(EventType.SUPPORT_TICKET_OPENED, ticket, vendor="zendesk", email="kim@kestrel-labs.io")
    )
    world.service.handle(world.event(EventType.PAYMENT_FAILED, PAID, account_id=CUSTOMER))
    return tenant


def test_a_ticket_and_a_failed_payment_over_a_year_old_still_count_while_unresolved(world: World) -> None:
    # Given an urgent ticket opened and a payment failed, then 400 days of silence with the nightly running
    tenant = open_ticket_and_fail_a_payment(world)
    nightly_for(world, 400)
    # Then the ticket is still open and urgent, and the failed payment 400 days past due (no longer a recent failure)
    assert line(world, tenant, "open_tickets") == (Decimal(1), 70)
    assert line(world, tenant, "high_severity_tickets") == (Decimal(1), 50)
    assert line(world, tenant, "days_past_due") == (Decimal(400), 0)
    assert line(world, tenant, "failed_payments") == (Decimal(0), 100)
    # And the log read holds one carried copy of them, not the whole of it: the read stays bounded
    read = world.store.signals(tenant, world.clock.now() - timedelta(days=395))
    assert {s.kind for s in read} == {SignalKind.CARRIED}
    assert len(read) <= 3


def test_solving_the_old_ticket_and_paying_clear_them(world: World) -> None:
    # Given the ticket and the failed payment 400 days on
    tenant = open_ticket_and_fail_a_payment(world)
    nightly_for(world, 400)
    # When the ticket is solved and a payment succeeds
    world.service.handle(
        world.event(
            EventType.SUPPORT_TICKET_SOLVED, {"ticket_id": "4711"}, vendor="zendesk", email="kim@kestrel-labs.io"
        )
    )
    world.service.handle(world.event(EventType.PAYMENT_SUCCEEDED, PAID, account_id=CUSTOMER))
    # Then nothing is open nor past due, and the ticket took 400 days (9,600 hours) to solve
    assert line(world, tenant, "open_tickets") == (Decimal(0), 100)
    assert line(world, tenant, "days_past_due") == (Decimal(0), 100)
    assert line(world, tenant, "hours_to_resolve") == (Decimal("9600.00"), 20)


def test_an_account_without_a_carried_copy_yet_is_read_whole_once_then_carried(world: World) -> None:
    # Given the ticket and the failed payment written 400 days ago, before anything carried them (no nightly ran)
    tenant = open_ticket_and_fail_a_payment(world)
    world.clock.advance(timedelta(days=400))
    # When its health is read, then recomputed
    assert line(world, tenant, "open_tickets") == (Decimal(1), 70)
    world.service.recompute(tenant, cause="nightly")
    # Then the recomputation carried them into the window
    read = world.store.signals(tenant, world.clock.now() - timedelta(days=395))
    (carried,) = read
    assert carried.kind is SignalKind.CARRIED
    assert line(world, tenant, "days_past_due") == (Decimal(400), 0)


def test_a_customer_with_too_little_data_is_onboarding_not_green(world: World) -> None:
    # Given a new customer whose only signal is a successful payment (15 of the model's 120)
    tenant = world.customer()
    outcome = world.service.handle(world.event(EventType.PAYMENT_SUCCEEDED, PAID, account_id=CUSTOMER))
    # Then it is onboarding: no score, no band, nothing published, its measures shown with how much has data
    assert outcome.health is not None
    assert (outcome.health.score_hundredths, outcome.health.band) == (None, None)
    assert world.bus.published == []
    answer = HealthResponse.of(world.service.health_of(tenant))
    assert (answer.status, answer.coverage, answer.score, answer.band) == ("onboarding", "0.1250", None, None)
    assert [b.score for b in answer.breakdown if b.measure == "days_past_due"] == [100]


def test_a_new_customers_first_usage_is_its_first_score_not_a_fall(world: World) -> None:
    # Given a new customer's payment (onboarding), then a month later a usage report with few seats in use
    world.customer()
    world.service.handle(world.event(EventType.PAYMENT_SUCCEEDED, PAID, account_id=CUSTOMER))
    world.clock.advance(timedelta(days=31))
    _, outcome = world.usage("u-1", 5, 20, features=2)
    # Then the first score is published as the first, yellow: no churn risk reads it as a 30-day fall from 100
    assert outcome.health is not None
    assert outcome.health.band == "yellow"
    (changed,) = world.published(SuccessEventType.HEALTH_CHANGED)
    assert (changed.previous_score, changed.band) == (None, "yellow")
    assert world.published(SuccessEventType.CHURN_RISK_DETECTED) == []


def test_after_its_onboarding_period_an_account_is_scored_by_whatever_it_has(world: World) -> None:
    # Given a customer whose only signal is a payment, 90 days on (the model's onboarding period)
    tenant = world.customer()
    world.service.handle(world.event(EventType.PAYMENT_SUCCEEDED, PAID, account_id=CUSTOMER))
    world.clock.advance(timedelta(days=90))
    # Then it is scored by it, as a silent account is
    answer = HealthResponse.of(world.service.health_of(tenant))
    assert (answer.status, answer.score, answer.band) == ("scored", 100.0, "green")


def test_a_carried_copy_written_while_an_erasure_deleted_its_original_is_dropped_then_written_without_it(
    world: World,
) -> None:
    # Given the ticket (Kim's event) and the failed payment 400 days old, nothing carried yet
    tenant = open_ticket_and_fail_a_payment(world)
    world.clock.advance(timedelta(days=400))
    (ticket,) = [s for s in world.store.signals(tenant, EPOCH) if s.kind is SignalKind.TICKET_OPENED]
    # When Kim's erasure deletes her ticket between the recomputation's read and its carried signal's write
    append = world.store.append_signal

    def erased_meanwhile(tenant_id: str, signal: Signal) -> bool:
        if signal.kind is SignalKind.CARRIED:
            world.store.drop_signals(tenant, [ticket])
        return append(tenant_id, signal)

    world.store.append_signal = erased_meanwhile  # type: ignore[method-assign]
    world.service.recompute(tenant, cause="nightly")
    # Then the carried signal holding her ticket is dropped again: no copy of it is left
    assert [s for s in world.store.signals(tenant, EPOCH) if s.kind is SignalKind.CARRIED] == []
    # And the next recomputation carries what is left, without her ticket
    world.store.append_signal = append  # type: ignore[method-assign]
    world.clock.advance(timedelta(days=1))
    world.service.recompute(tenant, cause="nightly")
    (carried,) = [s for s in world.store.signals(tenant, EPOCH) if s.kind is SignalKind.CARRIED]
    assert ticket.signal_id not in {c.signal_id for c in copies_in(carried)}
    assert line(world, tenant, "open_tickets") == (None, None)


def test_onboarding_starts_at_the_first_payment_not_at_a_prospects_earlier_engagement(world: World) -> None:
    # Given a prospect whose people attended a webinar and booked a meeting, 100 days before buying
    tenant = world.customer()
    for kind, vendor in (("webinar_attended", "hubspot"), ("meeting_booked", "calendly")):
        world.service.handle(
            world.event(EventType.ENGAGEMENT_RECORDED, {"kind": kind}, vendor=vendor, email="kim@kestrel-labs.io")
        )
    assert [s.kind for s in world.service.log(tenant)] == [SignalKind.TOUCH]  # the webinar's parked aside
    world.clock.advance(timedelta(days=100))
    # When its first payment comes
    world.service.handle(world.event(EventType.PAYMENT_SUCCEEDED, PAID, account_id=CUSTOMER))
    # Then it is a new customer, onboarding: no score, no band, nothing published
    answer = HealthResponse.of(world.service.health_of(tenant))
    assert (answer.status, answer.score, answer.band) == ("onboarding", None, None)
    assert world.published(SuccessEventType.HEALTH_CHANGED) == []
