"""The outbox relay's last step (shared/events/relay.py): what the bus takes is done, what it refuses for good is
set aside with why, everything else goes back to the stream."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.events.lead_events import LeadEvent, LeadEventType
from shared.events.relay import StoredEvent, relay
from shared.webhooks.ports import BusEvent, PublishResult
from tests.fakes import RecordingPublisher

AT = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def event(n: int) -> LeadEvent:
    return LeadEvent(
        event_id=f"e-{n}",
        event_type=LeadEventType.SCORE_CHANGED,
        occurred_at=AT,
        lead_id=f"lead-{n}",
        stage="Lead",
        score=10.0,
        fit_score=10.0,
        engagement_score=0.0,
    )


class SortingBus:
    """Takes some events, refuses others for a while or for good, as EventBridge's failed entries do."""

    def __init__(self, passing: set[str], permanent: set[str]) -> None:
        self.published: list[str] = []
        self._passing, self._permanent = passing, permanent

    def publish(self, events: list[BusEvent]) -> PublishResult:
        failed = {}
        for e in events:
            if e.event_id in self._permanent:
                failed[e.event_id] = "MalformedDetail: no"
            elif e.event_id not in self._passing:
                failed[e.event_id] = "ThrottlingException: later"
            else:
                self.published.append(e.event_id)
        return PublishResult(failed=failed, permanent=frozenset(self._permanent))


def test_taken_events_are_done_refused_for_good_set_aside_and_the_rest_retried() -> None:
    # Given three stored events: one the bus takes, one it refuses for a while, one it can never take
    stored = [StoredEvent("100", event(1)), StoredEvent("200", event(2)), StoredEvent("300", event(3))]
    bus = SortingBus(passing={"e-1"}, permanent={"e-3"})
    aside: list[tuple[str, str]] = []
    # When they are relayed
    report = relay(stored, bus, lambda position, reason: aside.append((position, reason)))
    # Then one is published, the refused-for-good one is set aside with why, and the other is retried
    assert bus.published == ["e-1"]
    assert (report.published, report.dead_lettered, report.retry) == (1, 1, ["200"])
    assert aside == [("300", "the event bus refused it for good: MalformedDetail: no")]


def test_a_bus_that_cannot_be_reached_retries_everything() -> None:
    # Given a bus that raises (an outage, a missing permission)
    bus = RecordingPublisher()
    bus.raise_next = ConnectionError("no route")
    aside: list[tuple[str, str]] = []
    # When two events are relayed
    report = relay([StoredEvent("1", event(1)), StoredEvent("2", event(2))], bus, lambda p, r: aside.append((p, r)))
    # Then both go back to the stream; nothing is set aside
    assert (report.published, report.retry, aside) == (0, ["1", "2"], [])


def test_two_records_of_one_event_id_publish_it_once() -> None:
    # Given the same event stored twice (a rewritten outbox item read again)
    bus = RecordingPublisher()
    # When both records are relayed
    report = relay([StoredEvent("1", event(1)), StoredEvent("2", event(1))], bus, lambda p, r: None)
    # Then the bus got it once, and neither record is retried
    assert [e.event_id for e in bus.published] == ["e-1"]
    assert (report.published, report.retry) == (1, [])
