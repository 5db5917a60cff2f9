"""Nothing is told, and no playbook opened, from a health that was not saved: the recomputation saves its snapshot
on its version's condition with what it has to tell in the snapshot's outbox, then opens the churn playbooks and
publishes, then empties the outbox. One that loses the save to a fresher writer tells nothing; a publish that
fails after the save is delivered, with the same event ids, by the next recomputation before anything else."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from shared.events.canonical import EventType
from shared.events.success_events import SuccessEventType
from shared.success.service import UsageReport
from shared.success.signals import Signal, SignalKind
from tests.unit.test_health_service import CUSTOMER, World


def _paying_customer_using_its_seats(world: World) -> str:
    tenant = world.customer()
    world.service.handle(
        world.event(EventType.PAYMENT_SUCCEEDED, {"amount_minor": 4900, "currency": "usd"}, account_id=CUSTOMER)
    )
    world.usage("u-1", 17, 20)
    return tenant


def _racing(world: World, monkeypatch: pytest.MonkeyPatch, writer: Callable[[], Any], after_read: bool) -> None:
    """The store with another writer taking its turn once: right after the next read of a log (`after_read`),
    else right before the next save of a snapshot. It records and recomputes, and saves first."""
    turns = [writer]
    name = "signals" if after_read else "save_health"
    original = getattr(world.store, name)

    def racing(*args: Any) -> Any:
        if not after_read and turns:
            turns.pop()()
        answer = original(*args)
        if after_read and turns:
            turns.pop()()
        return answer

    monkeypatch.setattr(world.store, name, racing)


def test_a_nightly_that_loses_the_save_to_a_fresher_report_leaves_the_fresher_health_as_the_last_told(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a customer silent for 100 days (the nightly will find it fallen), and a usage report coming in while
    # the nightly recomputes it
    world = World()
    tenant = _paying_customer_using_its_seats(world)
    world.clock.advance(timedelta(days=100))
    metrics = {"active_users": 17, "licensed_seats": 20, "features": {f"f{i}": 2 for i in range(6)}}
    report = UsageReport("kestrel-labs.io", "u-2", world.clock.now(), metrics)
    # When the report is recorded (and its health saved) between the nightly's read of the log and its save
    _racing(world, monkeypatch, lambda: world.service.report_usage(report), after_read=True)
    world.service.recompute_all("nightly")
    # Then the health stored is the log's, with the report, and it is the last told; the nightly told nothing
    # from the stale log it read
    stored = world.store.health(tenant)
    now = world.service.health_of(tenant).health
    assert stored is not None
    assert not stored.pending
    assert (stored.score_hundredths, stored.band) == (now.score_hundredths, now.band)
    changes = world.published(SuccessEventType.HEALTH_CHANGED)
    assert (changes[-1].score, changes[-1].band) == (points(stored.score_hundredths), stored.band)
    assert all(change.cause != "nightly" for change in changes)


def points(hundredths: int | None) -> float | None:
    return None if hundredths is None else hundredths / 100


def test_a_recomputation_that_loses_the_save_opens_no_playbook_and_tells_no_churn_risk(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a green customer whose log now holds a detractor's answer and a failed payment (red: a churn risk),
    # not recomputed yet
    world = World()
    tenant = _paying_customer_using_its_seats(world)
    world.clock.advance(timedelta(days=1))
    now = world.clock.now()
    world.store.append_signal(tenant, Signal("nps-1", SignalKind.NPS, now, {"nps": 3}))
    failed = {"invoice_id": "in_2", "amount_minor": 4900, "currency": "USD"}
    world.store.append_signal(tenant, Signal("failed-1", SignalKind.PAYMENT_FAILED, now, failed))
    # When the nightly recomputes it while the recorder recomputes it too and saves first
    _racing(world, monkeypatch, lambda: world.service.recompute(tenant, cause="recorder"), after_read=False)
    world.service.recompute(tenant, cause="nightly")
    # Then the churn risk is told once, by the writer that saved it, and its playbook opened once, for that cause
    risks = world.published(SuccessEventType.CHURN_RISK_DETECTED)
    assert [(r.cause, r.band) for r in risks] == [("recorder", "red")]
    started = world.published(SuccessEventType.INTERVENTION_STARTED)
    opened = world.service.open_interventions(tenant)
    assert len(opened) == 1
    assert [s.intervention_id for s in started] == [opened[0].intervention_id]
    assert all(e.cause != "nightly" for e in world.bus.published)  # the losing nightly told nothing
    stored = world.store.health(tenant)
    assert stored is not None
    assert (stored.band, stored.at_risk, stored.pending) == ("red", True, False)


def test_a_publish_that_fails_after_the_save_is_told_by_the_next_recomputation_with_the_same_ids() -> None:
    # Given a customer whose payment fails while the bus refuses what is published
    world = World()
    tenant = _paying_customer_using_its_seats(world)
    world.clock.advance(timedelta(days=1))
    told_before = len(world.bus.published)
    world.bus.refuse_next = 10
    failing = world.event(EventType.PAYMENT_FAILED, {"invoice_id": "in_2", "amount_minor": 4900}, account_id=CUSTOMER)
    with pytest.raises(RuntimeError, match="the bus refused"):
        world.service.handle(failing)
    # Then the health is saved with its change in its outbox, nothing told
    saved = world.store.health(tenant)
    assert saved is not None
    assert saved.pending
    pending = [(e.event_type, e.event_id) for e in saved.pending_events]
    assert (SuccessEventType.HEALTH_CHANGED, saved.pending_events[0].event_id) in pending
    assert len(world.bus.published) == told_before
    # When the nightly recomputes it (nothing else changed)
    world.bus.refuse_next = 0
    world.service.recompute_all("nightly")
    # Then the change is told first, with the ids it was saved with and the failed payment as its cause, and the
    # outbox is empty
    told = [(e.event_type, e.event_id) for e in world.bus.published[told_before:]]
    assert told[: len(pending)] == pending
    assert world.bus.published[told_before].cause == failing.event_id
    after = world.store.health(tenant)
    assert after is not None
    assert not after.pending
    assert (after.score_hundredths, after.band) == (saved.score_hundredths, saved.band)
