"""One payment counted once: Stripe tells one payment (or one failure) on several objects, each its own event;
the annual revenue, the segment, the failed payments and the days past due count the payment once, keyed by its
invoice (else its object), and a failure stays outstanding until that invoice is paid."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared.events.canonical import EventType
from shared.success.carry import carry_policy
from shared.success.engine import evaluate
from shared.success.payments import failed_since, once, outstanding
from shared.success.signals import Signal, SignalKind
from tests.unit.test_health_service import CUSTOMER, START, World


def _line(world: World, tenant: str, measure: str) -> Any:
    return next(line for line in world.service.health_of(tenant).health.lines if line.measure == measure)


def _stripe(world: World, kind: EventType, obj: str, object_id: str, invoice: str | None, amount: int) -> None:
    data = {"object": obj, "object_id": object_id, "invoice_id": invoice, "amount_minor": amount, "currency": "usd"}
    world.service.handle(world.event(kind, data, account_id=CUSTOMER))


def test_one_invoice_paid_on_three_stripe_objects_is_counted_once_in_arr_and_segment() -> None:
    # Given a customer whose $40,000 invoice Stripe tells as paid on the invoice (twice), its payment intent and
    # its charge
    world = World(company_currency="USD")
    tenant = world.customer()
    for obj, object_id in (("invoice", "in_1"), ("invoice", "in_1"), ("payment_intent", "pi_1"), ("charge", "ch_1")):
        _stripe(world, EventType.PAYMENT_SUCCEEDED, obj, object_id, "in_1", 4_000_000)
    # When its annual revenue and its segment are read
    arr = world.product.arr(tenant)
    segment = world.service.segment_of(world.service.log(tenant), world.clock.now())
    # Then the invoice counts once: $40,000 (mid_market from $20,000; enterprise from $100,000)
    assert (arr.minor, arr.foreign_payments) == (4_000_000, 0)
    assert segment == "mid_market"


def test_two_invoices_are_two_payments() -> None:
    # Given two monthly invoices, each told on its invoice and its charge
    world = World(company_currency="USD")
    tenant = world.customer()
    for invoice in ("in_1", "in_2"):
        _stripe(world, EventType.PAYMENT_SUCCEEDED, "invoice", invoice, invoice, 4900)
        _stripe(world, EventType.PAYMENT_SUCCEEDED, "charge", f"ch_{invoice}", invoice, 4900)
        world.clock.advance(timedelta(days=30))
    # When its annual revenue is read
    # Then both count, once each
    assert world.product.arr(tenant).minor == 9800


def test_one_failed_attempt_told_on_two_objects_is_one_failed_payment() -> None:
    # Given a paying customer whose next invoice fails once, told on the invoice and on its charge
    world = World()
    tenant = world.customer()
    _stripe(world, EventType.PAYMENT_SUCCEEDED, "invoice", "in_0", "in_0", 4900)
    world.clock.advance(timedelta(days=1))
    _stripe(world, EventType.PAYMENT_FAILED, "invoice", "in_1", "in_1", 4900)
    _stripe(world, EventType.PAYMENT_FAILED, "charge", "ch_1", "in_1", 4900)
    # When its health is read
    line = _line(world, tenant, "failed_payments")
    # Then one payment failed (50 points), not two (0)
    assert (line.value, line.score) == (1, 50)


def test_a_failure_stays_past_due_when_another_invoice_is_paid() -> None:
    # Given invoice in_1 failing, and ten days later another invoice (in_2) paid while in_1 is not
    world = World()
    tenant = world.customer()
    _stripe(world, EventType.PAYMENT_FAILED, "invoice", "in_1", "in_1", 4900)
    world.clock.advance(timedelta(days=10))
    _stripe(world, EventType.PAYMENT_SUCCEEDED, "charge", "ch_2", "in_2", 900)
    world.clock.advance(timedelta(days=5))
    # When its health is read
    # Then in_1 is 15 days past due
    assert _line(world, tenant, "days_past_due").value == 15
    # And once in_1 is paid (on its charge) nothing is past due
    _stripe(world, EventType.PAYMENT_SUCCEEDED, "charge", "ch_1", "in_1", 4900)
    assert _line(world, tenant, "days_past_due").value == 0


def test_the_count_is_the_same_whatever_order_the_objects_arrive_in() -> None:
    # Given the same payment's signals in two orders, and a payment naming no id at all
    at = START
    one = [
        Signal("evt-b", SignalKind.PAYMENT_SUCCEEDED, at, {"invoice_id": "in_1", "amount_minor": 100}),
        Signal("evt-a", SignalKind.PAYMENT_SUCCEEDED, at, {"invoice_id": "in_1", "amount_minor": 100}),
        Signal("evt-c", SignalKind.PAYMENT_SUCCEEDED, at, {"invoice_id": None, "amount_minor": 7}),
        Signal("evt-d", SignalKind.PAYMENT_SUCCEEDED, at, {"invoice_id": None, "amount_minor": 7}),
    ]
    # When they are counted once per payment
    # Then the first (time, then id) of each invoice stands for it, and each payment without an id is its own
    assert [s.signal_id for s in once(one, SignalKind.PAYMENT_SUCCEEDED)] == ["evt-a", "evt-c", "evt-d"]
    assert once(list(reversed(one)), SignalKind.PAYMENT_SUCCEEDED) == once(one, SignalKind.PAYMENT_SUCCEEDED)
    failed = [
        Signal(f"f{i}", SignalKind.PAYMENT_FAILED, at + timedelta(seconds=i), {"invoice_id": "in_9"}) for i in (1, 2)
    ]
    assert failed_since(failed, at) == 1
    # And a success naming no payment settles every failure before it, as it always did
    blunt = Signal("s", SignalKind.PAYMENT_SUCCEEDED, at + timedelta(seconds=3), {"invoice_id": None})
    assert outstanding([*failed, blunt]) == {}
    assert list(outstanding(failed).values()) == failed[:1]


def test_an_old_unpaid_invoice_is_carried_past_the_read_window_while_others_are_paid() -> None:
    # Given invoice in_1 failing, then a monthly invoice paid every month for longer than the read window
    world = World()
    tenant = world.customer()
    _stripe(world, EventType.PAYMENT_FAILED, "invoice", "in_1", "in_1", 4900)
    days = carry_policy(world.service.model).look_back_days + 40
    for month in range(days // 30 + 1):
        world.clock.advance(timedelta(days=30))
        _stripe(world, EventType.PAYMENT_SUCCEEDED, "invoice", f"in_m{month}", f"in_m{month}", 4900)
        world.service.recompute_all("nightly")
    # When its health is read from the bounded log
    bounded = _line(world, tenant, "days_past_due").value
    # Then in_1 is still past due, by every day since it failed, as the whole log says
    whole = evaluate(world.service.model, world.store.signals(tenant, START - timedelta(days=1)), world.clock.now())
    expected = (world.clock.now() - START).days
    assert bounded == next(line.value for line in whole.lines if line.measure == "days_past_due") == expected


def test_a_one_off_payment_told_on_its_charge_and_its_payment_intent_is_one_payment() -> None:
    # Given a one-off payment (no invoice) Stripe tells on its payment intent and on its charge
    world = World(company_currency="USD")
    tenant = world.customer()
    for obj, object_id in (("payment_intent", "pi_9"), ("charge", "ch_9")):
        data = {"object": obj, "object_id": object_id, "invoice_id": None, "payment_intent_id": "pi_9"}
        world.service.handle(
            world.event(
                EventType.PAYMENT_SUCCEEDED, data | {"amount_minor": 250_000, "currency": "usd"}, account_id=CUSTOMER
            )
        )
    # When its annual revenue is read
    # Then the payment counts once, by the payment intent both name
    assert world.product.arr(tenant).minor == 250_000
