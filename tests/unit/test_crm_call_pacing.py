"""The CRM writer's pacing (`shared.crm.pacing`): a change on its own is written at once; under a stream of
changes, batches too small to fill a call are held back to one shared moment and come back together; a notice
waits once at most."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from shared.crm.pacing import MAX_HOLD, CallPacer
from shared.crm.ports import ChangeNotice
from tests.crm_fakes import FakeCrm
from tests.unit.test_crm_sync import Hub

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
FULL = 100


def notices(count: int, start: int = 0, **fields: int) -> list[ChangeNotice]:
    return [ChangeNotice("hubspot", f"contact:lead-{n}", 1, **fields) for n in range(start, start + count)]


def test_changes_on_their_own_are_written_at_once() -> None:
    # Given a pacer, and a lead changed every two seconds for a minute (a person editing leads one by one), each
    # change noticed three times (its score, stage and owner events)
    pacer = CallPacer()
    held = [pacer.hold("hubspot", notices(1, n) * 3, 1, FULL, T0 + timedelta(seconds=2 * n)) for n in range(30)]
    # Then none waits
    assert held == [None] * 30


def test_under_a_stream_small_batches_wait_for_one_shared_moment_that_would_fill_a_call() -> None:
    # Given a pacer that takes 20 records changed within 10 s for a stream, and ten changes a second, handed over in
    # batches of ten
    pacer = CallPacer(busy_at=20)
    decisions = [pacer.hold("hubspot", notices(10, 10 * n), 10, FULL, T0 + timedelta(seconds=n)) for n in range(6)]
    # Then the first batch goes at once (no stream yet), the next ones wait
    assert decisions[0] is None
    waits = [T0 + timedelta(seconds=n) + hold for n, hold in enumerate(decisions) if hold is not None]
    # And every held batch comes back at the same moment: when the ninety missing changes would have come in at
    # the rate seen (20 changes in 10 s when the first was held: 2 a second: 45 s, capped at MAX_HOLD)
    assert waits == [T0 + timedelta(seconds=1) + MAX_HOLD] * 5


def test_a_held_notice_is_written_when_it_comes_back_with_what_came_along() -> None:
    # Given a pacer under a stream of 5 changes a second: from the fourth second on (20 changes seen) its batches
    # are held until the moment they could fill a call, capped at MAX_HOLD
    pacer = CallPacer(busy_at=20)
    holds = [
        pacer.hold("hubspot", notices(5, 5 * n), 5, FULL, T0 + timedelta(seconds=n))
        for n in range(3 + int(MAX_HOLD.total_seconds()))
    ]
    assert holds[:3] == [None] * 3
    back = T0 + timedelta(seconds=3) + MAX_HOLD
    assert {T0 + timedelta(seconds=n) + hold for n, hold in enumerate(holds) if hold is not None} == {back}
    # When the held notices come back at that moment, with the fresh ones of that second
    returning = [replace(n, held=1) for n in notices(95)] + notices(5, 95)
    # Then all are written
    assert pacer.hold("hubspot", returning, 100, FULL, back) is None
    # And the stream's next small batch waits for a moment of its own, later
    later = pacer.hold("hubspot", notices(5, 100), 5, FULL, back + timedelta(seconds=1))
    assert later is not None
    assert later > timedelta(seconds=1)


def test_a_full_batch_a_notice_back_from_a_rate_limit_and_another_crm_are_written_at_once() -> None:
    # Given a stream to HubSpot that holds small batches
    pacer = CallPacer()
    for n in range(3):
        pacer.hold("hubspot", notices(10, 10 * n), 10, FULL, T0 + timedelta(seconds=n))
    now = T0 + timedelta(seconds=3)
    assert pacer.hold("hubspot", notices(10), 10, FULL, now) is not None
    # Then a batch that fills a call is not held
    assert pacer.hold("hubspot", notices(FULL), FULL, FULL, now) is None
    # Nor one holding a notice that waited out a rate limit already
    assert pacer.hold("hubspot", notices(1, throttled=1), 1, FULL, now) is None
    # Nor a small batch to Salesforce, which has no stream of its own
    salesforce = [ChangeNotice("salesforce", "contact:lead-1", 1)]
    assert pacer.hold("salesforce", salesforce, 1, 200, now) is None


def test_once_the_stream_stops_a_change_on_its_own_goes_at_once_again() -> None:
    pacer = CallPacer()
    for n in range(5):
        pacer.hold("hubspot", notices(10, 10 * n), 10, FULL, T0 + timedelta(seconds=n))
    # When nothing came for longer than the window
    quiet = T0 + timedelta(seconds=16)
    # Then one change is written at once
    assert pacer.hold("hubspot", notices(1), 1, FULL, quiet) is None


def test_the_sync_service_holds_a_small_batch_under_load_and_writes_it_when_it_comes_back() -> None:
    # Given the sync service with a pacer that saw a stream of 30 changes to HubSpot in the last seconds
    pacer = CallPacer()
    hub = Hub(pacer)
    for n in range(3):
        pacer.hold("hubspot", notices(10, 100 + 10 * n), 10, FULL, hub.clock.now() - timedelta(seconds=3 - n))
    hubspot: FakeCrm = hub.crms["hubspot"]
    calls_before = hubspot.calls
    # When one more lead changes while the stream goes on
    hub.hub_sets("lead-20", T0, email="lead20@example.com")
    report = hub.service.write(hub.queue.take(), hub.crms)
    # Then HubSpot's notice is held (one per record, marked held), HubSpot was not called, Salesforce was
    assert [(n.crm, n.record_key, n.held) for n in report.held] == [("hubspot", "contact:lead-20", 1)]
    assert list(report.hold_seconds) == ["hubspot"]
    assert report.hold_seconds["hubspot"] >= 1
    assert hubspot.calls == calls_before
    assert report.written == {"salesforce": 1}
    # When it comes back after the hold
    hub.clock.advance(timedelta(seconds=report.hold_seconds["hubspot"]))
    again = hub.service.write(report.held, hub.crms)
    # Then it is written
    assert again.held == []
    assert again.written == {"hubspot": 1}
    assert hub.in_crm("hubspot", "lead-20")["email"] == "lead20@example.com"


def test_a_notice_keeps_how_often_it_waited_on_the_queue() -> None:
    from shared.adapters.sqs_change_queue import notice_body, notice_of

    # Given notices fresh, held once, and back from a rate limit
    for notice in (
        ChangeNotice("hubspot", "contact:lead-1", 3),
        ChangeNotice("hubspot", "contact:lead-1", 3, held=1),
        ChangeNotice("salesforce", "account:acc-1", 7, throttled=2, held=1),
    ):
        # Then each reads back as it was sent
        assert notice_of(notice_body(notice)) == notice
    # And a body whose count is not an integer is refused, naming the fields
    with pytest.raises(ValueError, match="throttled and held"):
        notice_of('{"crm": "hubspot", "record": "contact:lead-1", "version": 1, "held": "once"}')
